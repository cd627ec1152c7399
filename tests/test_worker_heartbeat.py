"""A worker's claim is short and kept alive while its handler runs (a heartbeat): a slow handler
keeps its job, and the jobs of a worker killed mid-batch are taken again within seconds, not
after the old 300 s lock."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from engine import models as m
from engine.handler_registry import HandlerRegistry
from engine.service import ProcessEngine
from tests.engine_helpers import deploy, rows

CLAIM = timedelta(seconds=1)


def _engine(database, handlers, worker_id):
    return ProcessEngine(database, handlers=handlers, worker_id=worker_id, job_lock=CLAIM)  # the real clock


def test_a_slow_handler_keeps_its_job_and_it_runs_once(database):
    handlers, runs, started = HandlerRegistry(), [], threading.Event()

    def slow(task):
        runs.append(task.idempotency_key)
        started.set()
        time.sleep(3 * CLAIM.total_seconds())
        return {}

    handlers.register("engine.flaky", slow)
    first, second = _engine(database, handlers, "worker-a"), _engine(database, handlers, "worker-b")
    deploy(first, "service_default_retry.bpmn")
    first.start_instance("engine_service_default", {})
    running = threading.Thread(target=first.run_due_jobs, args=(20,))
    running.start()
    assert started.wait(10)
    stolen = []
    while running.is_alive():  # the claim outlives its first second only by the heartbeat
        stolen.append(second.run_due_jobs(20))
        time.sleep(0.2)
    running.join()
    assert sum(stolen) == 0 and len(runs) == 1
    assert [t.activity_id for t in rows(first, m.Task)] == ["Task_After"]


def test_a_killed_workers_jobs_are_taken_again_within_seconds(database):
    handlers = HandlerRegistry()
    handlers.register("engine.flaky", lambda task: {})
    killed, survivor = _engine(database, handlers, "worker-killed"), _engine(database, handlers, "worker-b")
    deploy(killed, "service_default_retry.bpmn")
    for _ in range(3):
        killed.start_instance("engine_service_default", {})
    assert len(killed.jobs.claim(20)) == 3  # ... and the process dies before running them (SIGKILL)
    assert survivor.run_due_jobs(20) == 0
    began = time.monotonic()
    while survivor.run_due_jobs(20) == 0:
        assert time.monotonic() - began < 5 * CLAIM.total_seconds()
        time.sleep(0.1)
    while survivor.run_due_jobs(20):
        pass
    assert [t.activity_id for t in rows(survivor, m.Task)] == ["Task_After"] * 3
