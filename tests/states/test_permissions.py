"""Who may fire which step (legal-review M9): the pure rule of states.permissions over the packaged
agreement and the triggers' declared actors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from states.agreement import (
    CARRIER,
    DEFAULT_PERMISSIONS,
    PARTY_KINDS,
    STATEMENT_EXPERT,
    load_agreement,
    parse_agreement,
)
from states.decision import CaseFacts, CaseSnapshot, Process, ProcessInstance
from states.errors import ConfigError, InputError, RefusedError
from states.permissions import (
    CASE_MANAGER,
    EMBEDDED_PARTY,
    MEMBER,
    SUPERVISOR,
    User,
    check_may_fire,
    check_may_record,
    parse_role,
)
from states.triggers import TRIGGER_SPECS

AGREEMENT = load_agreement()
FM = User("fm.mueller", "lwl", CASE_MANAGER, True)
FM_KREIS = User("fm.kreis", "kreis-unna", CASE_MANAGER, True)
SPDI = User("dr.spdi", "spdi", MEMBER, True)
KJP = User("dr.kjp", "kjp-sachverstaendige", MEMBER, True)
JOBCENTER = User("jc", "jobcenter-kreis-unna", MEMBER, True)
HOUSING = User("wohnen", "kreis-unna-wohnen", MEMBER, True)
LWL_MEMBER = User("sachbearbeitung", "lwl", MEMBER, True)
BOSS = User("leitung", "lwl-leitung", SUPERVISOR, True)
EMBEDDED = User("fm", EMBEDDED_PARTY, CASE_MANAGER, True)


def _case(
    carrier: str = "lwl", statement_expert: str | None = None, housing: bool = False
) -> CaseSnapshot:
    processes: dict[Process, ProcessInstance] = {
        Process.CASE: ProcessInstance(Process.CASE, "assessment")
    }
    if statement_expert is not None:
        processes[Process.STATEMENT] = ProcessInstance(
            Process.STATEMENT, "requested", {"expert": statement_expert}
        )
    if housing:
        processes[Process.HOUSING] = ProcessInstance(Process.HOUSING, "requested")
    facts = CaseFacts("C-2026-000001", date(2026, 3, 2), carrier, "unna")
    return CaseSnapshot(facts, processes)


def _allowed(user: User, trigger: str, case: CaseSnapshot) -> bool:
    try:
        check_may_fire(user, trigger, case, AGREEMENT)
    except RefusedError:
        return False
    return True


@pytest.mark.parametrize(
    ("user", "trigger", "case", "allowed"),
    [
        # S7 of the legal review, with the corrected outcome
        (SPDI, "accept_jurisdiction", _case(), False),
        (JOBCENTER, "determine_benefits", _case(), False),
        (SPDI, "issue_decision", _case(), False),
        (FM, "accept_jurisdiction", _case(), True),
        (FM, "issue_decision", _case(), True),
        # only the case manager of the carrier that leads the case
        (FM_KREIS, "issue_decision", _case(), False),
        (FM_KREIS, "issue_decision", _case("kreis-unna"), True),
        (LWL_MEMBER, "issue_decision", _case(), False),
        # the expert asked gives the statement, on this case only
        (SPDI, "accept_statement_request", _case(statement_expert="spdi"), True),
        (SPDI, "deliver_statement", _case(statement_expert="spdi"), True),
        (SPDI, "decline_statement_request", _case(statement_expert="spdi"), True),
        (SPDI, "deliver_statement", _case(), False),
        (SPDI, "deliver_statement", _case("jugendamt-kamen", "kjp-sachverstaendige"), False),
        (KJP, "deliver_statement", _case("jugendamt-kamen", "kjp-sachverstaendige"), True),
        (FM, "deliver_statement", _case(statement_expert="spdi"), False),
        # the carrier requests and withdraws it
        (SPDI, "request_statement", _case(), False),
        (SPDI, "cancel_statement", _case(statement_expert="spdi"), False),
        # the housing contact acknowledges where it was asked
        (HOUSING, "acknowledge_housing_support", _case(housing=True), True),
        (HOUSING, "provide_housing_support", _case(housing=True), True),
        (HOUSING, "acknowledge_housing_support", _case(), False),
        (SPDI, "acknowledge_housing_support", _case(housing=True), False),
        (HOUSING, "close_housing_support", _case(housing=True), False),
        # supervisors read
        (BOSS, "issue_decision", _case(), False),
        (BOSS, "deliver_statement", _case(statement_expert="spdi"), False),
    ],
)
def test_who_may_fire_which_step_follows_the_actor_and_the_party(user, trigger, case, allowed):
    assert _allowed(user, trigger, case) is allowed


def test_a_refusal_of_a_carrier_step_cites_section_120_and_section_35_and_names_the_fix():
    with pytest.raises(RefusedError) as refused:
        check_may_fire(SPDI, "accept_jurisdiction", _case(), AGREEMENT)
    assert refused.value.exit_code == 3
    assert refused.value.norm == "§ 120 Abs. 2 SGB IX; § 35 Abs. 1 S. 2 SGB I"
    message = refused.value.message
    assert "dr.spdi (Mitglied, spdi)" in message and "Zuständigkeit annehmen" in message
    assert "--by" in message and "lwl" not in message.replace("lwl-", "")


def test_a_refusal_of_another_partys_step_cites_section_35_only():
    with pytest.raises(RefusedError) as refused:
        check_may_fire(FM, "deliver_statement", _case(statement_expert="spdi"), AGREEMENT)
    assert refused.value.norm == "§ 35 Abs. 1 S. 2 SGB I"
    assert "um die Stellungnahme gebeten" in refused.value.message


def test_a_disabled_user_may_fire_nothing_not_even_their_own_step():
    disabled = User("fm.alt", "lwl", CASE_MANAGER, False)
    with pytest.raises(RefusedError, match="deaktiviert"):
        check_may_fire(disabled, "accept_jurisdiction", _case(), AGREEMENT)


def test_the_embedded_user_records_every_step_of_every_case():
    case = _case("jugendamt-kamen", "kjp-sachverstaendige", housing=True)
    for trigger in TRIGGER_SPECS:
        check_may_fire(EMBEDDED, trigger, case, AGREEMENT)


def test_changes_of_case_data_are_recorded_by_the_carriers_case_manager_only():
    facts = _case().facts
    check_may_record(FM, "record_consent", facts, AGREEMENT)
    for user in (SPDI, JOBCENTER, BOSS, FM_KREIS):
        with pytest.raises(RefusedError, match="Zustimmung erfassen"):
            check_may_record(user, "record_consent", facts, AGREEMENT)


def test_every_actor_a_trigger_declares_can_be_taken_by_some_role_of_the_packaged_agreement():
    actors = {a for allowed in AGREEMENT.permissions.values() for a in allowed}
    assert {spec.actor for spec in TRIGGER_SPECS.values()} <= actors


def test_an_unknown_trigger_is_bad_input():
    with pytest.raises(InputError):
        check_may_fire(FM, "approve_everything", _case(), AGREEMENT)


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("case-manager", CASE_MANAGER),
        ("Fallmanagement", CASE_MANAGER),
        ("mitglied", MEMBER),
        ("member", MEMBER),
        ("Aufsicht", SUPERVISOR),
        ("supervisor", SUPERVISOR),
    ],
)
def test_roles_are_accepted_in_english_and_german(word, role):
    assert parse_role(word) == role


def test_an_unknown_role_names_the_choices():
    with pytest.raises(InputError, match=r"case-manager.*member.*supervisor"):
        parse_role("admin")


def _raw_with(permissions: object | None) -> dict:
    import tomllib

    raw = tomllib.loads(Path(AGREEMENT.source or "").read_text(encoding="utf-8"))
    raw.pop("permissions", None)
    if permissions is not None:
        raw["permissions"] = permissions
    return raw


def test_an_agreement_without_a_permissions_table_gets_the_default_one():
    agreement = parse_agreement(_raw_with(None), Path("alt.toml"))
    assert dict(agreement.permissions) == dict(DEFAULT_PERMISSIONS)
    assert DEFAULT_PERMISSIONS["case_manager"] == (CARRIER,)
    assert STATEMENT_EXPERT in DEFAULT_PERMISSIONS["member"]


def test_the_permissions_table_is_data_a_role_left_out_fires_nothing():
    agreement = parse_agreement(_raw_with({"case_manager": ["carrier"]}), Path("x.toml"))
    assert agreement.permissions["member"] == ()
    with pytest.raises(RefusedError):
        check_may_fire(SPDI, "deliver_statement", _case(statement_expert="spdi"), agreement)


@pytest.mark.parametrize(
    ("permissions", "key"),
    [
        ({"member": ["spdi-doctor"]}, "permissions.member"),
        ({"admin": ["carrier"]}, "permissions.admin"),
        ({"member": "carrier"}, "permissions.member"),
        (["carrier"], "permissions"),
    ],
)
def test_a_broken_permissions_table_is_a_config_error_naming_the_key(permissions, key):
    with pytest.raises(ConfigError, match=f"x.toml: {key}"):
        parse_agreement(_raw_with(permissions), Path("x.toml"))


def test_a_party_kind_is_an_actor_the_table_may_name():
    raw = _raw_with({"member": [PARTY_KINDS[0], "housing"]})
    agreement = parse_agreement(raw, Path("x.toml"))
    assert agreement.permissions["member"] == (PARTY_KINDS[0], "housing_contact")
