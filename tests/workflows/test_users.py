"""Users, roles and the permission check as the service applies them (issue 12, legal-review M9):
scenario S7 with its corrected outcome, the statement expert on its own case only, disabled users,
hashed passwords, and the embedded default that keeps the command line working without set-up."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from states.errors import InputError, NotFoundError, RefusedError
from tests.workflows.conftest import noon, open_case
from workflows import involvement, service, users
from workflows.store.models import AuditRow
from workflows.users import User

PASSWORD = "korrekt-pferd-batterie-heftklammer"


def _fire(engine, case_id: str, trigger: str, day: str, by: str, **params: str) -> dict[str, Any]:
    return service.fire(engine, case_id, trigger, dict(params), at=noon(day), by=by)


def _add(engine, name: str, party: str, role: str, password: str | None = None) -> User:
    return users.add_user(
        engine, name, party=party, role=role, password=password, at=noon("2026-03-01"), by="admin"
    )


def _staff(engine) -> None:
    _add(engine, "fm.mueller", "lwl", "case-manager", PASSWORD)
    _add(engine, "dr.spdi", "spdi", "mitglied")
    _add(engine, "jc", "jobcenter-kreis-unna", "member")
    _add(engine, "leitung", "lwl-leitung", "aufsicht")


def _entries(engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(AuditRow)).scalar_one())


def _planned_case(engine) -> str:
    """A case of the LWL drawn up to its plan, by the embedded user (no users yet)."""
    case_id = open_case(engine, received_by="lwl", school="none")
    _fire(engine, case_id, "accept_jurisdiction", "2026-03-04", "fm")
    _fire(engine, case_id, "determine_benefits", "2026-03-09", "fm")
    _fire(engine, case_id, "draw_up_plan", "2026-03-10", "fm", review="2027-03-31")
    return case_id


def test_s7_nobody_but_the_carriers_case_manager_decides_and_nothing_is_written(engine):
    case_id = _planned_case(engine)
    _staff(engine)
    before = (service.show_case(engine, case_id), _entries(engine))
    attempts = [
        ("accept_jurisdiction", "dr.spdi", "§ 120 Abs. 2 SGB IX"),
        ("determine_benefits", "jc", "§ 120 Abs. 2 SGB IX"),
        ("issue_decision", "irgendwer", "§ 35 Abs. 1 S. 2 SGB I"),
        ("issue_decision", "leitung", "§ 120 Abs. 2 SGB IX"),
    ]
    for trigger, by, norm in attempts:
        with pytest.raises(RefusedError) as refused:
            _fire(engine, case_id, trigger, "2026-03-11", by, outcome="approval")
        assert refused.value.exit_code == 3 and norm in (refused.value.norm or "")
    assert (service.show_case(engine, case_id), _entries(engine)) == before
    decided = _fire(
        engine, case_id, "issue_decision", "2026-03-11", "fm.mueller",
        outcome="approval", approved_until="2027-04-30",
    )  # fmt: skip
    assert decided["status"] == "decided"


def test_the_spdi_member_delivers_its_statement_where_it_was_asked_and_not_on_another_case(engine):
    asked = open_case(engine, received_by="lwl", school="none")
    other = open_case(engine, received_by="lwl", school="none")
    for case_id in (asked, other):
        _fire(engine, case_id, "accept_jurisdiction", "2026-03-04", "fm")
    _fire(engine, asked, "request_statement", "2026-03-05", "fm")
    _staff(engine)
    with pytest.raises(RefusedError, match="um die Stellungnahme gebeten"):
        _fire(engine, other, "accept_statement_request", "2026-03-06", "dr.spdi")
    _fire(engine, asked, "accept_statement_request", "2026-03-06", "dr.spdi")
    case = _fire(engine, asked, "deliver_statement", "2026-03-09", "dr.spdi")
    assert case["processes"]["statement"] == "delivered"
    assert case["history"][-1]["by"] == "dr.spdi"


def test_the_audit_entry_records_the_user_and_the_party(engine):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    _fire(engine, case_id, "accept_jurisdiction", "2026-03-04", "fm.mueller")
    with Session(engine) as session:
        last = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()  # type: ignore[union-attr]
    assert (last.trigger, last.by, last.params) == (
        "accept_jurisdiction",
        "fm.mueller",
        {"acting_party": "lwl"},
    )
    assert service.audit_verify(engine)["ok"]


def test_a_disabled_user_is_refused_and_disabling_is_audited_once(engine):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    users.disable_user(engine, "fm.mueller", at=noon("2026-03-03"), by="admin")
    entries = _entries(engine)
    again = users.disable_user(engine, "fm.mueller", at=noon("2026-03-03"), by="admin")
    assert again.enabled is False and _entries(engine) == entries
    with pytest.raises(RefusedError, match="deaktiviert"):
        _fire(engine, case_id, "accept_jurisdiction", "2026-03-04", "fm.mueller")
    assert users.authenticate(engine, "fm.mueller", PASSWORD) is None


def test_with_users_set_up_a_missing_by_is_refused_there_is_no_system_default(engine):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    for by in ("", "system"):
        with pytest.raises(RefusedError, match=r"§ 35 Abs\. 1 S\. 2 SGB I"):
            users.acting_user(engine, by)
    with pytest.raises(RefusedError):
        _fire(engine, case_id, "accept_jurisdiction", "2026-03-04", "system")


def test_consent_objection_and_contact_are_recorded_by_the_carriers_case_manager(engine):
    case_id = open_case(engine, received_by="lwl", school="none")
    _staff(engine)
    at = noon("2026-03-03")
    with pytest.raises(RefusedError):
        involvement.record_consent(
            engine, case_id, "jobcenter-kreis-unna", "erteilt", at=at, by="jc"
        )
    with pytest.raises(RefusedError):
        involvement.record_objection(engine, case_id, "hinweis", at=at, by="dr.spdi")
    with pytest.raises(RefusedError):
        service.update_contact(engine, case_id, "p@example.org", at=at, by="leitung")
    case = involvement.record_consent(
        engine, case_id, "jobcenter-kreis-unna", "erteilt", at=at, by="fm.mueller"
    )
    assert "jobcenter-kreis-unna" in case["involvement"]["consented"]
    case = service.update_contact(engine, case_id, "p@example.org", at=at, by="fm.mueller")
    assert case["history"][-1]["by"] == "fm.mueller"


def test_without_users_the_command_line_acts_as_case_manager_and_says_so_once(engine, capsys):
    users._TOLD.clear()
    first = users.acting_user(engine, "fm")
    users.acting_user(engine, "fm")
    assert first.is_embedded and first.role == "case_manager" and first.name == "fm"
    err = capsys.readouterr().err
    assert err.count("Keine Benutzer eingerichtet: fm handelt als Fallmanagement") == 1
    assert users.visible_case_ids(engine, first) is None


def test_passwords_are_stored_as_argon2_hashes_never_as_plain_text(engine, tmp_path):
    _add(engine, "fm.mueller", "lwl", "fallmanagement", PASSWORD)
    with Session(engine) as session:
        row = session.get(users.UserRow, "fm.mueller")
        assert row is not None and row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
    engine.dispose()  # checkpoint nothing pending: every byte of the store is in the files
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("gpv.db*"))
    assert PASSWORD.encode() not in stored
    assert users.authenticate(engine, "fm.mueller", PASSWORD) == User(
        "fm.mueller", "lwl", "case_manager", True
    )
    assert users.authenticate(engine, "fm.mueller", PASSWORD + "x") is None
    assert users.authenticate(engine, "niemand", PASSWORD) is None


def test_a_user_without_a_password_cannot_sign_in_with_one(engine):
    _add(engine, "dr.spdi", "spdi", "member")
    assert users.authenticate(engine, "dr.spdi", "") is None
    assert users.authenticate(engine, "dr.spdi", "gpv-dummy-password-never-used") is None


@pytest.mark.parametrize(
    ("name", "party", "role", "password", "message"),
    [
        ("fm mueller", "lwl", "case-manager", None, "Ungültiger Benutzername"),
        ("fm", "nirgendwo", "member", None, "Unbekannte Partei"),
        ("fm", "lwl", "admin", None, "Unbekannte Rolle"),
        ("fm", "spdi", "case-manager", None, "führt kein Gesamtplanverfahren"),
        ("fm", "spdi", "supervisor", None, "beaufsichtigt"),
        ("fm", "lwl", "case-manager", "kurz", "zu kurz"),
    ],
)
def test_bad_user_input_is_refused_with_the_cause_and_nothing_written(
    engine, name, party, role, password, message
):
    with pytest.raises(InputError, match=message):
        _add(engine, name, party, role, password)
    assert users.list_users(engine) == [] and _entries(engine) == 0


def test_a_name_is_taken_for_good_and_an_unknown_name_cannot_be_disabled(engine):
    _add(engine, "fm.mueller", "lwl", "case-manager")
    with pytest.raises(InputError, match="gibt es schon"):
        _add(engine, "fm.mueller", "kreis-unna", "case-manager")
    with pytest.raises(NotFoundError):
        users.disable_user(engine, "niemand", at=noon("2026-03-03"), by="admin")


def test_each_role_sees_the_cases_it_is_authorised_for(engine):
    lwl_case = open_case(engine, received_by="lwl", school="none")
    kreis_case = open_case(engine, received_by="kreis-unna", school="none")
    _fire(engine, lwl_case, "accept_jurisdiction", "2026-03-04", "fm")
    _fire(engine, lwl_case, "request_statement", "2026-03-05", "fm")
    at = noon("2026-03-05")
    involvement.record_consent(
        engine, kreis_case, "jobcenter-kreis-unna", "erteilt", at=at, by="fm"
    )
    _staff(engine)
    seen = {u.name: users.visible_case_ids(engine, u) for u in users.list_users(engine)}
    assert seen["fm.mueller"] == {lwl_case}
    assert seen["dr.spdi"] == {lwl_case}
    assert seen["jc"] == {kreis_case}
    assert seen["leitung"] == {lwl_case}
    disabled = users.disable_user(engine, "jc", at=at, by="admin")
    assert users.visible_case_ids(engine, disabled) == set()


def test_users_are_kept_on_sqlite_and_postgresql(db_url):
    from workflows.store.db import get_engine

    engine = get_engine(db_url)
    _add(engine, "fm.mueller", "lwl", "case-manager", PASSWORD)
    _add(engine, "dr.spdi", "spdi", "member")
    assert [u.name for u in users.list_users(engine)] == ["dr.spdi", "fm.mueller"]
    assert users.authenticate(engine, "fm.mueller", PASSWORD) is not None
    assert users.get_user(engine, "dr.spdi") == User("dr.spdi", "spdi", "member", True)
