"""The public API of ``states``: a curated, sorted ``__all__`` whose every name resolves, imported
lazily so that ``import states`` stays cheap (as httpx checks its own ``__all__``)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import states


def _ruff_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order, which the linter keeps: constants, then classes, then the rest."""
    if name.isupper():
        return 0, name
    if name[0].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted() -> None:
    assert states.__all__ == sorted(states.__all__, key=_ruff_order)
    assert len(set(states.__all__)) == len(states.__all__)


@pytest.mark.parametrize("name", states.__all__)
def test_every_exported_name_resolves_to_the_object_of_its_home_module(name: str) -> None:
    home = importlib.import_module(states._HOME[name])
    assert getattr(states, name) is getattr(home, name)


def test_the_exports_and_all_name_the_same_members() -> None:
    assert set(states._HOME) == set(states.__all__)
    assert set(states.__all__) <= set(dir(states))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_rule"):
        states.no_such_rule  # noqa: B018


def test_importing_states_loads_neither_the_state_machine_nor_the_holiday_library() -> None:
    probe = "import json, sys, states; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"transitions", "holidays", "dateutil"}
