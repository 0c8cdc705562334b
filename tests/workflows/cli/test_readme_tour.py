"""The README's tour for case managers is a specification: every command in it must work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## A tour for case managers", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    block = block.replace("\\\n", " ")
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_every_command_of_the_readme_tour_succeeds_in_a_fresh_data_folder(tmp_path):
    gpv = shutil.which("gpv", path=str(Path(sys.executable).parent))
    assert gpv, "the gpv console script is installed next to the interpreter"
    env = {
        **os.environ,
        "GPV_DATA_DIR": str(tmp_path),
        "PATH": f"{Path(gpv).parent}:{os.environ['PATH']}",
    }
    env.pop("PREFECT_API_URL", None)
    env.pop("GPV_PREFECT_URL", None)
    commands = tour_commands()
    assert len(commands) >= 15
    for command in commands:
        done = subprocess.run(
            command, shell=True, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (command, done.stderr)
        assert "Traceback" not in done.stderr
    assert "unversehrt" in done.stdout  # the last command verifies the audit chain
    shown = subprocess.run(
        ["gpv", "case", "show", "C-2026-000001", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    decision = [
        (d["variant"], d["due"], d["status"])
        for d in json.loads(shown.stdout)["deadlines"]
        if d["rule"] == "decision"
    ]
    # § 14 Abs. 2 S. 2 replaced by the Gutachten, S. 3 by the conference (§ 15 Abs. 4 S. 2,
    # § 120 Abs. 1 SGB IX): the Bescheid of 2026-04-17 is on time (legal-review S1, C2).
    assert decision == [
        ("standard", "2026-03-23", "superseded"),
        ("after_statement", "2026-04-02", "superseded"),
        ("conference", "2026-05-04", "met"),
    ]
