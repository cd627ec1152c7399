"""A real HTTP server on loopback, with an embedded job worker, for tests that speak only HTTP."""
from __future__ import annotations

import time

import requests

from lienthong.loopback import serving
from tests.auth import ADMIN, SETTINGS, ensure_account


def live_server(engine, *, worker: bool = True):
    """A real HTTP server on loopback, with an embedded job worker unless told not to; the
    administrator account of tests/auth.py exists in its database."""
    ensure_account(engine.db, ADMIN[0], password=ADMIN[1])
    return serving(engine, worker=worker, identity=SETTINGS)


def wait_for(fetch, predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll `fetch()` until `predicate(result)` holds (the embedded worker runs asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        time.sleep(interval)


class Rest:
    """requests against /engine-rest, failing loudly on unexpected statuses."""

    def __init__(self, base: str, auth: tuple[str, str] | None = ADMIN):
        self.base = base + "/engine-rest"
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method: str, path: str, expect: int | tuple = (200, 204), **kwargs):
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json() if response.content else None

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, json=body if body is not None else {}, **kwargs)
