"""The dispatcher: sends what the outbox holds, once, with retries, and alerts on final failure.

Per message, three short steps, each its own committed transaction or network exchange:

1. **claim** – ``attempts + 1``, ``claimed_at``/``claimed_by`` set, only if the row is still
   pending and unclaimed (or its claim is stale). Two dispatchers never send the same row at once.
2. **send** – render (from the row's context, the case's non-health fields and the configured
   addresses), build the e-mail with the stable Message-ID ``<outbox-{id}@gpv.{domain}>`` and hand
   it to the transport, which returns only after the server accepted it (SMTP 250 after DATA).
3. **mark** – ``sent`` (or back to ``pending`` with backoff, or ``failed`` + one supervisor alert).

Crash safety (SIGKILL at any instant): a row is marked sent only after the server accepted it, so
nothing is lost. A claim left by a dead dispatcher is released when the next run starts (same host,
process gone) or after ``claim_timeout``; the row is then sent again **with the same Message-ID**.
The one window in which that re-send duplicates a delivered message is between the server's
acceptance and the commit of step 3: the commit is a single-row UPDATE issued immediately after the
reply (no rendering, no other I/O in between). Receivers that de-duplicate by Message-ID (most mail
stores and clients do) close even that window. Measured sizes: see the test and the report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from notifications.message import Mailbox, build_email, message_id_for
from notifications.policy import PERSON, CaseView, Recipient
from notifications.rendering import render
from notifications.transport import (
    FileTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TemporaryDeliveryError,
    Transport,
)
from states.decision import NotificationEvent, Process
from workflows.delivery.config import Config, TransportKind, load_config
from workflows.store.outbox import Channel, OutboxRow, OutboxStatus, enqueue

log = logging.getLogger(__name__)

DEFAULT_RETRY_BASE = timedelta(minutes=2)
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=10)
LETTER_ADDRESS = "brief@gpv.invalid"
_T = OutboxRow.__table__  # type: ignore[attr-defined]
_WRITE = {"gpv_write": True}  # workflows.store.db: SQLite BEGIN IMMEDIATE for write transactions


@dataclass(frozen=True)
class CaseContact:
    """A case's non-health fields and the person's contact address (nothing else)."""

    view: CaseView
    contact_email: str | None


CaseLookup = Callable[[Engine, str], CaseContact | None]


def store_case(engine: Engine, case_id: str) -> CaseContact | None:
    """Read exactly the non-health columns of one case from the store."""
    from workflows.store.models import CaseRow

    table = CaseRow.__table__  # type: ignore[attr-defined]
    c = table.c
    columns = (c.id, c.carrier, c.municipality, c.parties, c.is_minor, c.contact_email)
    with engine.connect() as conn:
        row = conn.execute(select(*columns).where(c.id == case_id)).first()
    if row is None:
        return None
    view = CaseView(
        case_id=row.id,
        carrier=row.carrier,
        municipality=row.municipality,
        parties=tuple(row.parties or ()),
        is_minor=bool(row.is_minor),
        has_contact_email=bool(row.contact_email),
    )
    return CaseContact(view=view, contact_email=row.contact_email or None)


def make_transport(config: Config) -> Transport:
    """The configured transport (file: maildir under ``<data>/mail``)."""
    if config.transport is TransportKind.SMTP:
        s = config.smtp
        return SmtpTransport(
            s.host,
            s.port,
            starttls=s.starttls,
            tls=s.tls,
            user=s.user,
            password=s.password,
            timeout=s.timeout,
        )
    from workflows.settings import data_dir

    return FileTransport(data_dir() / "mail")


def letters_transport() -> FileTransport:
    from workflows.settings import data_dir

    return FileTransport(data_dir() / "letters", letters=True)


def _worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


UNCONFIRMED_NOTE = (
    "Annahme durch den Server nicht bestätigt: der Versand wurde unmittelbar vor dem "
    "Abschluss der Übergabe abgebrochen."
)


def release_dead_claims(
    engine: Engine, unconfirmed_rows: list[int] | None = None
) -> dict[str, int]:
    """Clean up after a dispatcher process on this host that died (e.g. SIGKILL).

    - a *pending* row it had claimed was not handed over (the server drops an unfinished DATA):
      the claim is released and the row is sent again, with the same Message-ID;
    - a *sent* row it had claimed but not confirmed was handed over in its last instant: it is
      not sent again (that would risk a duplicate); the row keeps a note for ``gpv outbox``.

    Returns ``{"released": n, "unconfirmed": n}``; the ids of unconfirmed rows are appended to
    ``unconfirmed_rows`` when given, so the caller can alert the supervisor: such a message may
    not have arrived, and a human must check with the recipient (a lost notice can cost a legal
    deadline).
    """
    host = socket.gethostname()[:30]
    with engine.connect() as conn:
        claims = conn.execute(
            select(_T.c.claimed_by).where(_T.c.claimed_by.is_not(None)).distinct()
        ).scalars()
        dead = []
        for claim in claims:
            claim_host, _, rest = str(claim).partition(":")
            pid = rest.partition(":")[0]
            mine = claim_host == host and pid.isdigit() and int(pid) != os.getpid()
            if mine and not _pid_alive(int(pid)):
                dead.append(claim)
    result = {"released": 0, "unconfirmed": 0}
    if unconfirmed_rows is None:
        unconfirmed_rows = []
    for claim in dead:
        with engine.connect().execution_options(**_WRITE) as conn, conn.begin():
            released = conn.execute(
                update(_T)
                .where(_T.c.claimed_by == claim, _T.c.status == OutboxStatus.PENDING.value)
                .values(claimed_at=None, claimed_by=None)
            )
            unconfirmed_ids = list(
                conn.execute(
                    select(_T.c.id).where(
                        _T.c.claimed_by == claim, _T.c.status == OutboxStatus.SENT.value
                    )
                ).scalars()
            )
            if unconfirmed_ids:
                conn.execute(
                    update(_T)
                    .where(_T.c.id.in_(unconfirmed_ids))
                    .values(claimed_at=None, claimed_by=None, last_error=UNCONFIRMED_NOTE)
                )
            result["released"] += released.rowcount or 0
            result["unconfirmed"] += len(unconfirmed_ids)
            unconfirmed_rows.extend(unconfirmed_ids)
    if result["released"] or result["unconfirmed"]:
        log.warning("outbox: nach Abbruch eines Versandlaufs: %s", result)
    return result


def _due_ids(engine: Engine, now: datetime, stale: datetime, limit: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(_T.c.id)
                .where(
                    _T.c.status == OutboxStatus.PENDING.value,
                    or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
                    or_(_T.c.claimed_at.is_(None), _T.c.claimed_at <= stale),
                )
                .order_by(_T.c.id)
                .limit(limit)
            ).scalars()
        )


def _claim(engine: Engine, row_id: int, now: datetime, stale: datetime, worker: str) -> Any:
    with engine.connect().execution_options(**_WRITE) as conn, conn.begin():
        result = conn.execute(
            update(_T)
            .where(
                _T.c.id == row_id,
                _T.c.status == OutboxStatus.PENDING.value,
                or_(_T.c.claimed_at.is_(None), _T.c.claimed_at <= stale),
            )
            .values(claimed_at=now, claimed_by=worker, attempts=_T.c.attempts + 1)
        )
        if result.rowcount != 1:
            return None
        return conn.execute(select(_T).where(_T.c.id == row_id)).one()


def _mine(row_id: int, worker: str) -> Any:
    return and_(_T.c.id == row_id, _T.c.claimed_by == worker)


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
        self.worker = _worker_id()
        self._cases: dict[str, CaseContact | None] = {}

    def case(self, case_id: str) -> CaseContact | None:
        if case_id not in self._cases:
            self._cases[case_id] = self.case_lookup(self.engine, case_id)
        return self._cases[case_id]

    def deliver(self, row: Any) -> str:
        """Send one claimed row; returns 'sent', 'retrying' or 'failed'."""
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
        target = self.letters if channel is Channel.LETTER else self.transport
        handed_over = False

        def handover() -> None:
            # Runs inside the SMTP transaction, right before the final "." (see module docs).
            nonlocal handed_over
            self._mark_sent(row.id, channel, message_id, confirmed=False)
            handed_over = True

        try:
            target.send(message, on_handover=handover)
        except TemporaryDeliveryError as exc:
            return self._retry(row, str(exc), channel, message_id)
        except PermanentDeliveryError as exc:
            return self._failed(row, str(exc), channel, message_id)
        # Accepted. If the transport did not hand over first (file transport), mark now.
        self._mark_sent(row.id, channel, message_id, confirmed=True, status_set=handed_over)
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
        carrier_contact = carrier.email if carrier is not None and not carrier.is_default else None
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
        reply_to = Mailbox(carrier_contact) if carrier_contact else None
        message = build_email(
            rendered,
            message_id=message_id,
            sender=sender,
            to=to,
            date=row.created_at,
            reply_to=reply_to,
        )
        return channel, message

    def _write(self) -> Any:
        return self.engine.connect().execution_options(**_WRITE)

    def _mark_sent(
        self,
        row_id: int,
        channel: Channel,
        message_id: str,
        *,
        confirmed: bool,
        status_set: bool = False,
    ) -> None:
        """``sent`` in one single-row UPDATE. Unconfirmed (hand-over, before the final ".") keeps
        the claim, so a row whose dispatcher died in that instant is recognisable; confirming
        clears it."""
        if status_set:
            values: dict[str, Any] = {"claimed_at": None, "claimed_by": None}
        else:
            values = {
                "status": OutboxStatus.SENT.value,
                "sent_at": self.now,
                "channel": channel.value,
                "message_id": message_id,
                "last_error": None,
            }
            if confirmed:
                values.update(claimed_at=None, claimed_by=None)
        conn: Connection
        with self._write() as conn, conn.begin():
            conn.execute(update(_T).where(_mine(row_id, self.worker)).values(**values))

    def _retry(self, row: Any, error: str, channel: Channel | None, message_id: str) -> str:
        attempts = int(row.attempts)  # already counts this attempt (raised by the claim)
        if attempts >= self.max_attempts:
            return self._failed(row, f"nach {attempts} Versuchen: {error}", channel, message_id)
        delay = self.retry_base * (2 ** (attempts - 1))
        with self._write() as conn, conn.begin():
            conn.execute(
                update(_T)
                .where(_mine(row.id, self.worker))
                .values(
                    status=OutboxStatus.PENDING.value,
                    sent_at=None,
                    next_attempt_at=self.now + delay,
                    last_error=error[:2000],
                    channel=channel.value if channel else None,
                    message_id=message_id,
                    claimed_at=None,
                    claimed_by=None,
                )
            )
        return "retrying"

    def _failed(self, row: Any, error: str, channel: Channel | None, message_id: str) -> str:
        log.warning("outbox %s: endgültig nicht zustellbar: %s", row.id, error)
        with self._write() as conn, conn.begin():
            conn.execute(
                update(_T)
                .where(_mine(row.id, self.worker))
                .values(
                    status=OutboxStatus.FAILED.value,
                    sent_at=None,
                    last_error=error[:2000],
                    channel=channel.value if channel else None,
                    message_id=message_id,
                    claimed_at=None,
                    claimed_by=None,
                )
            )
            if row.event != "delivery_failed":
                self._queue_alert(conn, row, error, channel)
        return "failed"

    def alert_unconfirmed(self, row_id: int) -> None:
        """Queue one supervisor alert for a row whose hand-over was never confirmed."""
        with self.engine.connect().execution_options(**_WRITE) as conn, conn.begin():
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
) -> dict[str, int]:
    """Send every due pending row (``next_attempt_at`` null or ``<= now``), in id order.

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
    created: list[Transport] = []
    if transport is None:
        transport = make_transport(config)
        created.append(transport)
    if letters is None:
        letters = letters_transport()
        created.append(letters)
    worker = Dispatcher(
        engine,
        now=now,
        config=config,
        transport=transport,
        letters=letters,
        agreement=agreement,
        case_lookup=case_lookup or store_case,
        max_attempts=max_attempts,
        retry_base=retry_base,
        conference_duration=conference_duration,
    )
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    stale = now - claim_timeout
    try:
        unconfirmed: list[int] = []
        release_dead_claims(engine, unconfirmed)
        for row_id in unconfirmed:
            worker.alert_unconfirmed(row_id)
        while True:
            ids = _due_ids(engine, now, stale, batch_size)
            progressed = False
            for row_id in ids:
                row = _claim(engine, row_id, now, stale, worker.worker)
                if row is None:  # another dispatcher took it
                    continue
                progressed = True
                counts[worker.deliver(row)] += 1
            if not ids or not progressed:
                break
    finally:
        for t in created:
            with contextlib.suppress(Exception):
                t.close()
    return counts


def outbox_rows(
    engine: Engine, *, status: str | None = None, limit: int | None = None
) -> list[Mapping[str, Any]]:
    """The outbox as plain rows (``gpv outbox``), newest last. No message content."""
    query = select(
        _T.c.id,
        _T.c.case_id,
        _T.c.event,
        _T.c.recipient_role,
        _T.c.recipient_party,
        _T.c.template_id,
        _T.c.status,
        _T.c.channel,
        _T.c.attempts,
        _T.c.next_attempt_at,
        _T.c.created_at,
        _T.c.sent_at,
        _T.c.message_id,
        _T.c.last_error,
    ).order_by(_T.c.id)
    if status is not None:
        query = query.where(_T.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
