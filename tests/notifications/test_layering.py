"""notifications/ stays a pure layer: no database, no Prefect, no workflows import."""

from __future__ import annotations

import subprocess
import sys


def test_importing_notifications_loads_neither_the_database_nor_prefect_nor_the_shell():
    code = (
        "import sys\n"
        "import notifications.policy, notifications.rendering, notifications.ics\n"
        "import notifications.message, notifications.transport\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy', 'sqlmodel', 'prefect', 'workflows'}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_event_table_and_the_policy_load_neither_jinja2_nor_icalendar():
    code = (
        "import sys\n"
        "import notifications.events, notifications.policy\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'jinja2', 'icalendar'})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
