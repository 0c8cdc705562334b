"""Consent decides who is told (issue 10, legal-review M2-M4), checked where it matters: on the
wire. A real SMTP server on loopback records every message; a party the person has not agreed to
involve receives nothing about the case, not even its reference, until the consent is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.notifications.smtp_server import SmtpServer, smtp_server_fixture  # noqa: F401
from tests.workflows.notify_support import notify_engine_fixture, smtp_config  # noqa: F401
from workflows.delivery.dispatch import dispatch
from workflows.involvement import record_consent

ADDRESSES = {
    "lwl": "fallmanagement@lwl.example",
    "spdi": "spdi@kreis-unna.example",
    "jobcenter-kreis-unna": "team@jobcenter.example",
    "jugendamt-kamen": "jugendamt@kamen.example",
}


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def _fire(engine, case_id: str, trigger: str, day: int, **params: str) -> None:
    from workflows import service

    service.fire(engine, case_id, trigger, params, at=_at(day), by="fm")


def _deliver(engine, server: SmtpServer, day: int) -> None:
    config = smtp_config(server.host, server.port, **ADDRESSES)
    dispatch(engine, now=_at(day, 18), config=config, retry_base=timedelta(minutes=1))


def _mail_for(server: SmtpServer, party: str) -> list[str]:
    """Everything a party's mailbox received, as text (headers, bodies, attachments)."""
    address = ADDRESSES[party]
    return [
        message.as_string()
        for message, (_, rcpt) in zip(
            server.handler.messages, server.handler.envelopes, strict=True
        )
        if address in rcpt
    ]


def _open(engine, **facts) -> str:
    from workflows import service

    case = service.open_case(
        engine, received=date(2026, 3, 2), contact_email="person@example.org",
        at=_at(2), by="fm", **facts,
    )  # fmt: skip
    return str(case["id"])


def test_the_jobcenter_and_the_spdi_hear_nothing_of_a_conference_without_consent(
    notify_engine, smtp_server
):
    """An adult with a mental disability applying for the sheltered workshop: routing proposes
    the SPDI and the Jobcenter (§ 22 Abs. 4 SGB IX). Nobody asked the person: no message to them
    (checked on the SMTP side, by case reference); after the consent for the Jobcenter only the
    Jobcenter hears of the rescheduled conference; the SPDI hears of its requested statement."""
    case_id = _open(
        notify_engine, birth_date=date(1990, 5, 17), municipality="Kamen",
        disabilities="mental", benefit="sheltered_workshop", school="finished",
    )  # fmt: skip
    _fire(notify_engine, case_id, "accept_jurisdiction", 3)
    _fire(notify_engine, case_id, "request_consent", 4)
    _fire(notify_engine, case_id, "give_consent", 5)
    _fire(notify_engine, case_id, "schedule_conference", 5, date="2026-03-20T10:00", location="R 2")
    _deliver(notify_engine, smtp_server, 5)
    assert smtp_server.handler.count >= 2  # the person's letters and the carrier's invitation
    assert _mail_for(smtp_server, "jobcenter-kreis-unna") == []
    assert _mail_for(smtp_server, "spdi") == []

    record_consent(notify_engine, case_id, "jobcenter-kreis-unna", "erteilt", at=_at(6), by="fm")
    _fire(
        notify_engine, case_id, "reschedule_conference", 6, date="2026-03-23T10:00", location="R 3"
    )
    _fire(notify_engine, case_id, "request_statement", 6)
    _deliver(notify_engine, smtp_server, 6)
    (jobcenter,) = _mail_for(smtp_server, "jobcenter-kreis-unna")
    assert case_id in jobcenter and "verlegt" in jobcenter
    (spdi,) = _mail_for(smtp_server, "spdi")
    assert case_id in spdi and "Stellungnahme" in spdi  # the task the carrier requested


def test_a_minors_youth_office_hears_nothing_before_the_custodians_agree(
    notify_engine, smtp_server
):
    """§ 117 Abs. 6 SGB IX [U], legal-review M3: the Kamen youth office is not told of the consent
    request, the conference or the forwarding of a Kamen minor's case until the custodians agree."""
    case_id = _open(
        notify_engine, birth_date=date(2014, 5, 5), municipality="Kamen",
        disabilities="intellectual", benefit="school_assistant", school="in_school",
    )  # fmt: skip
    _fire(notify_engine, case_id, "accept_jurisdiction", 3)
    _fire(notify_engine, case_id, "request_consent", 4)
    _fire(notify_engine, case_id, "give_consent", 5)
    _deliver(notify_engine, smtp_server, 5)
    assert _mail_for(smtp_server, "jugendamt-kamen") == []

    record_consent(notify_engine, case_id, "jugendamt-kamen", "erteilt", at=_at(6), by="fm")
    _fire(notify_engine, case_id, "schedule_conference", 6, date="2026-03-20T10:00", location="R 2")
    _deliver(notify_engine, smtp_server, 6)
    (invitation,) = _mail_for(smtp_server, "jugendamt-kamen")
    assert case_id in invitation

    record_consent(notify_engine, case_id, "jugendamt-kamen", "widerrufen", at=_at(9), by="fm")
    _fire(notify_engine, case_id, "cancel_conference", 9)
    _deliver(notify_engine, smtp_server, 9)
    assert len(_mail_for(smtp_server, "jugendamt-kamen")) == 1  # nothing after the revocation
