"""The store stays below the shell: importing it loads neither Prefect nor the command line, and
its rules for writing a step (``rows``, ``sweep_rule``, ``json_values``) not even the database
library."""

from __future__ import annotations

import json
import subprocess
import sys

SHELL = ("prefect", "typer")
DATABASE = ("sqlalchemy", "sqlmodel", "psycopg", "alembic")

_PROBE = """
import importlib, json, pkgutil, sys
import {package}
names = [{package!r}]
path = getattr({package}, "__path__", None)
for info in pkgutil.walk_packages(path or [], {package!r} + "."):
    if ".migrations" in info.name:  # Alembic's env.py runs only inside Alembic
        continue
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({{"imported": names, "loaded": sorted(sys.modules)}}))
"""


def _import_in_a_fresh_interpreter(package: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(package=package)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _leaked(report: dict, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in report["loaded"] if name.split(".")[0] in forbidden)


def test_importing_every_store_module_loads_neither_prefect_nor_typer():
    report = _import_in_a_fresh_interpreter("workflows.store")
    assert {
        "workflows.store.audit",
        "workflows.store.cases",
        "workflows.store.db",
        "workflows.store.json_values",
        "workflows.store.models",
        "workflows.store.outbox",
        "workflows.store.rows",
        "workflows.store.sweep_rule",
    } <= set(report["imported"])
    assert _leaked(report, SHELL) == []


def test_the_rule_for_writing_a_step_loads_no_database_library_either():
    for module in (
        "workflows.store.rows",
        "workflows.store.sweep_rule",
        "workflows.store.json_values",
    ):
        report = _import_in_a_fresh_interpreter(module)
        assert _leaked(report, SHELL + DATABASE) == [], module
