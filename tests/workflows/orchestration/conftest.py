"""ONE Prefect test harness per test session, shared by every flow test.

The harness is Prefect's own (:func:`prefect.testing.utilities.prefect_test_harness`: a real API
server in a subprocess on a temporary SQLite database). Measured costs decide its settings
(docs: architecture.md, Prefect): it is slow to start, so it is started once; the
TaskRunRecorder and EventPersister services are off (they only cause SQLite lock retries here; no
test reads task runs or stored events), and flow-run heartbeats are off (a sync flow run would
otherwise wait to join the heartbeat thread). Automations (ReactiveTriggers, Actions) stay on: a
test needs them.

Each test gets its own application database (``app_engine``) in its own data folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HARNESS_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": False,
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": False,
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": None,
    "PREFECT_SERVER_ANALYTICS_ENABLED": False,
    "PREFECT_LOGGING_TO_API_ENABLED": False,
}


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the shared harness on first use; yields the API URL."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import prefect.settings as ps
    from prefect.testing.utilities import prefect_test_harness

    updates: dict[Any, Any] = {getattr(ps, name): value for name, value in HARNESS_SETTINGS.items()}
    updates[ps.PREFECT_HOME] = str(home)
    with ps.temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=90):
        yield str(ps.PREFECT_API_URL.value())


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh, migrated application database in this test's own data folder (no Prefect)."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("GPV_DATA_DIR", str(data))
    monkeypatch.setenv("GPV_DATABASE_URL", f"sqlite:///{data / 'gpv.db'}")
    from workflows.store.db import dispose_engines, ready_engine

    engine = ready_engine()
    yield engine
    dispose_engines()


@pytest.fixture
def app_engine(app_db: Any, prefect_harness: str) -> Any:
    """The application database, with the shared Prefect harness running."""
    return app_db
