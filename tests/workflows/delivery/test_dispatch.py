"""The dispatcher with the recording transport: once, retries with backoff, failure and alert."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from notifications.transport import (
    PermanentDeliveryError,
    RecordingTransport,
    TemporaryDeliveryError,
)
from states.decision import NotificationEvent, Process
from tests.notifications.samples import CONTEXTS
from tests.workflows.notify_support import (
    SENTINEL,
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.claims import database_now
from workflows.delivery.dispatch import dispatch, store_case
from workflows.store.outbox import OutboxRow, enqueue, outbox_rows

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
T = OutboxRow.__table__


def _enqueue(engine, case_id: str, event: str, source: str = "test", **ctx) -> list[int]:
    contact = store_case(engine, case_id)
    notice = NotificationEvent(event, Process.CASE, {**CONTEXTS[event], **ctx})
    with Session(engine, expire_on_commit=False) as session:
        rows = enqueue(session, case=contact.view, events=[notice], source_key=source, at=NOW)
        session.commit()
    return [r.id for r in rows]


def _rows(engine) -> dict[int, dict]:
    return {r["id"]: r for r in outbox_rows(engine)}


def _run(engine, transport, now=NOW, config=None, **kw):
    return dispatch(
        engine, now=now, config=config or smtp_config(), transport=transport,
        retry_base=timedelta(minutes=1), **kw,
    )  # fmt: skip


def test_a_pending_notice_is_sent_once_with_its_stable_message_id(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    transport = RecordingTransport()
    assert _run(notify_engine, transport) == {"sent": 1, "retrying": 0, "failed": 0}
    assert _run(notify_engine, transport) == {"sent": 0, "retrying": 0, "failed": 0}
    assert transport.message_ids == [f"<outbox-{row_id}@gpv.lwl.example>"]
    row = _rows(notify_engine)[row_id]
    assert (row["status"], row["channel"], row["attempts"]) == ("sent", "email", 1)
    assert row["message_id"] == f"<outbox-{row_id}@gpv.lwl.example>"
    assert transport.messages[0]["To"].addresses[0].addr_spec == "spdi@partner.example"


def test_a_person_without_an_email_address_gets_a_letter(notify_engine, tmp_path):
    case_id = open_case(notify_engine, email=None)
    ids = _enqueue(notify_engine, case_id, "consent_requested")
    transport = RecordingTransport()
    assert _run(notify_engine, transport)["sent"] == 1
    assert transport.messages == []
    (letter,) = (tmp_path / "letters" / "new").glob("*.txt")  # beside it the PDF
    assert letter.name == f"outbox-{ids[0]}@gpv.lwl.example.txt"
    assert "Zustimmung" in letter.read_text(encoding="utf-8")
    assert _rows(notify_engine)[ids[0]]["channel"] == "letter"


def test_a_person_with_an_email_address_gets_an_email(notify_engine):
    case_id = open_case(notify_engine, email="betreuerin@example.org")
    _enqueue(notify_engine, case_id, "consent_requested")
    transport = RecordingTransport()
    _run(notify_engine, transport)
    assert [str(m["To"]) for m in transport.messages] == ["betreuerin@example.org"]


def test_a_temporary_failure_retries_with_exponential_backoff_and_then_sends_once(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    transport = RecordingTransport([TemporaryDeliveryError("451"), TemporaryDeliveryError("451")])
    assert _run(notify_engine, transport) == {"sent": 0, "retrying": 1, "failed": 0}
    assert _rows(notify_engine)[row_id]["next_attempt_at"] == NOW + timedelta(minutes=1)
    # not due yet: nothing happens
    assert _run(notify_engine, transport, NOW + timedelta(seconds=59))["retrying"] == 0
    later = NOW + timedelta(minutes=1)
    assert _run(notify_engine, transport, later)["retrying"] == 1
    assert _rows(notify_engine)[row_id]["next_attempt_at"] == later + timedelta(minutes=2)
    assert _run(notify_engine, transport, later + timedelta(minutes=2))["sent"] == 1
    assert len(transport.messages) == 1
    assert _rows(notify_engine)[row_id]["attempts"] == 3


def test_after_the_last_attempt_the_row_fails_and_one_supervisor_alert_is_sent(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    transport = RecordingTransport([TemporaryDeliveryError("451 busy")] * 3)
    now = NOW
    for _ in range(3):
        result = _run(notify_engine, transport, now, max_attempts=3)
        now += timedelta(hours=1)
    assert result == {"sent": 1, "retrying": 0, "failed": 1}  # the failure and its alert
    rows = _rows(notify_engine)
    assert rows[row_id]["status"] == "failed"
    assert "nach 3 Versuchen" in rows[row_id]["last_error"]
    alerts = [r for r in rows.values() if r["event"] == "delivery_failed"]
    assert [(a["recipient_party"], a["status"]) for a in alerts] == [("lwl-leitung", "sent")]
    text = transport.messages[-1].get_body(("plain",)).get_content()
    assert "451 busy" in text and "Sozialpsychiatrischer Dienst" in text
    # running again queues no second alert
    assert _run(notify_engine, transport, now) == {"sent": 0, "retrying": 0, "failed": 0}


def test_a_permanent_failure_fails_at_once_with_exactly_one_alert(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    transport = RecordingTransport([PermanentDeliveryError("550 unknown")])
    assert _run(notify_engine, transport) == {"sent": 1, "retrying": 0, "failed": 1}
    rows = _rows(notify_engine)
    assert rows[row_id]["status"] == "failed" and rows[row_id]["attempts"] == 1
    assert sum(r["event"] == "delivery_failed" for r in rows.values()) == 1


def test_a_failed_alert_raises_no_alert_about_itself(notify_engine):
    case_id = open_case(notify_engine)
    _enqueue(notify_engine, case_id, "statement_requested")
    transport = RecordingTransport(
        [PermanentDeliveryError("550 a"), PermanentDeliveryError("550 b")]
    )
    assert _run(notify_engine, transport) == {"sent": 0, "retrying": 0, "failed": 2}
    assert len(_rows(notify_engine)) == 2


def test_a_party_without_an_address_on_smtp_fails_naming_the_config_key(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    config = smtp_config()
    config = type(config)(transport=config.transport, smtp=config.smtp, parties={})
    _run(notify_engine, RecordingTransport(), config=config)
    assert "[parties.spdi]" in _rows(notify_engine)[row_id]["last_error"]


def _claim(
    engine, row_id: int, claimed_by: str, status: str = "pending", at: datetime = NOW
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(T)
            .where(T.c.id == row_id)
            .values(claimed_by=claimed_by, claimed_at=at, attempts=1, status=status)
        )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_claim_left_by_a_dead_dispatcher_is_released_and_sent_again(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    _claim(notify_engine, row_id, f"{socket.gethostname()[:30]}:{_dead_pid()}:deadbeef")
    transport = RecordingTransport()
    assert _run(notify_engine, transport)["sent"] == 1
    assert _rows(notify_engine)[row_id]["attempts"] == 2


def test_a_claim_of_a_live_dispatcher_is_left_alone_until_it_times_out(notify_engine):
    """Timed on the database's clock (here: 11 minutes later), not on the run's logical now."""
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    claimed_at = database_now(notify_engine)
    _claim(notify_engine, row_id, f"{socket.gethostname()[:30]}:{os.getppid()}:cafecafe",
           at=claimed_at)  # fmt: skip
    transport = RecordingTransport()
    assert _run(notify_engine, transport)["sent"] == 0
    later = lambda engine: claimed_at + timedelta(minutes=11)  # noqa: E731 - a clock
    assert _run(notify_engine, transport, clock=later)["sent"] == 1


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("skew", [timedelta(days=-700), timedelta(minutes=30), timedelta(days=2)])
def test_a_dispatcher_with_a_skewed_now_never_takes_a_live_claim(
    backend, skew, notify_engine, request
):
    """Issue 13 (2): a second dispatcher whose logical ``--now`` (or host clock) is off by more
    than the claim timeout must not judge a live claim stale and send the message again."""
    from workflows.store.db import dispose_engines, ready_engine

    engine = notify_engine
    if backend == "postgres":
        engine = ready_engine(request.getfixturevalue("postgres_url"))
    try:
        case_id = open_case(engine)
        (row_id,) = _enqueue(engine, case_id, "statement_requested")
        live = f"{socket.gethostname()[:30]}:{os.getppid()}:cafecafe"
        _claim(engine, row_id, live, at=database_now(engine))
        transport = RecordingTransport()
        skewed = datetime.now(UTC) + skew
        assert _run(engine, transport, skewed) == {"sent": 0, "retrying": 0, "failed": 0}
        assert transport.messages == []
        with engine.connect() as conn:
            holder = conn.execute(select(T.c.claimed_by).where(T.c.id == row_id)).scalar_one()
        assert holder == live
    finally:
        if backend == "postgres":
            dispose_engines()


def test_a_row_handed_over_by_a_dead_dispatcher_is_not_sent_twice(notify_engine):
    case_id = open_case(notify_engine)
    (row_id,) = _enqueue(notify_engine, case_id, "statement_requested")
    _claim(notify_engine, row_id, f"{socket.gethostname()[:30]}:{_dead_pid()}:0", status="sent")
    transport = RecordingTransport()
    # Only the supervisor's alert goes out: the handed-over row itself is never sent again.
    assert _run(notify_engine, transport)["sent"] == 1
    row = _rows(notify_engine)[row_id]
    assert row["status"] == "sent" and "nicht bestätigt" in row["last_error"]
    (alert,) = [r for r in _rows(notify_engine).values() if r["event"] == "delivery_failed"]
    assert alert["recipient_role"] == "supervisor" and alert["status"] == "sent"
    assert (
        "möglicherweise nicht zugestellt"
        in transport.messages[0].get_body(preferencelist=("plain",)).get_content()
    )
    with notify_engine.connect() as conn:
        assert conn.execute(select(T.c.claimed_by).where(T.c.id == row_id)).scalar() is None


def test_no_message_header_or_attachment_carries_health_data(notify_engine, tmp_path):
    """The sentinel test: the case's sensitive fields hold a diagnosis text; no byte of any
    rendered message (e-mail incl. headers and ICS, and letters) may contain it."""
    from workflows.store.models import CaseRow

    with_mail = open_case(notify_engine, email="person@example.org", minor=True)
    by_letter = open_case(notify_engine, email=None)
    with notify_engine.begin() as conn:
        conn.execute(
            update(CaseRow.__table__).values(
                disabilities=SENTINEL, benefit=SENTINEL, person_ref=SENTINEL
            )
        )
    for case_id in (with_mail, by_letter):
        for event in CONTEXTS:
            _enqueue(notify_engine, case_id, event, source=f"sentinel:{case_id}")
    transport = RecordingTransport()
    result = _run(notify_engine, transport)
    assert result["failed"] == 0 and result["sent"] > 60
    blobs = [bytes(m) for m in transport.messages]
    blobs += [p.read_bytes() for p in (tmp_path / "letters" / "new").iterdir()]
    decoded = []
    for blob in blobs:
        msg = BytesParser(policy=policy.default).parsebytes(blob)
        decoded.append(str(msg.items()))
        for part in msg.walk():
            if not part.is_multipart():
                decoded.append(str(part.get_content()))
    for text in [b.decode("utf-8", "replace") for b in blobs] + decoded:
        assert SENTINEL not in text
        assert "F20" not in text
        for birth in ("1990-05-05", "05.05.1990", "2014-05-05", "05.05.2014"):
            assert birth not in text
    assert {m["Subject"] for m in transport.messages}  # something was really checked
