"""Mermaid state diagrams (``stateDiagram-v2``) generated from the transition tables.

Generated from the same tables the machines are built from, in table order, so the output is
deterministic and the README's pictures can be checked for drift (``tests/states/test_diagram.py``)
and rewritten (``gpv diagram --write-readme README.md``). Sub-processes show their start trigger
on the arrow from ``[*]``; final states lead to ``[*]``.

This module only turns text into text; reading and writing files is the command line's job.
"""

from __future__ import annotations

import re

from states.decision import Process
from states.errors import InputError
from states.processes.registry import DEFINITIONS

FENCE_OPEN = "```mermaid"
FENCE_CLOSE = "```"


def mermaid(process: Process) -> str:
    """The process as Mermaid ``stateDiagram-v2`` text (no fence, ends with a newline)."""
    defn = DEFINITIONS[Process(process)]
    lines = ["stateDiagram-v2"]
    start = f" : {defn.start_trigger}" if defn.start_trigger else ""
    lines.append(f"    [*] --> {defn.initial.value}{start}")
    for row in defn.transitions:
        for source in row.sources:
            lines.append(f"    {source.value} --> {row.dest.value} : {row.trigger}")
    for state, spec in defn.states.items():
        if spec.final:
            lines.append(f"    {state.value} --> [*]")
    return "\n".join(lines) + "\n"


def fenced(process: Process) -> str:
    """The diagram wrapped in a ```mermaid fence, as it stands in the README."""
    return f"{FENCE_OPEN}\n{mermaid(process)}{FENCE_CLOSE}\n"


def markers(process: Process) -> tuple[str, str]:
    """The README markers around one process's diagram."""
    return f"<!-- diagram:{process.value} -->", f"<!-- /diagram:{process.value} -->"


def _block_re(process: Process) -> re.Pattern[str]:
    start, end = markers(process)
    return re.compile(re.escape(start) + r"\n(.*?)" + re.escape(end), re.DOTALL)


def readme_block(text: str, process: Process) -> str | None:
    """What stands between the markers of ``process`` in ``text`` (None without markers)."""
    match = _block_re(process).search(text)
    return match.group(1) if match else None


def rewrite_readme(text: str) -> str:
    """``text`` with every marked diagram block replaced by the generated one. Raise InputError
    when a process has no markers (the README must say where its picture goes)."""
    missing = [p.value for p in Process if readme_block(text, p) is None]
    if missing:
        wanted = ", ".join(f"<!-- diagram:{m} --> … <!-- /diagram:{m} -->" for m in missing)
        raise InputError(f"Im README fehlen die Markierungen für: {wanted}.")
    for process in Process:
        start, end = markers(process)
        replacement = f"{start}\n{fenced(process)}{end}"
        text = _block_re(process).sub(lambda _m: replacement, text, count=1)  # noqa: B023
    return text


def all_diagrams() -> str:
    """Every process under a ``## <process>`` heading, each in a ```mermaid fence."""
    return "\n".join(f"## {process.value}\n\n{fenced(process)}" for process in Process)
