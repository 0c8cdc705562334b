"""The Mermaid diagrams come from the tables, are deterministic, and the README's copies match."""

from __future__ import annotations

from pathlib import Path

import pytest

from states.decision import Process
from states.diagram import fenced, markers, mermaid, readme_block, rewrite_readme
from states.errors import InputError
from states.processes.registry import DEFINITIONS
from workflows.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("process", list(Process))
def test_the_diagram_shows_every_transition_of_the_table(process: Process) -> None:
    text = mermaid(process)
    assert text.startswith("stateDiagram-v2\n")
    defn = DEFINITIONS[process]
    for row in defn.transitions:
        for source in row.sources:
            assert f"    {source.value} --> {row.dest.value} : {row.trigger}\n" in text
    assert f"    [*] --> {defn.initial.value}" in text
    for final in defn.finals:
        assert f"    {final.value} --> [*]\n" in text


def test_the_diagram_is_the_same_every_time() -> None:
    assert [mermaid(p) for p in Process] == [mermaid(p) for p in Process]


def test_a_sub_process_diagram_names_its_start_trigger() -> None:
    assert "[*] --> requested : request_statement\n" in mermaid(Process.STATEMENT)


def test_readme_diagrams_match_the_generated_ones() -> None:
    text = README.read_text(encoding="utf-8")
    for process in Process:
        assert readme_block(text, process) == fenced(process), (
            f"the {process.value} diagram in README.md is out of date; "
            "run `gpv diagram --write-readme README.md`"
        )


def test_rewriting_the_readme_fills_every_marked_block_and_keeps_the_rest() -> None:
    blocks = "\n\n".join("\n".join(markers(p)) for p in Process)
    text = f"# gpv\n\nIntro.\n\n{blocks}\n\nOutro.\n"
    new = rewrite_readme(text)
    assert new.startswith("# gpv\n\nIntro.\n\n") and new.endswith("\n\nOutro.\n")
    for process in Process:
        assert readme_block(new, process) == fenced(process)
    assert rewrite_readme(new) == new


def test_rewriting_a_readme_without_markers_names_the_missing_ones() -> None:
    with pytest.raises(InputError, match="diagram:housing"):
        rewrite_readme("# gpv\n")


def test_gpv_diagram_prints_all_four_under_headings(capsys: pytest.CaptureFixture[str]) -> None:
    main(["diagram"])
    out = capsys.readouterr().out
    for process in Process:
        assert f"## {process.value}\n\n{fenced(process)}" in out


def test_gpv_diagram_prints_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    main(["diagram", "statement"])
    assert capsys.readouterr().out == fenced(Process.STATEMENT)


def test_gpv_diagram_with_an_unknown_process_is_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["diagram", "invoice"])
    assert info.value.code == 2
    assert "Unbekannter Prozess 'invoice'" in capsys.readouterr().err


def test_gpv_diagram_writes_the_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("\n".join("\n".join(markers(p)) for p in Process) + "\n", encoding="utf-8")
    main(["diagram", "--write-readme", str(readme)])
    text = readme.read_text(encoding="utf-8")
    assert all(readme_block(text, p) == fenced(p) for p in Process)
