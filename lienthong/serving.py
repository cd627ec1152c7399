"""Serving until SIGTERM (or Ctrl-C), then draining: a supervisor's stop (systemd, Kubernetes, a
rolling restart) no longer cuts the requests in flight. On the signal the listening socket closes
(new connections go to the other processes), the requests already received are answered, the
embedded worker finishes its job and releases the rest of its batch, and the process exits 0.
Waitress alone stopped at once on SIGTERM, and Ctrl-C gave its threads 5 s and dropped the
answers they wrote after the loop had stopped."""
from __future__ import annotations

import logging
import signal
import threading
import time

from waitress import wasyncore

log = logging.getLogger("lienthong")

GRACE_SECONDS = 30.0  # as long as Kubernetes waits between SIGTERM and SIGKILL by default


def serve_until_stopped(server, on_stop=(), grace: float = GRACE_SECONDS) -> None:
    """Run the waitress `server` until SIGTERM or SIGINT, then drain it (at most `grace` seconds);
    `on_stop` are called once the signal arrives (the embedded worker's stop)."""
    stopping = threading.Event()

    def stop(signum, _frame):
        if not stopping.is_set():
            log.info("stopping: finishing the requests in flight", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    sockets = getattr(server, "_map", None) or server.map  # one listener, or several (MultiSocketServer)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.2, map=sockets, count=1)
        for listener in [d for d in list(sockets.values()) if getattr(d, "accepting", False)]:
            wasyncore.dispatcher.close(listener)  # the listening sockets only: the channels keep answering
        for callback in on_stop:
            callback()
        deadline = time.monotonic() + grace
        while _busy(server, sockets) and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=sockets, count=1)
        if _busy(server, sockets):
            log.warning("stopped with requests still running", extra={"grace_seconds": grace})
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(sockets)
        log.info("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _busy(server, sockets) -> bool:
    """A request is queued, running or half received, or an answer is not yet fully sent."""
    dispatcher = server.task_dispatcher
    if dispatcher.active_count or dispatcher.queue:
        return True
    return any(channel.requests or channel.request is not None or channel.total_outbufs_len
               for channel in list(sockets.values()) if hasattr(channel, "requests"))
