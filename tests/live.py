"""A real HTTP server on loopback, with an embedded job worker, for tests that speak only HTTP."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from api.app import create_app
from engine.worker import Worker


@contextmanager
def live_server(engine, *, worker: bool = True):
    server = make_server("127.0.0.1", 0, create_app(engine), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    runner = Worker(engine, idle_seconds=0.02) if worker else None
    if runner:
        runner.start_in_background()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if runner:
            runner.stop()
        server.shutdown()
        thread.join(timeout=5)


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

    def __init__(self, base: str, user: str | None = None):
        self.base = base + "/engine-rest"
        self.session = requests.Session()
        if user:
            self.session.headers["X-User-Id"] = user

    def call(self, method: str, path: str, expect: int | tuple = (200, 204), **kwargs):
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json() if response.content else None

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, json=body if body is not None else {}, **kwargs)
