"""The functional core stays pure: importing ``states`` loads no shell, database or network code."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("prefect", "sqlalchemy", "sqlmodel", "smtplib", "httpx", "psycopg", "typer")

_PROBE = """
import importlib, json, pkgutil, sys
import states
names = ["states"]
for info in pkgutil.walk_packages(states.__path__, "states."):
    importlib.import_module(info.name)
    names.append(info.name)
from states.agreement import load_agreement
load_agreement()
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_every_states_module_loads_no_shell_database_or_network_library():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"states.calendar", "states.agreement", "states.deadlines", "states.routing"} <= set(
        report["imported"]
    )
    leaked = sorted(name for name in report["loaded"] if name.split(".")[0] in FORBIDDEN)
    assert leaked == []
