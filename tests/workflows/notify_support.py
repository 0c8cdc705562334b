"""Shared pieces of the notification tests: a migrated store in a temp folder, cases, config."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from workflows.delivery.config import Config, PartyAddress, SmtpSettings, TransportKind

OPENED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENTINEL = "SENTINEL-F20.0-Diagnose"
ENV_VARS = (
    "GPV_CONFIG", "GPV_TRANSPORT", "GPV_SMTP_HOST", "GPV_SMTP_PORT", "GPV_SMTP_STARTTLS",
    "GPV_SMTP_TLS", "GPV_SMTP_USER", "GPV_SMTP_PASSWORD", "GPV_SMTP_FROM", "GPV_DATABASE_URL",
    "GPV_AGREEMENT",
)  # fmt: skip


@pytest.fixture(name="notify_engine")
def notify_engine_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A migrated SQLite store in a fresh data folder (mail and letters go there too)."""
    from workflows.store.db import dispose_engines, ready_engine

    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    dispose_engines()
    engine = ready_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    try:
        yield engine
    finally:
        dispose_engines()


def open_case(
    engine: Any,
    *,
    email: str | None = "person@example.org",
    minor: bool = False,
    municipality: str = "kamen",
    received: date = date(2026, 3, 2),
    received_by: str | None = None,
) -> str:
    from workflows import service

    birth = date(2014, 5, 5) if minor else date(1990, 5, 5)
    case = service.open_case(
        engine, received=received, birth_date=birth, municipality=municipality,
        disabilities="intellectual" if minor else "mental",
        benefit="school_assistant" if minor else "supported_living",
        school="in_school" if minor else None,
        contact_email=email, received_by=received_by, at=OPENED_AT, by="test",
    )  # fmt: skip
    return str(case["id"])


def smtp_config(host: str = "127.0.0.1", port: int = 25, **parties: str) -> Config:
    from states.agreement import load_agreement

    addresses = {p: PartyAddress(email=f"{p}@partner.example") for p in load_agreement().parties}
    addresses.update({p: PartyAddress(email=e) for p, e in parties.items()})
    return Config(
        transport=TransportKind.SMTP,
        smtp=SmtpSettings(host=host, port=port, from_address="gpv@lwl.example", timeout=5),
        parties=addresses,
    )
