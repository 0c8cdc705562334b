"""Alerts that reached nobody, on the dashboard: the table artifact ``undeliverable-alerts``.

When a notice finally fails, the dispatcher queues a ``delivery_failed`` alert to the carrier's
supervisor. When that alert fails too (no address for the supervisor, refused by the server),
nobody learns that a notice, and perhaps a deadline, was lost. The ``dispatch-notifications`` flow
then publishes this table and ends Failed, so Prefect's dashboard shows the run red until
``gpv outbox retry`` (after the address or the server was repaired) delivers the alerts.

The table carries no message content and no personal data: the outbox ids, the events, the
recipient party (an organisation's id), the attempts and the *kind* of the last error
(:func:`failure_kind`), never its text, which may name an address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from notifications.events import EVENT_TITLES

UNDELIVERABLE_KEY = "undeliverable-alerts"
STATE_NAME = "AlertsUndeliverable"
NONE_YET = "Keine unzustellbaren Meldungen an die Leitung"

#: The beginning of a failed row's ``last_error`` (as the dispatcher and the transports word it)
#: → the kind of failure the table shows. First match wins; anything else is "sonstiger Fehler".
FAILURE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"Keine E-Mail-Adresse für die Partei", "keine Adresse in gpv.toml"),
        (r"(InvalidAddressError: )?Die E-Mail-Adresse .* ist nicht verwendbar", "Adresse ungültig"),
        (r"nach \d+ Versuchen", "Versuche erschöpft (Server nicht erreichbar oder 4xx)"),
        (r"Empfänger abgelehnt", "Empfänger vom Mailserver abgelehnt"),
        (r"SMTP 5\d\d", "vom Mailserver abgelehnt (5xx)"),
        (r"SMTP-Server unterstützt das nicht", "vom Mailserver nicht unterstützt"),
        (r"Fall \S+ nicht gefunden", "Fall nicht gefunden"),
        (r"[A-Z][A-Za-z]*(Error|Exception|NotFound|Undefined)\b", "interner Fehler"),
    )
)


def failure_kind(last_error: str | None) -> str:
    """The kind of a failure, from the beginning of its ``last_error`` (:data:`FAILURE_KINDS`);
    never the text itself."""
    text = (last_error or "").strip()
    for pattern, kind in FAILURE_KINDS:
        if pattern.match(text):
            return kind
    return "sonstiger Fehler"


def undeliverable_rows(alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of :func:`workflows.store.outbox.undeliverable_alert_rows` as the table: German
    column names, the error's kind instead of its text."""
    return [
        {
            "Outbox-ID": int(a["id"]),
            "Ereignis": EVENT_TITLES.get(str(a["event"]), str(a["event"])),
            "Empfänger (Partei)": a["recipient_party"],
            "Versuche": int(a["attempts"]),
            "Fehlerart": failure_kind(a.get("last_error")),
            "betrifft Outbox-ID": a.get("about_id"),
            "betrifft Ereignis": a.get("about_event"),
        }
        for a in alerts
    ]


def undeliverable_description(now: datetime, count: int, shown: int) -> str:
    """The artifact's description: how many (and how many of them listed), as of when, and what
    to do."""
    stand = f"Stand {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if not count:
        return f"{NONE_YET}, {stand}."
    listed = f" (die ältesten {shown} gelistet)" if shown < count else ""
    return (
        f"{count} Meldung(en) an die Leitung über nicht zugestellte Nachrichten sind selbst nicht "
        f"zustellbar{listed}, {stand}. Adresse in gpv.toml ([parties.<id>] email) oder "
        "Mailserver prüfen, dann gpv outbox retry."
    )


def failed_message(count: int) -> str:
    """The Failed state's message: what is wrong, what it means, what to do."""
    return (
        f"{count} Meldung(en) an die Leitung über nicht zugestellte Nachrichten sind selbst nicht "
        "zustellbar: niemand weiß, dass eine Nachricht (vielleicht eine Frist) verloren ging. "
        "Tabelle undeliverable-alerts ansehen, die Adresse in gpv.toml ([parties.<id>] email) oder "
        "den Mailserver prüfen (gpv config check), dann gpv outbox retry."
    )


def is_stale(latest: Any) -> bool:
    """Whether the artifact's latest version still lists alerts (so an all-clear version is due
    once they are gone); False when there is none."""
    return latest is not None and not str(latest.description or "").startswith(NONE_YET)


def publish_undeliverable(engine: Any, now: datetime) -> int:
    """Publish the table when alerts are undeliverable, or once an empty all-clear version after
    they were; returns how many are undeliverable. Needs a Prefect API (a task run)."""
    from prefect.artifacts import Artifact, create_table_artifact

    from workflows.store.outbox import undeliverable_alert_rows, undeliverable_alerts

    count = undeliverable_alerts(engine)
    rows = undeliverable_rows(undeliverable_alert_rows(engine)) if count else []
    if count or is_stale(Artifact.get(UNDELIVERABLE_KEY, _sync=True)):  # type: ignore[call-arg]
        create_table_artifact(  # type: ignore[call-arg]
            rows,
            key=UNDELIVERABLE_KEY,
            description=undeliverable_description(now, count, len(rows)),
            _sync=True,
        )
    return count
