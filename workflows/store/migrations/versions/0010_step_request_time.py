"""Step requests carry --allow-future and --now (issue 12)

``gpv fire --allow-future`` (a carrier's step dated after now, states.step_time) and ``--now``
(the logical now the step's time is judged against) go through the Prefect server like every
other step: the request in gpv's store keeps them, Prefect sees the request id only. Existing
requests get ``allow_future = false`` and no ``now`` (the clock), as they were run.

Revision ID: 0010_step_request_time
Revises: 0009_parent_fact
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_step_request_time"
down_revision: str | None = "0009_parent_fact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "step_requests",
        sa.Column("allow_future", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("step_requests", sa.Column("now", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_requests", schema=None) as batch_op:
        batch_op.drop_column("now")
        batch_op.drop_column("allow_future")
