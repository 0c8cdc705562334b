"""Shared helpers of the workflow tests: Berlin times, a migrated store, opening a case.

The fixtures (``engine``: a migrated SQLite store; ``db_url``: the same on SQLite and on
PostgreSQL) apply to every test module below; a module that defines its own fixture of the same
name keeps it. The plain helpers are imported like the others in ``tests/``
(``from tests.workflows.conftest import open_case, berlin``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from states.calendar import BERLIN


def berlin(stamp: str) -> datetime:
    """An ISO timestamp without zone, read as Europe/Berlin time."""
    return datetime.fromisoformat(stamp).replace(tzinfo=BERLIN)


def noon(day: str) -> datetime:
    """12:00 Europe/Berlin on ``day`` (ISO date)."""
    return berlin(f"{day}T12:00")


#: The person most tests open a case for: an adult in Unna with a mental disability who applies
#: for supported living, so the LWL is the carrier.
ADULT: dict[str, Any] = {
    "birth_date": date(1990, 5, 17),
    "municipality": "Unna",
    "disabilities": "mental",
    "benefit": "supported_living",
}


def open_case(
    engine: Engine,
    received: date | str = "2026-03-02",
    *,
    at: datetime | None = None,
    by: str = "fm",
    **overrides: Any,
) -> str:
    """Open a case for :data:`ADULT` received on ``received``, recorded at noon that day unless
    ``at`` is given; ``overrides`` replace any other argument of ``service.open_case``. Returns
    the case id."""
    from workflows import service

    day = date.fromisoformat(received) if isinstance(received, str) else received
    args = {**ADULT, "received": day, "at": at or noon(day.isoformat()), "by": by, **overrides}
    return str(service.open_case(engine, **args)["id"])


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """A migrated SQLite store in the test's own folder."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    eng = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    migrate(eng)
    yield eng
    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of a migrated store, once on SQLite and once on PostgreSQL."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    url = (
        f"sqlite:///{tmp_path / 'gpv.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    migrate(get_engine(url))
    yield url
    dispose_engines()
