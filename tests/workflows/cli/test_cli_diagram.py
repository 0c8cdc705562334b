"""``gpv diagram``: its help follows the processes the rules declare."""

from __future__ import annotations

from states.decision import Process
from workflows.cli.diagram import _process_help


def test_the_diagram_help_names_every_declared_process_in_order() -> None:
    names = [p.value for p in Process]
    listed = _process_help().split(";")[0]
    assert listed == f"{', '.join(names[:-1])} oder {names[-1]}"
