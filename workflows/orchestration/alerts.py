"""The engine's own alarm by e-mail: the deadline sweep failed, crashed or turned Late.

While the sweep does not run, no reminder and no escalation goes out, and nobody notices unless
they look at the dashboard. :func:`send_engine_alert` therefore tells every party of kind
``supervisor`` in the cooperation agreement directly, through the configured transport (SMTP, or
the maildir under ``<data>/mail``), with the addresses of ``gpv.toml``.

It is not a case notice: there is no case, so it does not go through the case outbox (whose rows
belong to a case), and it carries no case data at all, only what happened to which run, what that
means and what to do.

Safe to repeat: each message's Message-ID is derived from the alert's identity (the triggering
run's id and the event) and the recipient party, so a retried task sends the *same* message again
(receivers recognise the duplicate; the file transport overwrites its file) instead of a second,
different one. Messages go out one per supervisor, so one refused address does not keep the
others uninformed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifications.message import (
    InvalidAddressError,
    Mailbox,
    build_email,
    message_id_domain,
    one_line,
)
from notifications.rendering import RenderedMessage, de_datetime, render_template
from notifications.transport import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    Transport,
)
from states.errors import GpvError
from workflows.delivery import transports
from workflows.delivery.config import Config, load_config
from workflows.orchestration.deployments import SWEEP_FLOW
from workflows.orchestration.server import dashboard_url

log = logging.getLogger(__name__)

TEMPLATE_ID = "engine_alert"
SUPERVISOR_KIND = "supervisor"
REASON_LIMIT = 300
RUN_PREFIX = "prefect.flow-run."
DEFAULT_RUN_NAME = SWEEP_FLOW

#: The Prefect event → (state name, what it means in German).
EVENT_STATES: Mapping[str, tuple[str, str]] = {
    "prefect.flow-run.Failed": ("Failed", "ist fehlgeschlagen"),
    "prefect.flow-run.Crashed": ("Crashed", "ist abgestürzt"),
    "prefect.flow-run.Late": ("Late", "ist verspätet (nicht rechtzeitig gestartet)"),
}


class AlertNotSentError(GpvError):
    """The alert could not be sent and retrying will not help (no address, refused, no
    supervisor); the message names the parties and the fix."""


def supervisor_parties(agreement: Any) -> list[str]:
    """The party ids of kind ``supervisor`` in the agreement, in the agreement's order."""
    return [pid for pid, party in agreement.parties.items() if party.kind == SUPERVISOR_KIND]


def alert_digest(*, run_id: str, event: str, reason: str, now: datetime) -> str:
    """The alert's identity as a short hex digest: the triggering run and the event.

    Without a run id (an alert run started by hand) the reason and the time stand in, so two
    unrelated manual alerts never share a Message-ID.
    """
    parts = [run_id.strip(), event.strip()]
    if not parts[0]:
        parts += [reason, now.isoformat()]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


def alert_message_id(digest: str, party: str, domain: str) -> str:
    """``<engine-alert-{hash}@gpv.{domain}>``, the hash over the alert's digest and the party:
    stable per alert and recipient, and short, so the header stays on one line."""
    per_party = hashlib.sha256(f"{digest}\n{party}".encode()).hexdigest()[:16]
    return f"<engine-alert-{per_party}@gpv.{message_id_domain(domain)}>"


def _short(text: str, limit: int) -> str:
    line = one_line(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def alert_variables(
    *,
    reason: str,
    run_name: str,
    run_id: str,
    event: str,
    now: datetime,
    dashboard: str,
    message_id: str,
    recipient_name: str | None,
) -> dict[str, Any]:
    """Every variable the ``engine_alert`` templates use; all text single-line and bounded."""
    state, state_text = EVENT_STATES.get(event.strip(), (None, None))
    flow_run_id = one_line(run_id).removeprefix(RUN_PREFIX)
    base = dashboard.rstrip("/")
    return {
        "recipient_name": recipient_name,
        "run_name": _short(run_name, 200) or DEFAULT_RUN_NAME,
        "run_id": _short(flow_run_id, 100) or None,
        "state": state,
        "state_text": state_text or "braucht Aufmerksamkeit",
        "at": de_datetime(now),
        "reason": _short(reason, REASON_LIMIT) or None,
        "dashboard_url": base,
        "run_url": f"{base}/runs/flow-run/{flow_run_id}" if flow_run_id else None,
        "message_id": message_id,
    }


def render_engine_alert(variables: Mapping[str, Any]) -> RenderedMessage:
    """Subject, text and HTML through the project's one Jinja2 environment."""
    return render_template(TEMPLATE_ID, variables)


@dataclass
class _Outcome:
    """Which supervisors the alert reached, and why the others were not reached."""

    sent: list[str] = field(default_factory=list)
    permanent: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)

    def raise_if_incomplete(self) -> None:
        """All reached: nothing. Otherwise one error naming every problem: temporary (a retry
        may help) when any problem was temporary, else :class:`AlertNotSentError`."""
        problems = self.temporary + self.permanent
        if not problems:
            return
        summary = "; ".join(problems)
        log.error("Alarm-E-Mail an die Aufsicht nicht (ganz) versandt: %s", summary)
        reached = f" Erreicht: {', '.join(self.sent)}." if self.sent else " Niemand wurde erreicht."
        text = f"Alarm-E-Mail an die Aufsicht nicht versandt: {summary}.{reached}"
        if self.temporary:
            raise TemporaryDeliveryError(text)
        raise AlertNotSentError(text)


@dataclass(frozen=True)
class _Alert:
    """One alert, ready to be addressed to each supervisor in turn."""

    reason: str
    run_name: str
    run_id: str
    event: str
    now: datetime
    dashboard: str
    config: Config
    agreement: Any

    @property
    def digest(self) -> str:
        return alert_digest(run_id=self.run_id, event=self.event, reason=self.reason, now=self.now)

    def send_to(self, party: str, transport: Transport, outcome: _Outcome) -> None:
        """Send to one supervisor party at its configured address; the result goes to
        ``outcome``, so a refused address does not keep the next supervisor uninformed."""
        name = self.agreement.parties[party].name
        address = self.config.address_of(party)
        if address is None:
            outcome.permanent.append(
                f"{party}: keine E-Mail-Adresse; bitte in gpv.toml unter [parties.{party}] "
                "email eintragen"
            )
            return
        message_id = alert_message_id(self.digest, party, self.config.domain)
        variables = alert_variables(
            reason=self.reason,
            run_name=self.run_name,
            run_id=self.run_id,
            event=self.event,
            now=self.now,
            dashboard=self.dashboard,
            message_id=message_id,
            recipient_name=name,
        )
        smtp = self.config.smtp
        try:
            message = build_email(
                render_engine_alert(variables),
                message_id=message_id,
                sender=Mailbox(smtp.from_address, smtp.from_name),
                to=Mailbox(address.email, address.name or name),
                date=self.now,
            )
            transport.send(message)
        except TemporaryDeliveryError as exc:
            outcome.temporary.append(f"{party}: {exc}")
        except (PermanentDeliveryError, InvalidAddressError) as exc:
            outcome.permanent.append(f"{party}: {exc}")
        except DeliveryError as exc:  # pragma: no cover - the two above are all there is
            outcome.temporary.append(f"{party}: {exc}")
        else:
            outcome.sent.append(party)


def send_engine_alert(
    *,
    reason: str,
    run_name: str,
    run_id: str,
    event: str,
    now: datetime,
    config: Config | None = None,
    transport: Transport | None = None,
    agreement: Any = None,
    dashboard: str | None = None,
) -> list[str]:
    """Send the alert to every supervisor party of the agreement; returns their party ids.

    Every supervisor is tried, then failures are raised together: :class:`AlertNotSentError`
    when retrying cannot help (no address configured, address or message refused),
    :class:`~notifications.transport.TemporaryDeliveryError` when it can (server unreachable,
    4xx). A retry re-sends to all supervisors with the same Message-IDs.
    """
    if now.tzinfo is None:
        raise ValueError("send_engine_alert: 'now' must be timezone-aware")
    if agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    if config is None:
        config = load_config(agreement=agreement)
    parties = supervisor_parties(agreement)
    if not parties:
        raise AlertNotSentError(
            "Die Kooperationsvereinbarung (states/agreement.toml) nennt keine Partei der Art "
            "'supervisor'; der Alarm hat keinen Empfänger."
        )
    alert = _Alert(
        reason=reason,
        run_name=run_name,
        run_id=run_id,
        event=event,
        now=now,
        dashboard=dashboard if dashboard is not None else dashboard_url(),
        config=config,
        agreement=agreement,
    )
    outcome = _Outcome()
    own = transport is None
    used = transports.make_transport(config) if transport is None else transport
    try:
        for party in parties:
            alert.send_to(party, used, outcome)
    finally:
        if own:
            used.close()
    outcome.raise_if_incomplete()
    return outcome.sent
