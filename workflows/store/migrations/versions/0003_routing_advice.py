"""Routing as advice beside the receiving carrier (issue 9, legal-review C5, C7)

The case's carrier is the one that received the application (its § 14 Abs. 1 SGB IX clock runs
there); what routing said is kept beside it: ``routed_carrier`` (NULL when undecided),
``routing_basis``, ``routing_reason``, ``routing_flags`` (a JSON list of notes to check) and the
facts routing asked for, ``school_status`` and ``benefit_start``. Existing cases were opened at the
routed carrier, so ``routed_carrier`` is their carrier; their reason was not kept (NULL).

Revision ID: 0003_routing_advice
Revises: 0002_deadline_variant
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_routing_advice"
down_revision: str | None = "0002_deadline_variant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite adds a NOT NULL column with a constant default in
    # place, and a copy of ``cases`` would trip the foreign keys that point at it.
    op.add_column("cases", sa.Column("routed_carrier", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("routing_basis", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("routing_reason", sa.String(), nullable=True))
    op.add_column(
        "cases",
        sa.Column("routing_flags", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("cases", sa.Column("school_status", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("benefit_start", sa.Date(), nullable=True))
    op.execute("UPDATE cases SET routed_carrier = carrier")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in (
            "benefit_start",
            "school_status",
            "routing_flags",
            "routing_reason",
            "routing_basis",
            "routed_carrier",
        ):
            batch_op.drop_column(column)
