"""The service in threads of this process, on a free loopback port: the demo's private service
and the tests' live server."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from werkzeug.serving import make_server

from api.app import create_app
from api.common import STOPPING
from engine.worker import Worker

from .cli import worker_chores


@contextmanager
def serving(engine, *, worker: bool = True, idle_seconds: float = 0.02, identity=None) -> Iterator[str]:
    """Yields the base URL; the API answers there, and a job worker runs beside it unless told not to."""
    app = create_app(engine, identity=identity)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="loopback-server", daemon=True)
    thread.start()
    runner = Worker(engine, idle_seconds=idle_seconds, chores=worker_chores(engine)) if worker else None
    if runner:
        runner.start_in_background()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if runner:
            runner.stop()
        app.extensions[STOPPING].set()  # long polls in flight end now, not up to 30 s later
        server.shutdown()
        thread.join(timeout=5)
