"""The dispatcher claims a batch at once (issue 11) and stays exactly-once: a row whose claim went
stale and was taken by another dispatcher before its hand-over is not sent, and accepted rows are
confirmed by the next write, leaving at most one unconfirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from notifications.transport import RecordingTransport
from states.decision import NotificationEvent, Process
from tests.notifications.samples import CONTEXTS
from tests.workflows.notify_support import (
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.dispatch import dispatch, store_case
from workflows.store.outbox import OutboxRow, enqueue, outbox_rows

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
T = OutboxRow.__table__
OTHER = "elsewhere:1:0ther0ne"


def _enqueue(engine, case_id: str, n: int) -> list[int]:
    contact = store_case(engine, case_id)
    notice = NotificationEvent("statement_requested", Process.CASE,
                               dict(CONTEXTS["statement_requested"]))  # fmt: skip
    ids: list[int] = []
    with Session(engine, expire_on_commit=False) as session:
        for i in range(n):
            rows = enqueue(session, case=contact.view, events=[notice], source_key=f"b:{i}", at=NOW)
            ids += [r.id for r in rows]
        session.commit()
    return ids


class TakenOverTransport(RecordingTransport):
    """Before the hand-over of ``victim``, another dispatcher takes the row (its claim was
    stale), as a slow batch may let happen."""

    def __init__(self, engine, victim: int) -> None:
        super().__init__()
        self.engine, self.victim = engine, victim

    def send(self, message, *, on_handover=None):  # type: ignore[no-untyped-def]
        if str(message["Message-ID"]).startswith(f"<outbox-{self.victim}@"):
            with self.engine.begin() as conn:
                conn.execute(update(T).where(T.c.id == self.victim).values(claimed_by=OTHER))
        super().send(message, on_handover=on_handover)


def test_a_row_taken_over_before_its_hand_over_is_not_sent_and_stays_the_other_s(notify_engine):
    case_id = open_case(notify_engine)
    ids = _enqueue(notify_engine, case_id, 3)
    victim = ids[1]
    transport = TakenOverTransport(notify_engine, victim)
    counts = dispatch(notify_engine, now=NOW, config=smtp_config(), transport=transport,
                      retry_base=timedelta(minutes=1))  # fmt: skip
    assert counts == {"sent": len(ids) - 1, "retrying": 1, "failed": 0}
    assert f"<outbox-{victim}@gpv.lwl.example>" not in transport.message_ids
    rows = {r["id"]: r for r in outbox_rows(notify_engine)}
    assert rows[victim]["status"] == "pending"
    assert rows[victim]["last_error"] is None  # nothing recorded on the other's row
    assert all(rows[i]["status"] == "sent" for i in ids if i != victim)
    assert not [r for r in rows.values() if r["event"] == "delivery_failed"]
    with notify_engine.connect() as conn:
        assert conn.execute(select(T.c.claimed_by).where(T.c.id == victim)).scalar() == OTHER


def test_every_accepted_row_is_confirmed_by_the_end_of_the_run(notify_engine):
    case_id = open_case(notify_engine)
    ids = _enqueue(notify_engine, case_id, 5)
    transport = RecordingTransport()
    counts = dispatch(notify_engine, now=NOW, config=smtp_config(), transport=transport,
                      batch_size=2)  # fmt: skip
    assert counts["sent"] == len(ids)
    rows = outbox_rows(notify_engine)
    assert {r["status"] for r in rows} == {"sent"}
    with notify_engine.connect() as conn:
        claims = conn.execute(select(T.c.claimed_by, T.c.attempts)).all()
    assert {c for c, _ in claims} == {None}
    assert {a for _, a in claims} == {1}


class WatchingTransport(RecordingTransport):
    """Counts, at each hand-over, the rows that are sent but still claimed (unconfirmed)."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.unconfirmed: list[int] = []

    def send(self, message, *, on_handover=None):  # type: ignore[no-untyped-def]
        def watch() -> None:
            assert on_handover is not None
            on_handover()
            with self.engine.connect() as conn:
                held = conn.execute(
                    select(T.c.id).where(T.c.status == "sent", T.c.claimed_by.is_not(None))
                ).all()
            self.unconfirmed.append(len(held))

        super().send(message, on_handover=watch)


def test_at_most_one_accepted_row_is_unconfirmed_at_any_hand_over(notify_engine):
    case_id = open_case(notify_engine)
    _enqueue(notify_engine, case_id, 6)
    transport = WatchingTransport(notify_engine)
    dispatch(notify_engine, now=NOW, config=smtp_config(), transport=transport, batch_size=4)
    # At each hand-over only the row being handed over is sent-but-claimed: the previous one was
    # confirmed in the same transaction.
    assert transport.unconfirmed and set(transport.unconfirmed) == {1}
