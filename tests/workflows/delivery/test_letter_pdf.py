"""Letters for posting as PDF (issue 12): letterhead and address block, the date in German, the
case reference, the custodians for a minor; read back with pypdf, and no health data in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import Session

from notifications.transport import RecordingTransport
from states.agreement import load_agreement
from states.decision import NotificationEvent, Process
from tests.notifications.samples import CONTEXTS
from tests.workflows.notify_support import (
    SENTINEL,
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.config import PartyAddress
from workflows.delivery.dispatch import dispatch, store_case
from workflows.delivery.letter_pdf import german_date
from workflows.store.outbox import enqueue

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
LWL = PartyAddress(
    email="fallmanagement@lwl.example", name="LWL Fallmanagement Eingliederungshilfe",
    contact_name="Frau Beispiel", phone="0251 591-01", street="Freiherr-vom-Stein-Platz 1",
    postcode="48147", town="Münster",
)  # fmt: skip


def _with_letterhead():
    config = smtp_config()
    parties = {**config.parties, "lwl": LWL}
    return type(config)(transport=config.transport, smtp=config.smtp, parties=parties)


def _send(engine, case_id, events=("consent_requested",), source="t", config=None) -> dict:
    contact = store_case(engine, case_id)
    notices = [NotificationEvent(e, Process.CASE, dict(CONTEXTS[e])) for e in events]
    with Session(engine, expire_on_commit=False) as session:
        enqueue(session, case=contact.view, events=notices, source_key=source, at=NOW)
        session.commit()
    config = config or _with_letterhead()
    return dispatch(engine, now=NOW, config=config, transport=RecordingTransport())


def _pdfs(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "letters" / "new").glob("*.pdf"))


def _text(pdf: Path) -> str:
    reader = PdfReader(pdf)
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_a_letter_is_also_written_as_a_pdf_with_letterhead_date_and_reference(
    notify_engine, tmp_path
):
    case_id = open_case(notify_engine, email=None)
    assert _send(notify_engine, case_id)["sent"] == 1
    (pdf,) = _pdfs(tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf.with_suffix(".txt").exists()  # the plain text stays beside it
    text = _text(pdf)
    lwl = load_agreement().parties["lwl"].name
    for expected in (
        lwl, "LWL Fallmanagement Eingliederungshilfe", "Freiherr-vom-Stein-Platz 1",
        "48147 Münster", "Frau Beispiel", "0251 591-01", "fallmanagement@lwl.example",
        case_id, "3. März 2026", "Münster, 3. März 2026", "Zustimmung",
        "(Anschrift aus der Akte)",
    ):  # fmt: skip
        assert expected in text, expected
    assert "Personensorgeberechtigten" not in text


def test_a_minors_letter_is_addressed_to_the_custodians(notify_engine, tmp_path):
    case_id = open_case(notify_engine, email=None, minor=True)
    assert _send(notify_engine, case_id)["sent"] == 1
    (pdf,) = _pdfs(tmp_path)
    text = _text(pdf)
    assert "An die Personensorgeberechtigten" in text
    assert f"des Kindes zum Aktenzeichen {case_id}" in text


def test_without_a_configured_letterhead_the_agreements_name_is_the_sender(notify_engine, tmp_path):
    case_id = open_case(notify_engine, email=None)
    assert _send(notify_engine, case_id, config=smtp_config())["sent"] == 1
    text = _text(_pdfs(tmp_path)[0])
    carrier = store_case(notify_engine, case_id).view.carrier
    assert load_agreement().parties[carrier].name in text
    assert case_id in text and "3. März 2026" in text
    assert "Frau Beispiel" not in text


def test_a_resent_letter_replaces_its_pdf_with_the_same_bytes(notify_engine, tmp_path):
    case_id = open_case(notify_engine, email=None)
    _send(notify_engine, case_id)
    (pdf,) = _pdfs(tmp_path)
    first = pdf.read_bytes()
    from workflows.store.outbox import OutboxRow

    with notify_engine.begin() as conn:  # as after a crash between hand-over and mark
        conn.execute(update(OutboxRow.__table__).values(status="pending", attempts=0))
    assert _send(notify_engine, case_id, events=())["sent"] == 1
    assert _pdfs(tmp_path) == [pdf]
    assert pdf.read_bytes() == first


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 1, 12, tzinfo=UTC), "1. Januar 2026"),
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), "31. Dezember 2026"),
        # 23:30 UTC on 31 December is already New Year's Day in Germany.
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "1. Januar 2027"),
        (datetime(2026, 3, 3, 8, tzinfo=UTC) + timedelta(days=1), "4. März 2026"),
    ],
)
def test_the_date_is_written_in_german_for_the_day_in_germany(moment, expected):
    assert german_date(moment) == expected


def test_no_pdf_letter_carries_health_data(notify_engine, tmp_path):
    """The sentinel test for the PDFs: every sensitive case field holds a diagnosis text; the
    text extracted from every letter (adult and minor, every event) and its metadata hold none."""
    from workflows.store.models import CaseRow

    adult = open_case(notify_engine, email=None)
    minor = open_case(notify_engine, email=None, minor=True)
    with notify_engine.begin() as conn:
        conn.execute(
            update(CaseRow.__table__).values(
                disabilities=SENTINEL, benefit=SENTINEL, person_ref=SENTINEL
            )
        )
    for case_id in (adult, minor):
        result = _send(notify_engine, case_id, events=tuple(CONTEXTS), source=f"s:{case_id}")
        assert result["failed"] == 0
    pdfs = _pdfs(tmp_path)
    assert len(pdfs) > 10  # something was really checked
    for pdf in pdfs:
        reader = PdfReader(pdf)
        texts = [_text(pdf), str(reader.metadata), pdf.read_bytes().decode("latin-1")]
        for text in texts:
            assert SENTINEL not in text
            assert "F20" not in text
            for birth in ("1990-05-05", "05.05.1990", "2014-05-05", "05.05.2014"):
                assert birth not in text
