"""The dispatcher against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from notifications.policy import POLICY
from states.decision import NotificationEvent, Process
from tests.notifications.smtp_server import SmtpServer, smtp_server_fixture  # noqa: F401
from tests.workflows.notify_support import (
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.dispatch import dispatch, store_case
from workflows.store.outbox import enqueue, outbox_rows
from workflows.sweep import run_sweep

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def _bulk(engine, case_id: str, n: int) -> None:
    view = store_case(engine, case_id).view
    notice = NotificationEvent("statement_requested", Process.STATEMENT, {"due": "2026-03-17"})
    with Session(engine) as session:
        for i in range(n):
            enqueue(session, case=view, events=[notice], source_key=f"bulk:{i}", at=NOW)
        session.commit()


def _dispatch(engine, server: SmtpServer, now: datetime = NOW, **kw):
    return dispatch(
        engine, now=now, config=smtp_config(server.host, server.port),
        retry_base=timedelta(minutes=1), **kw,
    )  # fmt: skip


def test_a_server_answering_4xx_first_gets_every_message_once_after_retries(
    notify_engine, smtp_server
):
    case_id = open_case(notify_engine)
    _bulk(notify_engine, case_id, 5)
    smtp_server.handler.script = ["451 4.7.1 greylisted"] * 7
    now, totals = NOW, Counter()
    for _ in range(4):
        totals.update(_dispatch(notify_engine, smtp_server, now))
        now += timedelta(hours=1)
    rows = outbox_rows(notify_engine)
    assert {r["status"] for r in rows} == {"sent"}
    assert sorted(smtp_server.handler.message_ids) == sorted(r["message_id"] for r in rows)
    assert smtp_server.handler.duplicates() == {}
    assert totals["sent"] == 5 and totals["retrying"] == 7 and totals["failed"] == 0


def test_a_server_answering_5xx_yields_failed_rows_and_one_alert_each(notify_engine, smtp_server):
    case_id = open_case(notify_engine)
    _bulk(notify_engine, case_id, 2)
    smtp_server.handler.script = ["550 5.1.1 mailbox unknown"] * 2
    assert _dispatch(notify_engine, smtp_server) == {"sent": 2, "retrying": 0, "failed": 2}
    rows = outbox_rows(notify_engine)
    failed = [r for r in rows if r["status"] == "failed"]
    alerts = [r for r in rows if r["event"] == "delivery_failed"]
    assert len(failed) == 2 and all("550" in r["last_error"] for r in failed)
    assert [(a["recipient_party"], a["status"]) for a in alerts] == [("lwl-leitung", "sent")] * 2
    subjects = [str(m["Subject"]) for m in smtp_server.handler.messages]
    assert all(s.startswith("Nachricht nicht zustellbar") for s in subjects)


def test_every_event_of_the_policy_travels_from_trigger_to_the_smtp_server(
    notify_engine, smtp_server
):
    """End to end: fire triggers and sweeps through the store, then one dispatch run; each event
    of the policy reaches aiosmtpd (delivery_failed via one message the server refuses)."""
    from workflows import service

    def at(day: str, hour: int = 10) -> datetime:
        return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+01:00")

    def fire(case_id: str, trigger: str, day: str, **params: str) -> None:
        service.fire(notify_engine, case_id, trigger, params, at=at(day), by="fm")

    adult, minor, idle = (
        open_case(notify_engine),
        open_case(notify_engine, minor=True),
        open_case(notify_engine),
    )
    for case_id in (adult, minor):
        fire(case_id, "accept_jurisdiction", "2026-03-03")
    fire(adult, "request_statement", "2026-03-03")  # the first message: the one refused below
    forwarded = open_case(notify_engine, received_by="kreis-unna")  # routed to the LWL (C5)
    fire(forwarded, "forward", "2026-03-03", to="lwl")
    fire(adult, "cancel_statement", "2026-03-04")
    fire(adult, "request_statement", "2026-03-04")
    fire(adult, "decline_statement_request", "2026-03-05", reason="keine Kapazität")
    fire(adult, "request_statement", "2026-03-05")
    fire(adult, "accept_statement_request", "2026-03-05")
    fire(adult, "deliver_statement", "2026-03-06")
    fire(adult, "request_consent", "2026-03-06")
    fire(adult, "give_consent", "2026-03-09")
    fire(adult, "schedule_conference", "2026-03-09", date="2026-04-16T10:00", location="Unna")
    fire(adult, "reschedule_conference", "2026-03-10", date="2026-04-23T09:30", location="Unna")
    fire(adult, "cancel_conference", "2026-03-11")
    fire(adult, "request_housing_support", "2026-03-11")
    fire(minor, "request_statement", "2026-03-03")
    # A proposal the carrier turns down on a ground of § 119 Abs. 1 S. 3 SGB IX
    proposal = open_case(notify_engine)
    fire(proposal, "accept_jurisdiction", "2026-03-03")
    fire(proposal, "request_consent", "2026-03-04", proposed_by="person")
    fire(proposal, "refuse_proposal", "2026-03-05", ground="written_facts", reason="liegt vor")
    # A youth office's case under SGB VIII: the _sgb8 notices (states/law.py)
    youth = str(
        service.open_case(
            notify_engine, received=date(2026, 3, 2), birth_date=date(2014, 5, 5),
            municipality="kamen", disabilities="mental", benefit="school_assistant",
            school="in_school", contact_email="eltern@example.org", at=at("2026-03-02"), by="fm",
        )["id"]
    )  # fmt: skip
    fire(youth, "accept_jurisdiction", "2026-03-03")
    fire(youth, "request_statement", "2026-03-03")
    fire(youth, "cancel_statement", "2026-03-04")
    fire(youth, "request_consent", "2026-03-06")
    fire(youth, "give_consent", "2026-03-09")
    fire(youth, "schedule_conference", "2026-03-09", date="2026-04-16T10:00", location="Kamen")
    fire(youth, "reschedule_conference", "2026-03-10", date="2026-04-23T09:30", location="Kamen")
    fire(youth, "cancel_conference", "2026-03-11")
    for day in ("2026-03-12", "2026-03-13", "2026-03-20", "2026-04-01"):
        run_sweep(notify_engine, at(day, 7))
    fire(youth, "determine_benefits", "2026-04-02")
    fire(youth, "draw_up_plan", "2026-04-02", review="2026-09-30")
    fire(youth, "issue_decision", "2026-04-02", outcome="approval", approved_until="2027-03-31")
    run_sweep(notify_engine, at("2026-09-15", 7))  # the Hilfeplan's review is near
    fire(adult, "determine_benefits", "2026-03-12")
    fire(adult, "draw_up_plan", "2026-03-12", review="2028-03-10")
    fire(adult, "issue_decision", "2026-03-12", outcome="approval", approved_until="2028-03-15")
    run_sweep(notify_engine, at("2028-02-01", 7))
    run_sweep(notify_engine, at("2028-04-01", 7))
    assert idle  # its jurisdiction reminder comes from the sweep

    smtp_server.handler.script = ["550 5.1.1 mailbox unknown"]
    result = _dispatch(notify_engine, smtp_server, at("2028-04-01", 8))
    assert result["failed"] == 1 and result["retrying"] == 0

    received = set(smtp_server.handler.message_ids)
    rows = outbox_rows(notify_engine)
    delivered = {r["event"] for r in rows if r["message_id"] in received}
    # housing_overdue escalates only where the agreement file says so (test_housing_escalation)
    assert delivered == set(POLICY) - {"housing_overdue"}, set(POLICY) - delivered
    assert smtp_server.handler.duplicates() == {}
    assert {r["status"] for r in rows if r["event"] != "delivery_failed"} <= {"sent", "failed"}
