"""Users of gpv: who may act (issue 12, legal-review M9; § 35 Abs. 1 S. 2 SGB I)

One row per user: the name, the agreement party the user belongs to, the role (``case_manager``,
``member``, ``supervisor``), an Argon2id password hash (nullable: OpenID Connect or command line
only), whether the user is enabled, and when the user was added. A new, empty table: while it is
empty the command line acts as before (the embedded default, ``workflows.users.acting_user``).

Revision ID: 0007_users
Revises: 0006_consent_register
Create Date: 2026-12-16
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_users"
down_revision: str | None = "0006_consent_register"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("users")
