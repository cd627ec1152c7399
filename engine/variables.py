"""Camunda's typed variables (`{"value": ..., "type": "Long"}`) to and from plain values.

Inside the engine every variable is a plain JSON value (str, int, float, bool, None, dict,
list), because SpiffWorkflow serializes task data as JSON and expressions read it directly.
The Camunda type is derived from the value when it is read back; a Json variable sent as a
string is parsed, so that `${applicant.age}` can reach into it.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from .errors import InvalidRequest

_INT32 = 2**31


def type_of(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if -_INT32 <= value < _INT32 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    return "Json"


def to_typed(value: Any) -> dict:
    kind = type_of(value)
    if kind == "Json":
        return {"value": json.dumps(value, ensure_ascii=False), "type": "Json", "valueInfo": {}}
    return {"value": value, "type": kind, "valueInfo": {}}


def to_typed_map(variables: dict) -> dict:
    return {name: to_typed(value) for name, value in variables.items()}


def _coerce(name: str, typed: Any) -> Any:
    if not isinstance(typed, dict) or "value" not in typed and typed.get("type") not in ("Null", "null"):
        raise InvalidRequest(
            f"Variable '{name}' must be an object with 'value' and optional 'type'",
            {name: ["expected {\"value\": ..., \"type\": ...}"]},
        )
    value = typed.get("value")
    kind = (typed.get("type") or "").lower()
    try:
        if value is None or kind in ("null",):
            return None
        if kind in ("", "object") and isinstance(value, (dict, list)):
            return value
        if kind in ("string",):
            return str(value)
        if kind in ("integer", "long", "short"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "double":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if kind == "json":
            return json.loads(value) if isinstance(value, str) else value
        if kind == "date":
            return (value if isinstance(value, str) else str(value))
        if kind == "":
            return value
    except (TypeError, ValueError):
        raise InvalidRequest(
            f"Cannot convert value '{value}' of variable '{name}' to type {typed.get('type')}",
            {name: [f"not a valid {typed.get('type')}"]},
        ) from None
    raise InvalidRequest(
        f"Unsupported type '{typed.get('type')}' for variable '{name}'",
        {name: [f"unsupported type {typed.get('type')}"]},
    )


def from_typed_map(typed_variables: dict | None) -> dict:
    """Plain values from a Camunda `variables` object; every bad entry is named."""
    if not typed_variables:
        return {}
    if not isinstance(typed_variables, dict):
        raise InvalidRequest("'variables' must be an object", {"variables": ["must be an object"]})
    values, errors = {}, {}
    for name, typed in typed_variables.items():
        try:
            values[name] = _coerce(name, typed)
        except InvalidRequest as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidRequest("Invalid variables: " + ", ".join(sorted(errors)), errors)
    return values


def json_default(value: Any) -> Any:
    """For json.dumps of variables that a handler returned as dates."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def stored_text(value: Any) -> str:
    """A value as the variable table stores it: JSON, keys sorted, so equal values are equal text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=json_default)


def text_hash(text: str) -> str:
    """md5 of the stored text, hex (what PostgreSQL's md5(value_json) gives): the indexed column that
    correlation compares first, so a value of any length can be stored and still be found."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
