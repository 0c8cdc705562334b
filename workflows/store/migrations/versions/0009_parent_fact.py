"""Whether the person is a parent (issue 10, legal-review M11; § 119 Abs. 4 SGB IX)

For the mother or father of a child the Gesamtplankonferenz is held with their consent before the
benefits are determined. ``cases.is_parent`` records it (``gpv case parent ID ja|nein``); existing
cases start with ``false`` (nothing was recorded before).

Revision ID: 0009_parent_fact
Revises: 0008_case_reads
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_parent_fact"
down_revision: str | None = "0008_case_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("is_parent", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("is_parent")
