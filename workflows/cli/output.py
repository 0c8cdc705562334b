"""Printing results: one JSON object (or list) with ``--json``, otherwise human lines."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from typing import Any

import typer


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_default, ensure_ascii=False, indent=2, sort_keys=False)


def emit_json(obj: Any) -> None:
    typer.echo(to_json(obj))
