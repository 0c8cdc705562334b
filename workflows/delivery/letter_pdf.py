"""Letters for posting as PDF (issue 12): the carrier's letterhead and address block, the date in
German, the case reference and the notice's text.

A person without an e-mail address gets the notice by post. gpv stores neither a name nor a postal
address (data minimisation), so the address block names the case reference and leaves the address
to the file ("Anschrift aus der Akte"); a minor's letter is addressed to the custodians
("An die Personensorgeberechtigten", legal-review m5) and speaks about the child. The text is the
rendered notice, which carries no health data by construction (:class:`notifications.policy.
CaseView`); nothing else of the case reaches the page.

The sender is the carrier that leads the case: its name from the agreement, its letterhead from
``gpv.toml`` ``[parties.<id>]`` (``name``, ``street``, ``postcode``, ``town``, ``contact_name``,
``phone``, ``email``; :mod:`workflows.delivery.config`). Without a configured address the page
shows the agreement's name only.

Typeset with ReportLab's platypus in the PDF standard font Helvetica (WinAnsi: every character of
the templates, umlauts, ß, §, dashes and German quotes); ``invariant`` makes the same letter the
same bytes, so a re-send after a crash writes the identical file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from workflows.delivery.config import PartyAddress

BERLIN = ZoneInfo("Europe/Berlin")
CUSTODIANS = "An die Personensorgeberechtigten"
MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=10.5, leading=14)
_STYLES = {
    "head": ParagraphStyle("head", _BASE, fontName="Helvetica-Bold", fontSize=15, leading=19),
    "unit": ParagraphStyle("unit", _BASE, fontSize=9.5, leading=12),
    "return": ParagraphStyle("return", _BASE, fontSize=7, leading=9, underlineWidth=0.4),
    "address": _BASE,
    "info": ParagraphStyle("info", _BASE, fontSize=9, leading=12),
    "subject": ParagraphStyle("subject", _BASE, fontName="Helvetica-Bold", spaceAfter=10),
    "body": ParagraphStyle("body", _BASE, spaceAfter=8),
}


def german_date(moment: datetime) -> str:
    """The day of ``moment`` in Germany, as a letter writes it: „3. März 2026“."""
    day = moment.astimezone(BERLIN).date()
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Letterhead:
    """The sender: the carrier's name from the agreement and what ``gpv.toml`` adds."""

    carrier_name: str
    address: PartyAddress | None = None

    @property
    def unit(self) -> str | None:
        """The configured name (e.g. „LWL Fallmanagement“) when it differs from the carrier's."""
        name = self.address.name if self.address else None
        return name if name and name != self.carrier_name else None

    @property
    def postal_lines(self) -> list[str]:
        a = self.address
        if a is None:
            return []
        town = " ".join(part for part in (a.postcode, a.town) if part)
        return [line for line in (a.street, town) if line]

    @property
    def town(self) -> str | None:
        return self.address.town if self.address else None


@dataclass(frozen=True)
class Letter:
    """One letter: who sends it, about which case, to whom, when, and the notice's text."""

    letterhead: Letterhead
    case_ref: str
    about_child: bool
    date: datetime
    subject: str
    text: str


def letterhead_for(carrier: str, agreement: Any, address: PartyAddress | None) -> Letterhead:
    """The carrier's letterhead; a default address (file transport, nothing configured) adds
    nothing."""
    known = agreement.parties.get(carrier)
    name = str(getattr(known, "name", None) or carrier)
    return Letterhead(name, None if address is None or address.is_default else address)


def _para(text: str, style: str) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), _STYLES[style])


def _address_block(letter: Letter) -> list[Flowable]:
    head = letter.letterhead
    sender = " · ".join([head.carrier_name, *head.postal_lines])
    recipient = [CUSTODIANS] if letter.about_child else []
    recipient += [
        f"{'des Kindes' if letter.about_child else 'der Person'} zum Aktenzeichen "
        f"{letter.case_ref}",
        "(Anschrift aus der Akte)",
    ]
    return [
        Paragraph(f"<u>{escape(sender)}</u>", _STYLES["return"]),
        Spacer(1, 3 * mm),
        _para("\n".join(recipient), "address"),
    ]


def _info_block(letter: Letter) -> list[Flowable]:
    a = letter.letterhead.address
    rows = [("Ihr Zeichen bei uns", letter.case_ref)]
    if a is not None:
        rows += [
            (label, value)
            for label, value in (
                ("Ansprechpartnerin/-partner", a.contact_name),
                ("Telefon", a.phone),
                ("E-Mail", a.email),
            )
            if value
        ]
    rows.append(("Datum", german_date(letter.date)))
    return [_para(f"{label}:\n{value}", "info") for label, value in rows]


def _flowables(letter: Letter) -> list[Flowable]:
    head = letter.letterhead
    top: list[Flowable] = [_para(head.carrier_name, "head")]
    below = [line for line in (head.unit, " · ".join(head.postal_lines)) if line]
    if below:
        top.append(_para("\n".join(below), "unit"))
    blocks = Table(
        [[_address_block(letter), _info_block(letter)]],
        colWidths=[95 * mm, 65 * mm],
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]),
    )
    dated = f"{head.town}, {german_date(letter.date)}" if head.town else german_date(letter.date)
    paragraphs = [p.strip("\n") for p in letter.text.replace("\r\n", "\n").split("\n\n")]
    return [
        *top,
        Spacer(1, 12 * mm),
        blocks,
        Spacer(1, 10 * mm),
        Paragraph(escape(dated), ParagraphStyle("dated", _BASE, alignment=2)),
        Spacer(1, 6 * mm),
        _para(letter.subject, "subject"),
        *(_para(p, "body") for p in paragraphs if p.strip()),
    ]


def render_pdf(letter: Letter) -> bytes:
    """The letter as a PDF (A4, DIN 5008 margins), the case reference and page in the footer."""
    out = io.BytesIO()

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(25 * mm, 12 * mm, f"Aktenzeichen {letter.case_ref} – Seite {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=25 * mm, rightMargin=20 * mm, topMargin=15 * mm,
        bottomMargin=25 * mm, title=f"Brief zum Aktenzeichen {letter.case_ref}",
        author=letter.letterhead.carrier_name, creator="gpv", invariant=True,
    )  # fmt: skip
    doc.build(_flowables(letter), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
