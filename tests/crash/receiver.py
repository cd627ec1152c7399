"""A loopback HTTP receiver that records every side effect the crash-safety handler performs.

It stands for an agency's system that deduplicates by idempotency key: a request whose key it has
seen before is a redo it recognises (at-least-once delivery is allowed). Two different keys for
the same (instance, activity) would be a second effect it cannot tell from a new one.
"""
from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls_by_key: Counter[str] = Counter()
        self.keys_by_pair: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.requests = 0
        receiver = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length))
                receiver.record(payload["key"], payload["instance"], payload["activity"])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):  # keep pytest's output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="crash-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/effects"

    def record(self, key: str, instance: str, activity: str) -> None:
        with self.lock:
            self.requests += 1
            self.calls_by_key[key] += 1
            self.keys_by_pair[(instance, activity)].add(key)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the test asserts -----------------------------------------------------------------

    def snapshot(self) -> tuple[dict[str, int], dict[tuple[str, str], set[str]]]:
        with self.lock:
            return dict(self.calls_by_key), {pair: set(keys) for pair, keys in self.keys_by_pair.items()}

    def recognised_redos(self) -> int:
        """Requests that repeated a key already seen: redos the receiver recognises and ignores."""
        with self.lock:
            return sum(count - 1 for count in self.calls_by_key.values())

    def unrecognisable_doubles(self) -> dict[tuple[str, str], set[str]]:
        """(instance, activity) pairs that got effects under more than one key."""
        with self.lock:
            return {pair: set(keys) for pair, keys in self.keys_by_pair.items() if len(keys) > 1}
