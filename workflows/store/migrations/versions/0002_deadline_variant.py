"""Deadline variants: which reading of a rule applies and why (issue 9, legal-review C1, C2)

Two columns on ``deadlines``: ``variant`` (``standard`` or a variant name of the rule in the
agreement file, e.g. ``after_statement`` for § 14 Abs. 2 S. 3 SGB IX) and ``variant_reason`` (the
recorded fact that chose it, in German). Existing rows get ``standard``, except decision deadlines
that were re-anchored after a statement (their norm says § 14 Abs. 2 S. 3), which get
``after_statement``. Existing statuses stay as they are: a past "missed" is not rewritten.

Revision ID: 0002_deadline_variant
Revises: 0001_initial
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_deadline_variant"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("variant", sa.String(), nullable=False, server_default="standard")
        )
        batch_op.add_column(
            sa.Column("variant_reason", sa.String(), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE deadlines SET variant = 'after_statement', "
        "variant_reason = 'Gutachten (Stellungnahme) eingegangen' "
        "WHERE rule = 'decision' AND norm = '§ 14 Abs. 2 S. 3 SGB IX'"
    )


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_column("variant_reason")
        batch_op.drop_column("variant")
