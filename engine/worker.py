"""The job worker loop: take due jobs, run them, wait for a new one (or a little) when there is nothing to do."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger("lienthong.worker")


class Worker:
    """`chores`: callables run after each round of jobs, each answering how much it did (a domain's
    own queue, such as the SMS outbox retried apart from any procedure)."""

    def __init__(self, engine, *, batch: int = 20, idle_seconds: float = 0.25, chores=()):
        self.engine = engine
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.chores = list(chores)
        self.stopping = threading.Event()

    def run(self) -> None:
        log.info("worker started", extra={"worker": self.engine.worker_id})
        while not self.stopping.is_set():
            try:
                taken = self.engine.run_due_jobs(self.batch, self.stopping)
                for chore in self.chores:
                    if not self.stopping.is_set():
                        taken += chore()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.exception("worker loop failed; retrying")
                taken = 0
            if not taken and not self.stopping.is_set():
                # Woken at once when a command queues a job (engine/wakeup.py), else after the idle time.
                self.engine.wakeup.wait(self.idle_seconds)
        self.engine.wakeup.close()
        log.info("worker stopped", extra={"worker": self.engine.worker_id})

    def start_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="lienthong-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Finish the job running, release the batch's others, then leave run() (SIGTERM)."""
        self.stopping.set()  # an idle worker notices within idle_seconds
