"""Waking the job worker when a command queues a job, instead of after its idle sleep.

A command that writes a job due now marks its session (`queued(session)`). On PostgreSQL the
command then sends `NOTIFY lienthong_jobs` inside its transaction, so the notification is
delivered at commit and only if it commits; every worker process LISTENs on a connection of its
own. On SQLite there is no such channel: the engine sets an in-process event after the commit,
which wakes a worker thread of the same process (`lienthong serve`); a worker in another process
still finds the job after its idle sleep.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import text

log = logging.getLogger("lienthong.worker")

CHANNEL = "lienthong_jobs"
_FLAG = "lienthong.jobs_queued"


def queued(session) -> None:
    """Note that this session's transaction queued a job that is due now."""
    session.info[_FLAG] = True


class Wakeup:
    def __init__(self, db):
        self.db = db
        self._event = threading.Event()
        self._listener = None  # PostgreSQL: a psycopg connection of its own, LISTENing

    def before_commit(self, session) -> None:
        if session.info.get(_FLAG) and self.db.is_postgresql:
            session.execute(text(f"NOTIFY {CHANNEL}"))

    def after_commit(self, session) -> None:
        if session.info.pop(_FLAG, False):
            self._event.set()

    def wait(self, timeout: float) -> bool:
        """Block until a job is queued or `timeout` seconds pass; True when woken."""
        if self.db.is_postgresql:
            try:
                return self._wait_postgresql(timeout)
            except Exception:  # noqa: BLE001 - a lost listener falls back to sleeping; reconnects next time
                log.warning("job listener failed; sleeping instead", exc_info=True)
                self._close_listener()
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken

    def _wait_postgresql(self, timeout: float) -> bool:
        if self._listener is None:
            raw = self.db.engine.raw_connection()
            connection = raw.driver_connection
            raw.detach()  # ours for good, never handed back to the pool
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self._listener = connection
        woken = False
        for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            woken = True
        return woken

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # noqa: BLE001
                pass
            self._listener = None

    def close(self) -> None:
        self._close_listener()
