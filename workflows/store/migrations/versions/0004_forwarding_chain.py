"""The chain of a forwarded application (issue 9, legal-review C5; § 14 Abs. 2 S. 4 SGB IX)

``forwarded_from`` and ``forwarded_to`` link the case at the carrier that forwarded an application
and the case gpv opens at the carrier it went to, with its own receipt date. Existing forwarded
cases have no linked case (none was opened before): both stay NULL.

Revision ID: 0004_forwarding_chain
Revises: 0003_routing_advice
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_forwarding_chain"
down_revision: str | None = "0003_routing_advice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("forwarded_from", sa.String(length=20), nullable=True))
    op.add_column("cases", sa.Column("forwarded_to", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("forwarded_to")
        batch_op.drop_column("forwarded_from")
