"""Bounds on what any request may carry, checked before a route runs, so hostile input is a 400
naming the field instead of a 500 (or minutes of work) deep inside:

* JSON nested deeper than MAX_DEPTH (5,000 levels overflowed the parser's recursion: 500);
* integers outside 64 bits (a 5,000-digit one made Python's int() refuse: 500; 2^63 overflowed
  PostgreSQL's BIGINT) and floats that are not finite;
* NUL characters in any string, query parameter or form field (PostgreSQL's text columns refuse
  them: 500).
A body that is not JSON at all is left to the route, which answers it in its own words.
"""
from __future__ import annotations

import json
import math

from flask import Flask, request

from engine.errors import InvalidRequest

MAX_DEPTH = 50
_INT64 = 2 ** 63
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
_NUL = "contains a NUL character"


class _Oversized(str):
    """An integer literal too long to be converted at all (its digits are kept for the message)."""


def _parse_int(text: str):
    return _Oversized(text) if len(text.lstrip("-")) > 19 else int(text)


def _problems(value, path: str = "") -> dict[str, list[str]]:
    """Field errors for the parsed body, walked without recursion (the body may be deep)."""
    found: dict[str, list[str]] = {}
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        name = where or "body"
        if depth > MAX_DEPTH:
            found.setdefault("body", [f"nested deeper than {MAX_DEPTH} levels"])
            continue
        if isinstance(item, _Oversized):
            found[name] = [f"a number of {len(item.lstrip('-'))} digits is outside the 64-bit range"]
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and not -_INT64 <= item < _INT64:
            found[name] = ["the number is outside the 64-bit range"]
        elif isinstance(item, float) and not math.isfinite(item):
            found[name] = ["the number is not finite"]
        elif isinstance(item, str) and "\x00" in item:
            found[name] = [_NUL]
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    found[name] = [f"a key {_NUL}"]
                stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i), depth + 1) for i, child in enumerate(item))
    return found


def _json_problems() -> dict[str, list[str]]:
    data = request.get_data(cache=True)
    if not data or request.mimetype in _FORMS:
        return {}
    try:
        body = json.loads(data, parse_int=_parse_int, parse_constant=float)
    except RecursionError:
        return {"body": [f"nested deeper than {MAX_DEPTH} levels"]}
    except ValueError:  # not JSON (or not UTF-8): the route answers it
        return {}
    problems = _problems(body)
    if not problems and request.is_json:
        # The route's request.get_json() answers this parse instead of parsing the body again
        # (werkzeug's cache of it: (the answer to silent=False, to silent=True)).
        request._cached_json = (body, body)
    return problems


def _parameter_problems() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    sources = [request.args] + ([request.form] if request.mimetype in _FORMS else [])
    for source in sources:
        for key, value in source.items(multi=True):
            key, value = key or "", value or ""  # a multipart part may come without a name or a value
            if "\x00" in key or "\x00" in value:
                found[key.replace("\x00", "")] = [_NUL]
    return found


def check_request() -> None:
    problems = _parameter_problems() | _json_problems()
    if problems:
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in sorted(problems.items()))
        raise InvalidRequest(f"Invalid request: {summary}", problems)


def install(app: Flask) -> None:
    app.before_request(check_request)
