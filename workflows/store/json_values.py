"""Plain JSON values for what the store keeps in JSON columns or hashes.

One conversion for the audit chain (its parameters and the canonical encoding the hash covers),
process data and the outbox context: datetimes as ISO 8601 strings, dates as ISO dates, Enums as
their values, mappings with string keys, sequences and sets as lists. Naive datetimes are refused.
Pure: no database, no session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"stored timestamps must be timezone-aware, not naive ({value!r})")


def utc_iso(value: datetime) -> str:
    """``value`` in UTC with microseconds (what the audit chain stores and hashes)."""
    _require_aware(value)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def offset_iso(value: datetime) -> str:
    """``value`` as given, with its own UTC offset (what a notice shows, e.g. a conference time)."""
    _require_aware(value)
    return value.isoformat()


def json_value(value: Any, datetime_text: Callable[[datetime], str] = utc_iso) -> Any:
    """``value`` as a JSON value; datetimes through ``datetime_text`` (default :func:`utc_iso`)."""
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): json_value(v, datetime_text) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v, datetime_text) for v in value]
    return value


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values, datetimes in UTC (audit parameters, process data)."""
    return {str(k): json_value(v) for k, v in params.items()}
