"""The per-party consent register (issue 10, legal-review M2-M4; § 117 Abs. 3-6, § 22 Abs. 4-5
SGB IX)

``consented`` lists the parties the person (a minor's custodians) agreed to involve; only they hear
of the case beyond the carriers and a requested statement. ``statement_by`` lists the parties that
delivered a statement in the case (the conference invites them as its authors). Each change of a
consent is also a row of ``consents`` (scope ``involvement:<party>``) and an audit entry.

Existing cases start with no consent recorded: routing used to involve the youth office, the SPDI
and the Jobcenter without asking, and nobody may be told now before the person agrees. A statement
already delivered names the agreement's SPDI (the only statement author before this revision),
unless the person objected to passing it on (§ 76 Abs. 2 Nr. 1 SGB X).

Revision ID: 0006_consent_register
Revises: 0005_step_requests
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_consent_register"
down_revision: str | None = "0005_step_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _statement_author() -> str | None:
    """The agreement's SPDI (kind ``health_service``): who wrote every statement until now."""
    from states.agreement import load_agreement

    found = [p.id for p in load_agreement().parties.values() if p.kind == "health_service"]
    return found[0] if len(found) == 1 else None


def upgrade() -> None:
    empty = sa.text("'[]'")
    op.add_column("cases", sa.Column("consented", sa.JSON(), nullable=False, server_default=empty))
    op.add_column(
        "cases", sa.Column("statement_by", sa.JSON(), nullable=False, server_default=empty)
    )
    author = _statement_author()
    if author is None:
        return
    cases = sa.table("cases", sa.column("id"), sa.column("statement_by", sa.JSON()))
    instances = sa.table(
        "process_instances", sa.column("case_id"), sa.column("process"), sa.column("state")
    )
    delivered = sa.select(instances.c.case_id).where(
        instances.c.process == "statement", instances.c.state == "delivered"
    )
    op.execute(
        cases.update()
        .where(cases.c.id.in_(delivered), sa.not_(sa.column("data_transfer_objection")))
        .values(statement_by=[author])
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("statement_by")
        batch_op.drop_column("consented")
