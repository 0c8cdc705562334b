"""Who may open and correct a case (issue 12, legal-review M9; § 35 Abs. 1 S. 2 SGB I): once users
are set up, only a case manager of the receiving carrier opens a case and only one of the case's
carrier corrects it; everyone else is refused with the rule (exit 3) and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from states.errors import RefusedError
from tests.workflows.conftest import noon, open_case
from workflows import service, users
from workflows.corrections import correct_case
from workflows.store.models import AuditRow, CaseRow

STAFF = (
    ("fm.mueller", "lwl", "case-manager"),
    ("fm.kreis", "kreis-unna", "case-manager"),
    ("dr.spdi", "spdi", "member"),
    ("leitung", "lwl-leitung", "supervisor"),
)
REFUSED = (
    ("fm.kreis", "§ 120 Abs. 2 SGB IX"),  # a case manager, but of another carrier
    ("dr.spdi", "§ 35 Abs. 1 S. 2 SGB I"),
    ("leitung", "§ 35 Abs. 1 S. 2 SGB I"),
    ("irgendwer", "§ 35 Abs. 1 S. 2 SGB I"),
)


def _staff(engine) -> None:
    for name, party, role in STAFF:
        users.add_user(
            engine, name, party=party, role=role, password=None, at=noon("2026-03-01"), by="admin"
        )


def _counts(engine) -> tuple[int, int]:
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(CaseRow)).scalar_one()
        entries = session.execute(select(func.count()).select_from(AuditRow)).scalar_one()
    return int(count), int(entries)


def _last_entry(engine, case_id: str) -> AuditRow:
    with Session(engine) as session:
        return session.scalars(
            select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.id.desc())
        ).first()


@pytest.mark.parametrize(("by", "norm"), REFUSED)
def test_only_the_receiving_carriers_case_manager_opens_a_case(engine, by, norm):
    _staff(engine)
    before = _counts(engine)
    with pytest.raises(RefusedError) as refused:
        open_case(engine, received_by="lwl", school="none", by=by)
    assert refused.value.exit_code == 3 and norm in (refused.value.norm or "")
    assert "Fall anlegen" in str(refused.value) or "kein Benutzer" in str(refused.value)
    assert _counts(engine) == before


def test_a_refused_opening_takes_no_case_number_and_the_allowed_one_is_audited_with_the_party(
    engine,
):
    _staff(engine)
    with pytest.raises(RefusedError):
        open_case(engine, received_by="lwl", school="none", by="dr.spdi")
    case_id = open_case(engine, received_by="lwl", school="none", by="fm.mueller")
    assert case_id == "C-2026-000001"
    entry = _last_entry(engine, case_id)
    assert (entry.trigger, entry.by) == ("open_case", "fm.mueller")
    assert entry.params["acting_party"] == "lwl"


def test_the_receiving_carrier_decides_even_where_routing_names_another(engine):
    """Routing is advice (C5): the Kreis opens what reached it, the LWL cannot open it there."""
    _staff(engine)
    with pytest.raises(RefusedError):
        open_case(engine, received_by="kreis-unna", school="none", by="fm.mueller")
    case_id = open_case(engine, received_by="kreis-unna", school="none", by="fm.kreis")
    assert service.show_case(engine, case_id)["carrier"] == "kreis-unna"


def test_without_users_the_command_line_still_opens_and_corrects(engine):
    case_id = open_case(engine, received_by="lwl", school="none", by="fm")
    corrected = correct_case(
        engine, case_id, field="received_on", value="2026-02-27", reason="Eingangsstempel",
        at=noon("2026-03-03"), by="fm",
    )  # fmt: skip
    assert corrected["received_on"] == "2026-02-27"
    assert "acting_party" not in _last_entry(engine, case_id).params


@pytest.mark.parametrize(("by", "norm"), REFUSED)
def test_only_a_case_manager_of_the_cases_carrier_corrects_it(engine, by, norm):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    before = (service.show_case(engine, case_id), _counts(engine))
    with pytest.raises(RefusedError) as refused:
        correct_case(
            engine, case_id, field="municipality", value="Kamen", reason="Tippfehler",
            at=noon("2026-03-03"), by=by,
        )  # fmt: skip
    assert refused.value.exit_code == 3 and norm in (refused.value.norm or "")
    assert (service.show_case(engine, case_id), _counts(engine)) == before


def test_the_carriers_case_manager_corrects_and_the_audit_names_her_and_her_party(engine):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    correct_case(
        engine, case_id, field="municipality", value="Kamen", reason="Tippfehler",
        at=noon("2026-03-03"), by="fm.mueller",
    )  # fmt: skip
    entry = _last_entry(engine, case_id)
    assert (entry.trigger, entry.by, entry.params["acting_party"]) == (
        "correct",
        "fm.mueller",
        "lwl",
    )
    assert entry.params["reason"] == "Tippfehler"
