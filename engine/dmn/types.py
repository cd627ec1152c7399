"""typeRef coercion, as Camunda's data type transformers do it (unknown types pass through)."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable


def coerce(value: Any, type_ref: str | None) -> Any:
    if value is None or type_ref is None:
        return value
    convert = _CONVERTERS.get(type_ref.lower())
    return value if convert is None else convert(value)


def _integer(limit: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d+", value):
                raise ValueError(value)
            number = int(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = int(value)
            if number != value:
                raise ValueError(value)
        else:
            raise TypeError(value)
        if not -limit <= number < limit:
            raise ValueError(value)
        return number

    return convert


def _double(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(value)
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(value)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(value)


def _date(value: Any) -> datetime:
    # Dates travel as ISO strings in process variables (see engine/variables.py).
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "boolean": _boolean,
    "integer": _integer(2**31),
    "long": _integer(2**63),
    "double": _double,
    "date": _date,
}
