"""One GET against a register's HTTP interface, as every register adapter reads it: the parsed
JSON answer, None for 404, and the adapter's own "unavailable" error (a technical failure the job
retries, then an incident) for a timeout, a network failure, another status or an unreadable body."""
from __future__ import annotations

from typing import Callable, TypeVar

import requests

T = TypeVar("T")


def get_json(url: str, parse: Callable[[object], T], *, timeout: float, what: str,
             unavailable: type[Exception]) -> T | None:
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.Timeout as exc:
        raise unavailable(f"{what} timed out after {timeout}s: GET {url}") from exc
    except requests.RequestException as exc:
        raise unavailable(f"{what} unreachable: GET {url}: {exc}") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise unavailable(f"{what} answered {response.status_code} to GET {url}: {response.text[:200]}")
    try:
        return parse(response.json())
    except (ValueError, KeyError, TypeError) as exc:
        raise unavailable(f"{what} sent an unreadable answer to GET {url}: {exc!r}") from exc
