"""Step requests: what ``gpv fire`` asked for, kept in gpv's store (issue 13)

``gpv fire`` through the Prefect server stores the request (case, trigger, the free-text
parameters, the effective time, who asked) here and hands Prefect only its id; the flow records
the outcome and, for a refused or invalid request, the rules' full message. A new, empty table:
existing rows are not touched.

Revision ID: 0005_step_requests
Revises: 0004_forwarding_chain
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_step_requests"
down_revision: str | None = "0004_forwarding_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("norm", sa.String(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_step_requests_case", "step_requests", ["case_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_step_requests_case", table_name="step_requests")
    op.drop_table("step_requests")
