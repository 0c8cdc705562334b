"""Who can be reached: every party of the agreement, the alert recipients strictest."""

from __future__ import annotations

import pytest

from states.agreement import load_agreement
from states.errors import ConfigError
from tests.workflows.notify_support import smtp_config
from workflows.delivery.config import Config, PartyAddress, TransportKind
from workflows.delivery.reachability import (
    alert_recipients,
    check_reachable,
    reachability,
    startup_check,
)

AGREEMENT = load_agreement()


def _smtp_without(*missing: str) -> Config:
    full = smtp_config()
    parties = {p: a for p, a in full.parties.items() if p not in missing}
    return Config(transport=TransportKind.SMTP, smtp=full.smtp, parties=parties)


def test_the_alert_recipients_are_the_supervisors_of_case_carriers_and_every_supervisor():
    found = alert_recipients(AGREEMENT)
    assert {"lwl-leitung", "kreis-unna-leitung", "jugendamt-kamen"} <= found
    assert "spdi" not in found and "lwl" not in found


def test_on_the_file_transport_every_party_is_reachable_by_its_default_address():
    rows = reachability(Config(), AGREEMENT)
    assert {r.party for r in rows} == set(AGREEMENT.parties)
    assert all(r.is_reachable and r.is_default for r in rows)
    assert startup_check(Config(), AGREEMENT, refuse_alerts=True) is None


def test_with_every_address_configured_smtp_passes_the_check():
    check_reachable(smtp_config(), AGREEMENT)
    assert startup_check(smtp_config(), AGREEMENT, refuse_alerts=True) is None


def test_a_default_address_does_not_count_on_smtp():
    config = Config(transport=TransportKind.SMTP, parties={"lwl": PartyAddress("fm@lwl.example")})
    reach = {r.party: r for r in reachability(config, AGREEMENT)}
    assert reach["lwl"].is_reachable and not reach["lwl"].is_default
    assert not reach["spdi"].is_reachable and reach["spdi"].email is None


def test_a_supervisor_without_an_address_refuses_the_start_naming_the_key_to_set():
    config = _smtp_without("lwl-leitung")
    with pytest.raises(ConfigError) as caught:
        startup_check(config, AGREEMENT, refuse_alerts=True)
    message = caught.value.message
    assert "lwl-leitung" in message and '[parties.lwl-leitung] email = "…"' in message
    assert "erfährt nicht davon" in message and caught.value.exit_code == 2
    warning = startup_check(config, AGREEMENT, refuse_alerts=False)
    assert warning is not None and warning.startswith("Warnung:") and "lwl-leitung" in warning


def test_another_party_without_an_address_is_only_a_warning_at_start():
    config = _smtp_without("spdi", "jobcenter-kreis-unna")
    warning = startup_check(config, AGREEMENT, refuse_alerts=True)
    assert warning is not None and "jobcenter-kreis-unna, spdi" in warning
    assert "der Leitung gemeldet" in warning
    with pytest.raises(ConfigError, match=r"\[parties\.jobcenter-kreis-unna\] email"):
        check_reachable(config, AGREEMENT)
