"""What FEEL's operators and built-in functions do with values (three-valued logic, dates, durations)."""
from __future__ import annotations

import datetime
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from .expressions import kind_of


LITERALS = frozenset({"number", "string", "true", "false", "null"})


def all_true(a: Any, b: Any) -> bool | None:
    if a is False or b is False:
        return False
    return True if a is True and b is True else None


def feel_equal(a: Any, b: Any) -> bool:
    return kind_of(a) == kind_of(b) and a == b


_ORDERED_KINDS = {"number", "string", "date", "datetime", "time", "timedelta"}


def _ordering(compare: Callable[[Any, Any], bool]):
    def ordered(a, b):
        kind = kind_of(a)
        if kind != kind_of(b) or kind not in _ORDERED_KINDS:
            return None
        try:
            return compare(a, b)
        except TypeError:  # a naive and an aware datetime
            return None

    return ordered


COMPARISONS: dict[str, Callable[[Any, Any], bool | None]] = {
    "=": feel_equal,
    "!=": lambda a, b: not feel_equal(a, b),
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
}

_TEMPORAL = (datetime.date, datetime.timedelta)


def _numbers(a: Any, b: Any) -> bool:
    return kind_of(a) == "number" == kind_of(b)


def _add(a, b):
    if _numbers(a, b) or (isinstance(a, str) and isinstance(b, str)):
        return a + b
    return _temporal(operator.add, a, b)


def _subtract(a, b):
    return a - b if _numbers(a, b) else _temporal(operator.sub, a, b)


def _temporal(apply, a, b):
    # date ± duration, date - date, duration ± duration; Python refuses the other pairs.
    if isinstance(a, _TEMPORAL) and isinstance(b, _TEMPORAL):
        try:
            return apply(a, b)
        except (TypeError, OverflowError):
            return None
    return None


def _multiply(a, b):
    return a * b if _numbers(a, b) else None


def _divide(a, b):
    if not _numbers(a, b) or b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    try:
        return a / b
    except OverflowError:
        return None


def _power(a, b):
    if not _numbers(a, b):
        return None
    # Exact while the result stays reasonably small; a huge exponent must not stall us.
    if isinstance(a, int) and isinstance(b, int) and 0 <= b and abs(a).bit_length() * b <= 4096:
        return a**b
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        return None


ARITHMETIC = {"+": _add, "-": _subtract, "*": _multiply, "/": _divide, "**": _power}


# -- built-ins: raise ValueError on a bad argument (null at run time, an error when constant)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T.+")
_DURATION = re.compile(
    r"(-)?P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)


def _date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return datetime.date.fromisoformat(value)
    raise ValueError(f"not a date (expected YYYY-MM-DD): {value!r}")


def _date_and_time(value):
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return datetime.datetime.fromisoformat(value)
    raise ValueError(f"not a date and time (expected YYYY-MM-DDThh:mm:ss[zone]): {value!r}")


def _duration(value):
    if isinstance(value, datetime.timedelta):
        return value
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a days-and-time duration such as 'P2DT3H': {value!r}")
    sign, days, hours, minutes, seconds = match.groups()
    try:
        delta = datetime.timedelta(
            days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
        )
    except OverflowError:
        raise ValueError(f"duration out of range: {value!r}") from None
    return -delta if sign else delta


def _string_length(value):
    if isinstance(value, str):
        return len(value)
    raise ValueError(f"not a string: {value!r}")


def _not(value):
    return not value if isinstance(value, bool) else None


FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "date": (_date, 1),
    "date and time": (_date_and_time, 1),
    "duration": (_duration, 1),
    "string length": (_string_length, 1),
    "not": (_not, 1),
}
