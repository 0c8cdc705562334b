"""The dispatcher: sends what the outbox holds, once, with retries, and alerts on final failure.

Per batch of due rows, then per message, short steps, each its own committed transaction or
network exchange:

1. **claim** (once per batch) – ``attempts + 1``, ``claimed_at``/``claimed_by`` set, on every row
   of the batch that is still pending and unclaimed (or whose claim is stale), in one
   ``UPDATE … RETURNING``. Two dispatchers never send the same row at once
   (:mod:`workflows.delivery.claims`).
2. **send** – render (from the row's context, the case's non-health fields and the configured
   addresses), build the e-mail with the stable Message-ID ``<outbox-{id}@gpv.{domain}>`` and hand
   it to the transport, which returns only after the server accepted it (SMTP 250 after DATA).
   Right before the final ``.`` the row is marked ``sent`` (the hand-over), only while this
   dispatcher still holds its claim: a claim that went stale and was taken by another dispatcher
   aborts the DATA, nothing is sent.
3. **mark** – the accepted row's claim is cleared (confirmed) in the next write transaction,
   usually the next message's hand-over, or at the end of the run; a refused one goes back to
   ``pending`` with backoff, or ``failed`` + one supervisor alert.

Crash safety (SIGKILL at any instant): a row is marked sent only once the server holds the whole
message text, so nothing is lost. A claim left by a dead dispatcher is released when the next run
starts (same host, process gone) or after ``claim_timeout``; a row not yet handed over is then
sent again **with the same Message-ID** (the server dropped the unfinished DATA). A row handed over
but not confirmed (at most one per dead dispatcher: step 3 confirms with the next write) is not sent
again; the next run alerts the supervisor to check it, since the server may or may not have taken
it. Receivers that de-duplicate by Message-ID (most mail stores and clients do) close even that
window. Measured sizes: see the test and the report.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from notifications.message import Mailbox, build_email, message_id_for
from notifications.policy import PERSON, CaseView, Recipient
from notifications.rendering import render
from notifications.transport import PermanentDeliveryError, TemporaryDeliveryError, Transport
from states.decision import NotificationEvent, Process
from workflows.delivery.claims import (
    UNCONFIRMED_NOTE,
    claim_batch,
    database_now,
    due_ids,
    held_by,
    release_dead_claims,
    worker_id,
    write_connection,
)
from workflows.delivery.config import Config, load_config
from workflows.delivery.transports import letters_transport, make_transport, mark_letter
from workflows.store.outbox import Channel, OutboxRow, OutboxStatus, enqueue

log = logging.getLogger(__name__)

DEFAULT_RETRY_BASE = timedelta(minutes=2)
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=10)
LETTER_ADDRESS = "brief@gpv.invalid"
_T = OutboxRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CaseContact:
    """A case's non-health fields and the person's contact address (nothing else)."""

    view: CaseView
    contact_email: str | None


CaseLookup = Callable[[Engine, str], CaseContact | None]


def store_case(engine: Engine, case_id: str) -> CaseContact | None:
    """Read exactly the non-health columns of one case from the store."""
    from sqlmodel import Session

    from workflows.store.cases import case_contact

    with Session(engine) as session:
        found = case_contact(session, case_id)
    return None if found is None else CaseContact(view=found[0], contact_email=found[1])


class ClaimLostError(Exception):
    """This dispatcher's claim on a row went stale and another dispatcher took the row."""


class Dispatcher:
    """One dispatch run's collaborators; :func:`dispatch` is the entry point."""

    def __init__(
        self,
        engine: Engine,
        *,
        now: datetime,
        config: Config,
        transport: Transport,
        letters: Transport,
        agreement: Any,
        case_lookup: CaseLookup,
        max_attempts: int,
        retry_base: timedelta,
        conference_duration: timedelta | None = None,
    ) -> None:
        self.engine = engine
        self.now = now
        self.config = config
        self.transport = transport
        self.letters = letters
        self.agreement = agreement
        self.case_lookup = case_lookup
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.conference_duration = conference_duration
        self.worker = worker_id()
        self._cases: dict[str, CaseContact | None] = {}
        #: A row sent and accepted whose claim is still to be cleared: confirmed in the next
        #: write transaction (the next hand-over, usually) or at the end of the run.
        self._to_confirm: int | None = None

    def case(self, case_id: str) -> CaseContact | None:
        if case_id not in self._cases:
            self._cases[case_id] = self.case_lookup(self.engine, case_id)
        return self._cases[case_id]

    def recover(self) -> None:
        """Release the claims of dead dispatchers on this host; alert on unconfirmed hand-overs."""
        unconfirmed: list[int] = []
        release_dead_claims(self.engine, unconfirmed)
        for row_id in unconfirmed:
            self.alert_unconfirmed(row_id)

    def send_due(
        self, *, clock: Callable[[], datetime], timeout: timedelta, batch_size: int
    ) -> dict[str, int]:
        """Claim and deliver due rows batch by batch, until none is due or another dispatcher
        took every row of a batch; the counts of ``sent``, ``retrying`` and ``failed``. A claim
        older than ``timeout`` on ``clock`` (the database's) is stale."""
        counts = {"sent": 0, "retrying": 0, "failed": 0}
        try:
            while True:
                claimed_at = clock()
                stale = claimed_at - timeout
                ids = due_ids(self.engine, self.now, stale, batch_size)
                rows = claim_batch(self.engine, ids, claimed_at, stale, self.worker)
                for row in rows:
                    counts[self.deliver(row)] += 1
                if not ids or not rows:  # nothing due, or another dispatcher took every row
                    return counts
        finally:
            self.confirm_pending()

    def deliver(self, row: Any) -> str:
        """Send one claimed row; returns 'sent', 'retrying' (also: not sent because another
        dispatcher took the row over, see :class:`ClaimLostError`) or 'failed'."""
        message_id = message_id_for(row.id, self.config.domain)
        channel: Channel | None = None
        try:
            contact = self.case(row.case_id)
            if contact is None:
                raise PermanentDeliveryError(f"Fall {row.case_id} nicht gefunden.")
            channel, message = self._build(row, contact, message_id)
        except (PermanentDeliveryError, TemporaryDeliveryError) as exc:
            return self._failed(row, str(exc), channel, message_id)
        except Exception as exc:  # a template or address problem: retrying will not help
            return self._failed(row, f"{type(exc).__name__}: {exc}", channel, message_id)
        return self._send(row, channel, message, message_id)

    def _send(self, row: Any, channel: Channel, message: Any, message_id: str) -> str:
        """Hand the built message to its transport and record the outcome."""
        target = self.letters if channel is Channel.LETTER else self.transport
        handed_over = False
        claim_lost = False

        def handover() -> None:
            # Runs inside the SMTP transaction, right before the final "." (see module docs).
            nonlocal handed_over, claim_lost
            if not self._mark_sent(row.id, channel, message_id, confirmed=False):
                # The claim went stale and another dispatcher holds the row: send nothing.
                claim_lost = True
                raise ClaimLostError(f"outbox {row.id}: Anspruch verloren")
            handed_over = True

        try:
            target.send(message, on_handover=handover)
        except ClaimLostError:  # a transport that lets the hook's error through
            return "retrying"
        except TemporaryDeliveryError as exc:
            if claim_lost:  # the row is another dispatcher's now; not ours to record
                return "retrying"
            return self._retry(row, str(exc), channel, message_id)
        except PermanentDeliveryError as exc:
            return self._failed(row, str(exc), channel, message_id)
        if handed_over:  # accepted; the claim is cleared with the next write (see _to_confirm)
            self._to_confirm = row.id
        else:  # a transport without hand-over (file transport): mark and confirm now
            self._mark_sent(row.id, channel, message_id, confirmed=True)
        return "sent"

    def _build(self, row: Any, contact: CaseContact, message_id: str) -> tuple[Channel, Any]:
        cfg = self.config
        party = row.recipient_party
        if party == PERSON:
            if contact.contact_email:
                channel, to = Channel.EMAIL, Mailbox(contact.contact_email)
            else:
                name = f"Person zum Aktenzeichen {contact.view.case_id} (Anschrift aus der Akte)"
                channel, to = Channel.LETTER, Mailbox(LETTER_ADDRESS, name)
        else:
            address = cfg.address_of(party)
            if address is None:
                raise PermanentDeliveryError(
                    f"Keine E-Mail-Adresse für die Partei {party!r}: bitte in gpv.toml unter "
                    f"[parties.{party}] email eintragen."
                )
            known = self.agreement.parties.get(party)
            channel = Channel.EMAIL
            to = Mailbox(address.email, address.name or (known.name if known else party))
        sender = Mailbox(cfg.smtp.from_address, cfg.smtp.from_name)
        carrier = cfg.address_of(contact.view.carrier)
        known_carrier = carrier if carrier is not None and not carrier.is_default else None
        # The case manager to contact, with a Reply-To to her address (issue 12).
        carrier_contact = known_carrier.contact_line() if known_carrier else None
        recipient = Recipient(row.recipient_role, party, row.template_id)
        extra: dict[str, Any] = {}
        if self.conference_duration is not None:
            extra["conference_duration"] = self.conference_duration
        rendered = render(
            recipient,
            row.event,
            contact.view,
            row.context or {},
            self.agreement,
            message_id=message_id,
            sender=sender.address,
            recipient_address=to.address if channel is Channel.EMAIL else None,
            carrier_contact=carrier_contact,
            issued_at=row.created_at,
            with_calendar=channel is Channel.EMAIL,
            **extra,
        )
        reply_to = (
            Mailbox(known_carrier.email, known_carrier.contact_name or known_carrier.name or "")
            if known_carrier
            else None
        )
        message = build_email(
            rendered,
            message_id=message_id,
            sender=sender,
            to=to,
            date=row.created_at,
            reply_to=reply_to,
        )
        if channel is Channel.LETTER:  # the PDF's letterhead and address block (issue 12)
            view = contact.view
            mark_letter(message, case_ref=view.case_id, carrier=view.carrier,
                        about_child=view.is_minor)  # fmt: skip
        return channel, message

    def _write(self) -> Connection:
        return write_connection(self.engine)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction that first clears the claim of the last row the server accepted
        (:attr:`_to_confirm`). Until that commits, a crash leaves that row ``sent`` with the
        claim kept, which the next run reports as unconfirmed: at most one row at any time."""
        confirming = self._to_confirm
        with self._write() as conn, conn.begin():
            if confirming is not None:
                conn.execute(
                    update(_T)
                    .where(held_by(confirming, self.worker))
                    .values(claimed_at=None, claimed_by=None)
                )
            yield conn
        if self._to_confirm == confirming:
            self._to_confirm = None

    def confirm_pending(self) -> None:
        """Confirm the last accepted row, if one is still unconfirmed (end of a run)."""
        if self._to_confirm is not None:
            with self._transaction():
                pass

    def _mark_sent(
        self, row_id: int, channel: Channel, message_id: str, *, confirmed: bool
    ) -> bool:
        """``sent`` in one single-row UPDATE, only while this worker holds the claim (False when
        it does not any more), together with the confirmation of the previous row. Unconfirmed
        (hand-over, before the final ".") keeps the claim, so a row whose dispatcher died in that
        instant is recognisable; confirming clears it."""
        values: dict[str, Any] = {
            "status": OutboxStatus.SENT.value,
            "sent_at": self.now,
            "channel": channel.value,
            "message_id": message_id,
            "last_error": None,
        }
        if confirmed:
            values.update(claimed_at=None, claimed_by=None)
        conn: Connection
        with self._transaction() as conn:
            done = conn.execute(
                update(_T)
                .where(held_by(row_id, self.worker), _T.c.status == OutboxStatus.PENDING.value)
                .values(**values)
            )
        return done.rowcount == 1

    def _retry(self, row: Any, error: str, channel: Channel | None, message_id: str) -> str:
        attempts = int(row.attempts)  # already counts this attempt (raised by the claim)
        if attempts >= self.max_attempts:
            return self._failed(row, f"nach {attempts} Versuchen: {error}", channel, message_id)
        delay = self.retry_base * (2 ** (attempts - 1))
        with self._transaction() as conn:
            self._unsent(
                conn,
                row,
                OutboxStatus.PENDING,
                error,
                channel,
                message_id,
                next_attempt_at=self.now + delay,
            )
        return "retrying"

    def _failed(self, row: Any, error: str, channel: Channel | None, message_id: str) -> str:
        log.warning("outbox %s: endgültig nicht zustellbar: %s", row.id, error)
        with self._transaction() as conn:
            self._unsent(conn, row, OutboxStatus.FAILED, error, channel, message_id)
            if row.event != "delivery_failed":
                self._queue_alert(conn, row, error, channel)
        return "failed"

    def _unsent(
        self,
        conn: Connection,
        row: Any,
        status: OutboxStatus,
        error: str,
        channel: Channel | None,
        message_id: str,
        **extra: Any,
    ) -> None:
        """Record an attempt that did not deliver (``pending`` again, or ``failed``) and release
        the claim, in one single-row UPDATE."""
        conn.execute(
            update(_T)
            .where(held_by(row.id, self.worker))
            .values(
                status=status.value,
                sent_at=None,
                last_error=error[:2000],
                channel=channel.value if channel else None,
                message_id=message_id,
                claimed_at=None,
                claimed_by=None,
                **extra,
            )
        )

    def alert_unconfirmed(self, row_id: int) -> None:
        """Queue one supervisor alert for a row whose hand-over was never confirmed."""
        with self._write() as conn, conn.begin():
            row = conn.execute(select(_T).where(_T.c.id == row_id)).one()
            self.case(row.case_id)
            channel = Channel(row.channel) if row.channel in Channel._value2member_map_ else None
            self._queue_alert(conn, row, UNCONFIRMED_NOTE, channel, unconfirmed=True)

    def _queue_alert(
        self,
        conn: Connection,
        row: Any,
        error: str,
        channel: Channel | None,
        *,
        unconfirmed: bool = False,
    ) -> None:
        contact = self._cases.get(row.case_id)
        if contact is None:
            log.error("outbox %s: Fall %s unbekannt, keine Meldung möglich", row.id, row.case_id)
            return
        context = row.context or {}
        failed = {
            "outbox_id": row.id,
            "event": row.event,
            "party": row.recipient_party,
            "channel": channel.value if channel else None,
            "attempts": int(row.attempts),
            "error": error[:300],
            "unconfirmed": unconfirmed,
        }
        process = context.get("process", Process.CASE.value)
        notice = NotificationEvent(
            "delivery_failed",
            Process(process) if process in Process._value2member_map_ else Process.CASE,
            {"failed": failed},
        )
        with Session(bind=conn) as session:
            enqueue(
                session,
                case=contact.view,
                events=[notice],
                source_key=f"outbox:{row.id}",
                at=self.now,
                agreement=self.agreement,
            )
            session.flush()


def dispatch(
    engine: Engine,
    *,
    now: datetime,
    config: Config | None = None,
    transport: Transport | None = None,
    letters: Transport | None = None,
    batch_size: int = 100,
    max_attempts: int = 5,
    retry_base: timedelta = DEFAULT_RETRY_BASE,
    claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
    agreement: Any = None,
    case_lookup: CaseLookup | None = None,
    conference_duration: timedelta | None = None,
    clock: Callable[[Engine], datetime] = database_now,
) -> dict[str, int]:
    """Send every due pending row (``next_attempt_at`` null or ``<= now``), in id order.

    ``now`` is the logical time of the run (what is due, when to retry); claims are stamped and
    judged on ``clock`` (the database's), so a skewed ``now`` cannot take a live claim for stale.

    Returns ``{"sent": n, "retrying": n, "failed": n}`` for this run. A temporary failure sets
    ``next_attempt_at = now + retry_base * 2**(attempts-1)``; after ``max_attempts`` attempts or a
    permanent failure the row is ``failed`` and one ``delivery_failed`` alert to the carrier's
    supervisor is queued (dedup key ``outbox:<id>:…``) and sent in the same run. Persons without an
    e-mail address get a letter (file under ``<data>/letters``). Safe to run concurrently and
    after a crash (see the module docstring).
    """
    if now.tzinfo is None:
        raise ValueError("dispatch: 'now' must be timezone-aware")
    if config is None:
        config = load_config(agreement=agreement)
    if agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    with contextlib.ExitStack() as created:
        worker = Dispatcher(
            engine,
            now=now,
            config=config,
            transport=_given_or_new(created, transport, lambda: make_transport(config)),
            letters=_given_or_new(created, letters, lambda: letters_transport(config, agreement)),
            agreement=agreement,
            case_lookup=case_lookup or store_case,
            max_attempts=max_attempts,
            retry_base=retry_base,
            conference_duration=conference_duration,
        )
        worker.recover()
        return worker.send_due(clock=partial(clock, engine), timeout=claim_timeout,
                               batch_size=batch_size)  # fmt: skip


def _given_or_new(
    created: contextlib.ExitStack, given: Transport | None, make: Callable[[], Transport]
) -> Transport:
    """``given``, or a new transport from ``make`` that is closed (quietly) when ``created``
    closes: the caller's transports are the caller's to close."""
    if given is not None:
        return given
    transport = make()
    created.callback(_close_quietly, transport)
    return transport


def _close_quietly(transport: Transport) -> None:
    with contextlib.suppress(Exception):
        transport.close()
