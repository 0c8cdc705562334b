"""Who can be reached: every party of the agreement against the delivery configuration.

Every party of the cooperation agreement can receive a notice: as the case's carrier or the
carrier a case is forwarded to, as the party responsible for a deadline, as a participant of the
Gesamtplankonferenz, as youth office, SPDI or housing contact. Some also receive the alerts: the
supervisor of each party that can carry a case gets ``delivery_failed`` (a notice of its case could
not be delivered), every party of kind ``supervisor`` the engine alert (the deadline sweep
stopped).
An alert that reaches nobody is the one failure nobody hears of, so the start-up checks treat the
alert recipients more strictly than the others (``gpv run`` refuses, ``gpv dispatch`` warns).

A party is reachable when ``gpv.toml`` gives it an address (``[parties.<id>] email``), or on the
file transport: there every message becomes a file under ``<data>/mail``, and a party without an
address gets the default ``<id>@gpv.invalid`` only to name it (``.invalid`` is reserved, RFC 2606,
and never routed). On SMTP a default counts for nothing. Letters (files under
``<data>/letters``) are for the person without an e-mail address only, never for a party.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from states.errors import ConfigError
from workflows.delivery.config import CONFIG_FILE, TRANSPORT_ENV, Config
from workflows.store.rows import CASE_CARRIER_KINDS

SUPERVISOR_KIND = "supervisor"


@dataclass(frozen=True)
class Reach:
    """One party of the agreement and how (or whether) a message reaches it."""

    party: str
    name: str
    receives_alerts: bool
    email: str | None  # None: no address, a message to this party fails
    is_default: bool = False  # the file transport's stand-in address

    @property
    def is_reachable(self) -> bool:
        return self.email is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "name": self.name,
            "receives_alerts": self.receives_alerts,
            "email": self.email,
            "default": self.is_default,
            "reachable": self.is_reachable,
        }


def alert_recipients(agreement: Any) -> set[str]:
    """The parties that receive alerts: the supervisor of every party that can carry a case
    (``delivery_failed``, :mod:`notifications.events`) and every party of kind ``supervisor``
    (the engine alert, :mod:`workflows.orchestration.alerts`)."""
    parties = agreement.parties
    found = {agreement.supervisor_of(p) for p in parties if parties[p].kind in CASE_CARRIER_KINDS}
    return found | {p for p in parties if parties[p].kind == SUPERVISOR_KIND}


def reachability(config: Config, agreement: Any) -> list[Reach]:
    """Every party of the agreement, alert recipients first, each with its address or None."""
    alerted = alert_recipients(agreement)
    out = []
    for pid, party in agreement.parties.items():
        address = config.address_of(pid)
        out.append(
            Reach(
                party=pid,
                name=party.name,
                receives_alerts=pid in alerted,
                email=address.email if address is not None else None,
                is_default=address is not None and address.is_default,
            )
        )
    return sorted(out, key=lambda r: (not r.receives_alerts, r.party))


def unreachable(config: Config, agreement: Any, *, alerts_only: bool = False) -> list[Reach]:
    """The parties a message cannot reach (only the alert recipients with ``alerts_only``)."""
    return [
        r
        for r in reachability(config, agreement)
        if not r.is_reachable and (r.receives_alerts or not alerts_only)
    ]


def _where(config: Config) -> str:
    return str(config.source) if config.source else f"{CONFIG_FILE} im Datenordner"


def _consequence(missing: list[Reach]) -> str:
    if any(r.receives_alerts for r in missing):
        return (
            "Nachrichten an sie scheitern, und die Leitung erfährt nicht davon (sie erhält die "
            "Meldungen über nicht zugestellte Nachrichten und die Alarme der Fristenprüfung)."
        )
    return "Nachrichten an sie scheitern; das wird jeweils der Leitung gemeldet."


def unreachable_message(config: Config, missing: list[Reach]) -> str:
    """One German paragraph: who has no address, what that means and which key to set."""
    parties = ", ".join(r.party for r in missing)
    return (
        f"Ohne E-Mail-Adresse beim Versand per {config.transport.value}: {parties}. "
        f"{_consequence(missing)} Bitte in {_where(config)} je Partei eintragen: "
        f'[parties.<id>] email = "…" (z. B. [parties.{missing[0].party}] email = "…"), oder '
        f"{TRANSPORT_ENV}=file für den Dateiversand; prüfen mit gpv config check."
    )


def check_reachable(config: Config, agreement: Any, *, alerts_only: bool = False) -> None:
    """Nothing when every party (every alert recipient with ``alerts_only``) can be reached;
    else :class:`ConfigError` naming the parties and the key to set. On the file transport every
    party is reachable (:meth:`Config.address_of` gives each a stand-in address)."""
    missing = unreachable(config, agreement, alerts_only=alerts_only)
    if missing:
        raise ConfigError(unreachable_message(config, missing))


def startup_check(config: Config, agreement: Any, *, refuse_alerts: bool) -> str | None:
    """The check at the start of ``gpv run`` (``refuse_alerts``) and ``gpv dispatch``.

    With ``refuse_alerts``, :class:`ConfigError` while an alert recipient cannot be reached: an
    alert that reaches nobody is the failure nobody hears of. Otherwise the warning naming every
    party without an address (their failed notices are reported to the supervisor), or None.
    """
    if refuse_alerts:
        check_reachable(config, agreement, alerts_only=True)
    missing = unreachable(config, agreement)
    return f"Warnung: {unreachable_message(config, missing)}" if missing else None
