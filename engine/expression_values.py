"""What the ${...} language's operators do with values: kinds, truth, numbers, equality, ordering, arithmetic."""
from __future__ import annotations

import math
import operator
import reprlib
from collections.abc import Callable, Mapping
from typing import Any


class EvaluationFailure(Exception):
    """Raised while evaluating; Expression.evaluate adds the source text."""


def kind_of(value: Any) -> str:
    """The type name used in messages and to decide which values compare (bool is no number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def show(value: Any) -> str:
    # Messages reach logs and API responses: show enough of a citizen's value to debug, not all.
    return reprlib.repr(value)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, Mapping, set)) and len(value) == 0)


def as_boolean(value: Any, op: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise EvaluationFailure(f"'{op}' needs a boolean, got {kind_of(value)} {show(value)}")


def as_number(value: Any, op: str) -> int | float:
    if value is None:
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise EvaluationFailure(f"'{op}' needs numbers, got {kind_of(value)} {show(value)}")


def _equal(a: Any, b: Any) -> bool:
    return kind_of(a) == kind_of(b) and a == b


_ORDERED_KINDS = {"number", "string", "date", "datetime", "time", "timedelta"}


def _ordering(compare: Callable[[Any, Any], bool], op: str):
    def ordered(a, b):
        if a is None or b is None:
            return False
        kind = kind_of(a)
        if kind == kind_of(b) and kind in _ORDERED_KINDS:
            try:
                return compare(a, b)
            except TypeError:  # e.g. a naive and an aware datetime
                pass
        raise EvaluationFailure(f"cannot compare {kind_of(a)} {show(a)} with {kind_of(b)} {show(b)} using '{op}'")

    return ordered


def _arithmetic(compute: Callable[[Any, Any], Any], op: str):
    return lambda a, b: compute(as_number(a, op), as_number(b, op))


def _divide(a, b):
    if b == 0:
        raise EvaluationFailure("division by zero")
    return a / b


def _remainder(a, b):
    if b == 0:
        raise EvaluationFailure("division by zero")
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return math.fmod(a, b)


BINARY_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordering(operator.lt, "<"),
    "<=": _ordering(operator.le, "<="),
    ">": _ordering(operator.gt, ">"),
    ">=": _ordering(operator.ge, ">="),
    "+": _arithmetic(operator.add, "+"),
    "-": _arithmetic(operator.sub, "-"),
    "*": _arithmetic(operator.mul, "*"),
    "/": _arithmetic(_divide, "/"),
    "%": _arithmetic(_remainder, "%"),
}
BINARY_OPERATORS.update(
    {word: BINARY_OPERATORS[symbol] for word, symbol in
     {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "div": "/", "mod": "%"}.items()}
)
