"""The outbox: rows written with the state change, each notice at most once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from notifications.policy import CaseView
from states.decision import NotificationEvent, Process
from states.errors import InputError
from workflows.store.outbox import OutboxRow, enqueue

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASE = CaseView("C-2026-000017", "lwl", "kamen", ("lwl",), False, True)
OVERDUE = NotificationEvent(
    "statement_overdue",
    Process.STATEMENT,
    {"responsible_party": "spdi", "due": datetime(2026, 3, 16, tzinfo=UTC).date()},
)


def _count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(OutboxRow)).all())


def _enqueue_twice(engine) -> tuple[list[OutboxRow], list[OutboxRow]]:
    SQLModel.metadata.create_all(engine, tables=[OutboxRow.__table__])
    with Session(engine, expire_on_commit=False) as session:
        first = enqueue(session, case=CASE, events=[OVERDUE], source_key="deadline:7", at=AT)
        session.commit()
    with Session(engine) as session:
        second = enqueue(session, case=CASE, events=[OVERDUE], source_key="deadline:7", at=AT)
        session.commit()
    return first, second


def test_enqueueing_the_same_source_twice_inserts_nothing_the_second_time_on_sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    first, second = _enqueue_twice(engine)
    assert [r.recipient_party for r in first] == [
        "spdi",
        "lwl",
        "lwl-leitung",
        "kreis-unna-leitung",
    ]
    assert second == []
    assert _count(engine) == 4


@pytest.mark.postgres
def test_enqueueing_the_same_source_twice_inserts_nothing_the_second_time_on_postgres(
    postgres_url,
):
    engine = create_engine(postgres_url)
    try:
        first, second = _enqueue_twice(engine)
        assert len(first) == 4 and second == []
        assert _count(engine) == 4
    finally:
        engine.dispose()


def test_rows_are_pending_with_a_readable_dedup_key_and_plain_json_context(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    first, _ = _enqueue_twice(engine)
    row = first[0]
    assert row.status == "pending" and row.attempts == 0 and row.channel is None
    assert row.dedup_key == "deadline:7:statement_overdue:responsible:spdi"
    assert row.context == {"responsible_party": "spdi", "due": "2026-03-16", "process": "statement"}
    assert row.created_at == AT


def test_a_context_with_health_data_is_refused(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    SQLModel.metadata.create_all(engine, tables=[OutboxRow.__table__])
    bad = NotificationEvent("statement_delivered", Process.STATEMENT, {"diagnosis": "F20.0"})
    with Session(engine) as session, pytest.raises(InputError, match="§ 35 SGB I"):
        enqueue(session, case=CASE, events=[bad], source_key="x", at=AT)


def test_enqueue_many_writes_the_same_rows_as_enqueue_in_one_batch_and_skips_known_sources(
    tmp_path,
):
    from workflows.store.outbox import Notices, enqueue_many

    engine = create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    first, _ = _enqueue_twice(engine)  # deadline:7 is already in the outbox
    other = CaseView("C-2026-000018", "kreis-unna", "unna", ("kreis-unna",), True, False)
    with Session(engine) as session:
        offered = enqueue_many(
            session,
            [
                Notices(CASE, [OVERDUE], "deadline:7"),  # known: inserts nothing
                Notices(CASE, [OVERDUE], "deadline:8"),
                Notices(other, [OVERDUE], "deadline:9"),
            ],
            at=AT,
        )
        session.commit()
    with Session(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(OutboxRow.id)).all()
    assert offered == 4 + 4 + len([r for r in rows if r.dedup_key.startswith("deadline:9:")])
    keys = [r.dedup_key for r in rows]
    assert len(keys) == len(set(keys))
    assert [r.dedup_key for r in rows[:4]] == [r.dedup_key for r in first]
    batch8 = [r for r in rows if r.dedup_key.startswith("deadline:8:")]
    assert [(r.recipient_party, r.template_id, r.context, r.status) for r in batch8] == [
        (r.recipient_party, r.template_id, r.context, r.status) for r in first
    ]
    assert {r.case_id for r in rows if r.dedup_key.startswith("deadline:9:")} == {other.case_id}


def test_enqueue_many_refuses_health_data_like_enqueue(tmp_path):
    from workflows.store.outbox import Notices, enqueue_many

    engine = create_engine(f"sqlite:///{tmp_path / 'o.db'}")
    SQLModel.metadata.create_all(engine, tables=[OutboxRow.__table__])
    bad = NotificationEvent("statement_delivered", Process.STATEMENT, {"diagnosis": "F20.0"})
    with Session(engine) as session, pytest.raises(InputError, match="§ 35 SGB I"):
        enqueue_many(session, [Notices(CASE, [bad], "x")], at=AT)
    assert _count(engine) == 0
