"""When an audit-anchor line reaches the disk (``GPV_AUDIT_ANCHOR_SYNC``, issue 11).

By default a line is written before the commit returns (it survives the process being killed) and
forced to disk by a background thread within 50 ms, one ``fsync`` for the lines of commits that
came close together, and at the latest when the process exits; ``commit`` forces every line
before the commit returns. ``os.fsync`` is watched (and still called) to see which happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from states.errors import ConfigError
from workflows.store import anchor

HEAD = "ab" * 32


@pytest.fixture
def anchor_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "anchor" / "audit-anchor.log"
    monkeypatch.setenv(anchor.ANCHOR_ENV, str(path))
    return path


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``os.fsync`` of the anchor module, by file size at the call; the real fsync runs."""
    calls: list[int] = []
    real = os.fsync

    def watched(fd: int) -> None:
        real(fd)
        calls.append(os.fstat(fd).st_size)

    monkeypatch.setattr(anchor.os, "fsync", watched)
    return calls


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_with_commit_every_line_is_forced_to_disk_before_write_returns(
    anchor_file: Path, fsyncs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(anchor.SYNC_ENV, "commit")
    anchor.write("sqlite:///x", 1, HEAD)
    created = len(fsyncs)  # the first line also forces the new file's folder
    anchor.write("sqlite:///x", 2, HEAD)
    anchor.write("sqlite:///x", 3, HEAD)
    assert len(fsyncs) == created + 2
    assert fsyncs[-1] == anchor_file.stat().st_size
    assert [line["id"] for line in _lines(anchor_file)] == [1, 2, 3]


def test_a_line_is_written_at_once_and_forced_to_disk_in_the_background_with_its_neighbours(
    anchor_file: Path, fsyncs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(anchor.SYNC_ENV, "1000")  # a wide window: the three lines fall in it
    anchor.write("sqlite:///x", 1, HEAD)  # creates the file: forced at once
    synced_at_creation = len(fsyncs)
    forced = threading.Event()
    real_flush = anchor._SYNCER.flush

    def flush_and_tell() -> None:
        real_flush()
        forced.set()

    monkeypatch.setattr(anchor._SYNCER, "flush", flush_and_tell)
    for last_id in (2, 3, 4):
        anchor.write("sqlite:///x", last_id, HEAD)
    # Written before write() returned: a process killed now loses nothing.
    assert [line["id"] for line in _lines(anchor_file)] == [1, 2, 3, 4]
    assert forced.wait(30), "the background thread never forced the lines to disk"
    # One fsync for the three lines, and it covered all of them.
    assert len(fsyncs) == synced_at_creation + 1
    assert fsyncs[-1] == anchor_file.stat().st_size


@pytest.mark.parametrize("value", ["0", "-5", "soon", "10001", "1.5"])
def test_a_sync_setting_that_is_neither_commit_nor_milliseconds_is_refused_naming_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(anchor.SYNC_ENV, value)
    with pytest.raises(ConfigError, match="GPV_AUDIT_ANCHOR_SYNC"):
        anchor.sync_policy()


def test_the_sync_setting_takes_commit_or_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(anchor.SYNC_ENV, " Commit ")
    assert anchor.sync_policy() is None
    monkeypatch.setenv(anchor.SYNC_ENV, "200")
    assert anchor.sync_policy() == 0.2
    monkeypatch.delenv(anchor.SYNC_ENV)
    assert anchor.sync_policy() == anchor.DEFAULT_SYNC_MS / 1000


_CHILD = """
import os, sys
from workflows.store import anchor
real = os.fsync
def watched(fd):
    real(fd)
    print("fsync", os.fstat(fd).st_size, flush=True)
anchor.os.fsync = watched
anchor.write("sqlite:///x", 1, "ab" * 32)
anchor.write("sqlite:///x", 2, "ab" * 32)
print("written", flush=True)
if sys.argv[1] == "kill":
    os._exit(0)  # no atexit: as if killed right after the commit returned
"""


def _child(mode: str, anchor_file: Path) -> list[str]:
    env = {**os.environ, anchor.ANCHOR_ENV: str(anchor_file), anchor.SYNC_ENV: "10000"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.split("\n")


def test_a_process_that_exits_forces_its_last_lines_to_disk_before_it_ends(
    anchor_file: Path,
) -> None:
    out = _child("exit", anchor_file)
    size = anchor_file.stat().st_size
    # The first line forced at creation; the second within 10 s, i.e. at exit.
    assert out[out.index("written") + 1] == f"fsync {size}"
    assert [line["id"] for line in _lines(anchor_file)] == [1, 2]


def test_a_killed_process_leaves_its_written_lines_in_the_anchor(anchor_file: Path) -> None:
    out = _child("kill", anchor_file)
    assert out[-1] == "" and out[-2] == "written"  # never forced after the second line
    assert [line["id"] for line in _lines(anchor_file)] == [1, 2]
