"""Case reads: who opened which case page in the web front end, when (issue 12)

Every read of a case by a signed-in user is recorded (user, party, role, page, time). Kept apart
from the hash-chained audit history, whose entries are the steps of a case. A new, empty table:
existing rows are not touched.

Revision ID: 0008_case_reads
Revises: 0007_users
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_case_reads"
down_revision: str | None = "0007_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=20), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("party", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("page", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_reads_case", "case_reads", ["case_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_case_reads_case", table_name="case_reads")
    op.drop_table("case_reads")
