"""Beyond one machine, locally: a Prefect server on PostgreSQL, a process work pool, two workers,
and the application database on PostgreSQL too (docs/scale-out.md).

Fifty-one cases are opened through the store's API. One ``accept_jurisdiction`` goes through the
pool alone (what a single ``gpv fire`` waits for), then fifty more are created at once as runs of
the ``fire-trigger`` deployment on the pool; the test waits for every run to finish and checks in
the application database that each trigger was applied exactly once, and in the workers' logs
that both workers took runs.

Everything it starts (server, workers, their flow-run processes) and both databases are removed
again, also when the test fails.
"""

from __future__ import annotations

import contextvars
import statistics
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BERLIN = ZoneInfo("Europe/Berlin")
BURST = 50
CASES = BURST + 1
TOWNS = ("Bergkamen", "Bönen", "Fröndenberg/Ruhr", "Holzwickede", "Kamen")
# Received on the last day of April; 1 May is a public holiday in NRW and 2/3 May 2026 a weekend,
# so the case manager accepts jurisdiction on Monday, 4 May.
RECEIVED = date(2026, 4, 30)
OPENED_AT = datetime(2026, 4, 30, 11, 0, tzinfo=BERLIN).astimezone(UTC)
ACCEPTED_AT = datetime(2026, 5, 4, 9, 30, tzinfo=BERLIN).astimezone(UTC)
RUNS_TIMEOUT_S = 600.0  # generous: a loaded 2-core CI machine, not a timing assertion


@dataclass
class Site:
    """What the fixture started: the server, the workers and the application database."""

    api_url: str
    engine: Any
    workers: Any


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    from workflows.orchestration.pool import WorkerGroup, deploy_to_pool, worker_environment
    from workflows.orchestration.server import PrefectServer, free_port, server_config
    from workflows.store.db import dispose_engines, ready_engine

    with ExitStack() as stack:
        prefect_db, prefect_url = create_postgres_database("gpv_prefect")
        stack.callback(drop_postgres_database, prefect_db)
        app_db, app_url = create_postgres_database("gpv_app")
        stack.callback(drop_postgres_database, app_db)
        stack.callback(dispose_engines)

        data = tmp_path / "data"
        server = PrefectServer(
            server_config(
                data_dir=data,
                port=free_port(),
                # Prefect's server speaks asyncpg, the application psycopg 3.
                database_url=prefect_url.replace("+psycopg://", "+asyncpg://"),
            )
        )
        stack.callback(server.stop)
        server.start()
        assert not server.reused

        import prefect.settings as ps

        stack.enter_context(
            ps.temporary_settings(
                updates={
                    ps.PREFECT_API_URL: server.api_url,
                    ps.PREFECT_HOME: str(server.config.home),
                }
            )
        )
        engine = ready_engine(app_url)
        deploy_to_pool("gpv-test-pool", names=["fire-trigger"])
        workers = WorkerGroup(
            pool="gpv-test-pool",
            env=worker_environment(server.api_url, database_url=app_url, data_dir=data),
            log_dir=tmp_path / "workers",
            count=2,
            limit=3,
        )
        stack.callback(workers.stop)
        workers.start()
        yield Site(api_url=server.api_url, engine=engine, workers=workers)


def _open_cases(engine: Any) -> list[str]:
    from workflows import service

    ids = []
    for n in range(CASES):
        case = service.open_case(
            engine,
            received=RECEIVED,
            birth_date=date(1980 + n % 20, 1 + n % 12, 1 + n % 28),
            municipality=TOWNS[n % len(TOWNS)],
            disabilities="mental",
            benefit="supported_living",
            school_finished=date(2000 + n % 20, 7, 1),
            person_ref=f"SCALE-{n + 1:03d}",
            contact_email=None,
            at=OPENED_AT,
            by="fm-scale",
        )
        ids.append(case["id"])
    return ids


def _wait_final(run_ids: list[Any]) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + RUNS_TIMEOUT_S
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)), limit=len(run_ids)
            )
            if len(runs) == len(run_ids) and all(r.state and r.state.is_final() for r in runs):
                return runs
            if time.monotonic() > deadline:
                pending = [r.name for r in runs if not (r.state and r.state.is_final())]
                pytest.fail(f"{len(pending)} runs not finished after {RUNS_TIMEOUT_S:.0f} s")
            time.sleep(1.0)


def _fire(engine: Any, case_id: str) -> Any:
    """Keep the request and create one ``fire-trigger`` run on the pool, as ``gpv fire`` does,
    without waiting."""
    from prefect.deployments import run_deployment

    from workflows.orchestration import submit as orchestration
    from workflows.store.step_requests import store_request

    request = store_request(engine, case_id, "accept_jurisdiction", {}, at=ACCEPTED_AT, by="fm")
    return run_deployment(
        orchestration.FIRE_DEPLOYMENT,
        parameters=orchestration.fire_parameters(request, case_id, "accept_jurisdiction"),
        flow_run_name=orchestration.run_name("accept_jurisdiction", case_id),
        tags=orchestration.run_tags(case_id, "accept_jurisdiction", "lwl"),
        timeout=0,
    )


def _seconds(values: Iterable[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 2), "max": round(ordered[-1], 2)}


def test_fifty_triggers_through_the_work_pool_are_each_applied_exactly_once(
    site: Site, record_property: Any
) -> None:
    from workflows.orchestration.pool import submitted_runs
    from workflows.store.models import AuditRow, CaseRow

    case_ids = _open_cases(site.engine)
    single_id, burst_ids = case_ids[0], case_ids[1:]

    (single,) = _wait_final([_fire(site.engine, single_id).id])

    began = time.monotonic()
    # Several clients at once, as several case managers would; each thread gets a copy of the
    # context, which holds the Prefect settings (the API URL).
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, _fire, site.engine, c) for c in burst_ids
        ]
        created = [f.result() for f in futures]
    submit_s = time.monotonic() - began
    runs = _wait_final([r.id for r in created])
    wall_s = time.monotonic() - began

    not_completed = {r.name: r.state.name for r in [single, *runs] if not r.state.is_completed()}
    assert not_completed == {}

    with site.engine.connect() as conn:
        applied = dict(
            conn.execute(
                select(AuditRow.case_id, func.count())
                .where(AuditRow.trigger == "accept_jurisdiction")
                .group_by(AuditRow.case_id)
            ).all()
        )
        cases = {
            row.id: (row.version, row.status)
            for row in conn.execute(select(CaseRow.id, CaseRow.version, CaseRow.status))
        }
    assert applied == dict.fromkeys(case_ids, 1)
    assert cases == dict.fromkeys(case_ids, (2, "assessment"))

    by_worker = submitted_runs(site.workers)
    taken = {str(r.id): by_worker.get(str(r.id)) for r in runs}
    assert None not in taken.values(), "every run is named in a worker's log"
    assert set(taken.values()) == set(site.workers.names), "both workers took runs"

    figures = {
        "single_latency_s": round((single.end_time - single.created).total_seconds(), 2),
        "single_run_s": round((single.end_time - single.start_time).total_seconds(), 2),
        "burst_runs": len(runs),
        "burst_submit_s": round(submit_s, 1),
        "burst_wall_s": round(wall_s, 1),
        "burst_latency_s": _seconds((r.end_time - r.created).total_seconds() for r in runs),
        "burst_until_running_s": _seconds((r.start_time - r.created).total_seconds() for r in runs),
        "burst_run_s": _seconds((r.end_time - r.start_time).total_seconds() for r in runs),
        "per_worker": {n: list(taken.values()).count(n) for n in site.workers.names},
    }
    record_property("scale_out", figures)
    print(f"\nscale-out figures: {figures}")
