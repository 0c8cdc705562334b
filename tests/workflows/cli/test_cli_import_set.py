"""The quick commands stay quick (issue 11): what ``gpv deadline``, ``gpv route`` and
``gpv --help`` load, checked as the set of modules in a fresh interpreter, never as a time
(``bench/startup.py`` measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries a rule command never needs: the store, templates and calendars, Prefect, the web.
HEAVY = (
    "sqlalchemy", "sqlmodel", "alembic", "psycopg", "jinja2", "icalendar", "prefect", "fastapi",
    "starlette", "uvicorn", "argon2", "transitions",
)  # fmt: skip

_PROBE = """
import contextlib, io, json, sys
sys.argv = ["gpv", *json.loads(sys.argv[1])]
from workflows.cli import main
code = 0
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
print(json.dumps({"code": code, "loaded": sorted(sys.modules)}))
"""

ROUTE = [
    "route", "--birth-date", "2012-03-04", "--municipality", "Bönen", "--disability", "mental",
    "--benefit", "school_assistant", "--school", "in-school", "--on", "2026-11-29",
]  # fmt: skip


def _loaded_by(args: list[str], tmp_path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "GPV_DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return set(report["loaded"])


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["deadline", "--from", "2025-12-11", "--period", "2w"], id="deadline"),
        pytest.param(["deadline", "--from", "2025-12-11", "--rule", "decision"], id="rule"),
        pytest.param(ROUTE, id="route"),
        pytest.param(["--help"], id="help"),
    ],
)
def test_a_rule_command_loads_no_store_template_prefect_or_web_library(args, tmp_path):
    top_level = {name.split(".")[0] for name in _loaded_by(args, tmp_path)}
    assert sorted(top_level & set(HEAVY)) == []


def test_gpv_deadline_does_not_build_the_other_command_groups(tmp_path):
    loaded = _loaded_by(["deadline", "--from", "2025-12-11", "--period", "2w"], tmp_path)
    assert "workflows.cli.rules" in loaded
    assert not {"workflows.cli.cases", "workflows.cli.notify", "workflows.cli.users"} & loaded
    assert "rich" not in {name.split(".")[0] for name in loaded}  # only help pages use rich
