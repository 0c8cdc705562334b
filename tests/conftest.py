"""Shared test fixtures: a real PostgreSQL database per test that asks for one.

On a machine without PostgreSQL the tests marked ``postgres`` skip; with ``GPV_REQUIRE_POSTGRES=1``
(set by ``.ci/run``) they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings

# No timing assertions, not even Hypothesis's per-example deadline: these machines are shared and
# noisy, and a slow example is not a wrong one.
settings.register_profile("gpv", deadline=None)
settings.load_profile("gpv")

PG_HOST = os.environ.get("GPV_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GPV_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("GPV_TEST_PG_USER", "postgres")


def _admin_conninfo(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=3"


def _postgres_available() -> str | None:
    """None when a server answers, otherwise the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: no usable server
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer ({type(exc).__name__}: {exc})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("postgres") for item in items):
        return
    reason = _postgres_available()
    if reason is None:
        return
    if os.environ.get("GPV_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError(f"GPV_REQUIRE_POSTGRES=1 but {reason}")
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def create_postgres_database(prefix: str = "gpv_test") -> tuple[str, str]:
    """Create a fresh, uniquely named database; returns (name, SQLAlchemy URL)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _test_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A data folder for the whole session, so that nothing writes into the checkout's ``.gpv``
    (every commit appends to the audit anchor there; its lines name their database, so tests
    sharing the folder stay apart). A test that sets ``GPV_DATA_DIR`` itself overrides it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GPV_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        patch.delenv("GPV_AUDIT_ANCHOR", raising=False)
        patch.delenv("GPV_AUDIT_ANCHOR_SYNC", raising=False)
        yield


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL to a new, empty PostgreSQL database, dropped after the test."""
    name, url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)
