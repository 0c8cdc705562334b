"""Child processes in their own process group: the Prefect server (:mod:`.server`) and the pool's
workers (:mod:`.pool`) are started with ``start_new_session=True`` and stopped through the group,
so nothing they spawned survives them."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group ``pgid``; a group that is gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a child's log, for an error message."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(kein Protokoll)"
