"""A real HTTP server on 127.0.0.1 standing in for another system (a register, an agency's
software, an SMS gateway), for tests of the adapters that call it."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def loopback_server(respond):
    """Yields (base URL, requests seen). `respond(request, release)` gets {"method", "path",
    "headers", "body"} (body parsed as JSON, None when empty) and returns (status, a JSON value
    or raw bytes). A respond that waits on `release` outlasts a client's timeout; it is released
    at teardown."""
    release = threading.Event()
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                       "body": json.loads(raw) if raw else None}
            seen.append(request)
            status, answer = respond(request, release)
            data = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
