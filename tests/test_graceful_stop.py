"""Stopping like a service, with real processes: on SIGTERM a `lienthong worker` finishes the job it
is running, releases the rest of its batch (another worker takes them at once, not when the claim
expires) and exits 0; `lienthong serve` answers the requests already received, then exits 0."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from engine import models as m
from engine.db import Database
from engine.handler_registry import HandlerRegistry
from engine.service import ProcessEngine

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = (Path(__file__).parent / "crash" / "crash_flow.bpmn").read_text().replace("crash.effect", "drain.slow")
SLOW = 2.0  # seconds a job takes


def _lienthong(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "lienthong"
    return [str(script), *args] if script.exists() else [sys.executable, "-c", "from lienthong.cli import main; main()", *args]


def _env(url: str, marks: Path, **more) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "LIENTHONG_HANDLER_MODULES": "tests.drain.handlers",
            "DRAIN_MARKS": str(marks), "DRAIN_SECONDS": str(SLOW), "LIENTHONG_JOB_LOCK_SECONDS": "300",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **more}


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := condition()):
            return value
        time.sleep(0.05)
    pytest.fail(f"waited {seconds} s for {what}")


def test_a_worker_finishes_its_job_releases_the_others_and_exits_0_on_sigterm(tmp_path):
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    db = Database(url)
    db.migrate()
    registry = HandlerRegistry()
    registry.register("drain.slow", lambda task: pytest.fail("drain.slow runs in the worker process"))
    engine = ProcessEngine(db, handlers=registry, worker_id="drain-test")
    engine.deploy({"drain_flow.bpmn": DIAGRAM.encode()}, name="drain")
    for n in range(5):
        engine.start_instance("crash_flow", {"n": n})
    marks = tmp_path / "marks"
    marks.mkdir()
    worker = subprocess.Popen(_lienthong("worker", "--batch", "5"), cwd=ROOT, env=_env(url, marks),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: list(marks.iterdir()), 30, "the first job to begin")
        with db.reading() as session:  # the whole batch is this worker's, for 300 s unless released
            assert len(session.scalars(select(m.Job).where(m.Job.lock_owner.is_not(None))).all()) == 5
        worker.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert worker.wait(timeout=SLOW + 15) == 0, worker.stdout.read().decode(errors="replace")[-3000:]
        assert time.monotonic() - began < SLOW + 10
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    [ran] = list(marks.iterdir())  # one job ran, and it finished: its instance went on to the timer
    with db.reading() as session:
        jobs = session.scalars(select(m.Job).where(m.Job.type == "service-task")).all()
        waiting = [job for job in jobs if job.activity_id == "Task_First"]
        assert len(waiting) == 4 and all(job.lock_owner is None and job.lock_expires_at is None for job in waiting)
        assert ran.name not in {job.id for job in jobs}
    # Another worker takes the released jobs at once (the claim had 300 s to run).
    quick = HandlerRegistry()
    quick.register("drain.slow", lambda task: {f"{task.activity_id}_done": True})
    assert ProcessEngine(db, handlers=quick, worker_id="another").run_due_jobs(20) >= 4  # (and the first one's timer, once due)
    with db.reading() as session:
        assert not session.scalars(select(m.Job).where(m.Job.activity_id == "Task_First")).all()
    db.dispose()


def test_serve_answers_the_requests_in_flight_then_exits_0_on_sigterm(tmp_path):
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    server = subprocess.Popen(_lienthong("serve", "--port", str(port), "--workflows", str(tmp_path / "none")),
                              cwd=ROOT, env=_env(url, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        _wait(lambda: _answers(f"http://127.0.0.1:{port}/health/live"), 60, "the server to answer")
        # A request in flight: its headers and half its body are in when SIGTERM comes, the rest after.
        body = b'{"procedure": "birth", "declaration": {}}'
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(b"POST /api/dossiers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        with pytest.raises(OSError):  # no new connection is taken meanwhile
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        client.sendall(body[10:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        client.close()
        assert answer.startswith(b"HTTP/1.1 401"), answer[:300]  # answered (it asks for a login), not cut
        assert server.wait(timeout=15) == 0, server.stdout.read().decode(errors="replace")[-3000:]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
