"""Crash safety: worker processes killed with SIGKILL at random moments lose no instance and do no
side effect twice in a way the receiving system could not recognise.

The load: CRASH_INSTANCES instances of tests/crash/crash_flow.bpmn (service task Task_First →
timer Event_Wait, PT1S → service task Task_Second → end), started in this process. The work is
done by real `lienthong worker` processes (LIENTHONG_HANDLER_MODULES=tests.crash.handlers), whose
handler POSTs each effect, with the job's idempotency key, to a loopback receiver in this process
(tests/crash/receiver.py). A chaos loop SIGKILLs a random worker every 0.5–2 s and restarts it;
then the workers run undisturbed until every instance has completed.

At the end: every instance COMPLETED, both effects of every instance received, never two
different keys for one (instance, activity) (a redo under the same key is allowed: at-least-once,
recognised by the receiver), no job, external task or incident left, no activity left open.

Runs on SQLite (a file in tmp_path) and on PostgreSQL (a private schema, two workers claiming with
FOR UPDATE SKIP LOCKED). Workers take LIENTHONG_JOB_LOCK_SECONDS (short here) so a killed worker's
claimed jobs are taken again within seconds.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine import models as m
from engine.db import Database
from engine.handler_registry import HandlerRegistry
from engine.service import ProcessEngine
from tests.conftest import POSTGRES_URL
from tests.crash.receiver import Receiver

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` leaves it out

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = Path(__file__).parent / "crash" / "crash_flow.bpmn"

CRASH_INSTANCES = int(os.environ.get("CRASH_INSTANCES", "200"))
CHAOS_SECONDS = float(os.environ.get("CRASH_CHAOS_SECONDS", "20"))
SETTLE_SECONDS = float(os.environ.get("CRASH_SETTLE_SECONDS", "120"))  # after the chaos, the bound to complete
KILL_EVERY = (0.5, 2.0)
LOCK_SECONDS = 3  # LIENTHONG_JOB_LOCK_SECONDS: a dead worker's jobs are free again after this
BATCH = 5  # jobs a worker claims per round (the CLI's --batch)
MIN_KILLS = 3
# The chaos loop's choices (when, which worker) are reproducible from the seed it prints.
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
ACTIVITIES = ("Task_First", "Task_Second")


# --- databases ----------------------------------------------------------------------------------


def _postgres_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=[("sqlite", 2), ("postgresql", 2)], ids=["sqlite", "postgresql"])
def crash_database(request, tmp_path):
    """(kind, database URL, number of workers) on a database of its own, migrated."""
    kind, workers = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        yield kind, url, workers
        return
    schema = f"lt_crash_{uuid.uuid4().hex[:10]}"
    try:
        admin = Database(POSTGRES_URL)
        with admin.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - same rule as tests/conftest.py
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and could not be reached: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    try:
        yield kind, _postgres_url(schema), workers
    finally:
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- worker processes ---------------------------------------------------------------------------


def _worker_command() -> list[str]:
    script = Path(sys.executable).parent / "lienthong"
    if script.exists():
        return [str(script), "worker", "--batch", str(BATCH)]
    return [sys.executable, "-c", "from lienthong.cli import main; main()", "worker", "--batch", str(BATCH)]


class Workers:
    """Worker processes in fixed slots; a slot's process can be killed and started again."""

    def __init__(self, count: int, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.generation = [0] * count
        self.kills = 0
        self.starts = 0
        for slot in range(count):
            self.start(slot)

    def start(self, slot: int) -> None:
        self.generation[slot] += 1
        log = (self.logs / f"worker{slot}-{self.generation[slot]:03d}.log").open("wb")
        try:
            self.processes[slot] = subprocess.Popen(
                _worker_command(), cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.starts += 1

    def kill(self, slot: int) -> None:
        process = self.processes[slot]
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            self.kills += 1
        process.wait(timeout=30)

    def revive(self) -> list[int]:
        """Start again any worker that ended on its own (it should not); returns their exit codes."""
        codes = []
        for slot, process in enumerate(self.processes):
            if process.poll() is not None:
                codes.append(process.returncode)
                self.start(slot)
        return codes

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def _job_outcomes(logs: Path) -> Counter:
    """How the workers' jobs ended, from their JSON log lines (a killed run leaves no line)."""
    outcomes: Counter = Counter()
    for path in logs.glob("worker*.log"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") == "lienthong.jobs" and "outcome" in entry:
                outcomes[f"{entry.get('type')}: {entry['outcome']}"] += 1
            elif entry.get("level") in ("error", "critical") or "exception" in entry:
                outcomes["worker error: " + entry.get("message", "?")] += 1
    return outcomes


def _tail(logs: Path, lines: int = 30) -> str:
    """The last lines of the newest worker logs, without alembic's start-up chatter."""
    newest = sorted(logs.glob("worker*.log"), key=lambda p: p.stat().st_mtime)[-3:]
    return "\n".join(f"--- {p.name}\n" + "\n".join(
        [line for line in p.read_text(errors="replace").splitlines() if '"logger": "alembic' not in line][-lines:])
        for p in newest)


# --- the test -----------------------------------------------------------------------------------


def _count(db: Database, model, *criteria) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*criteria))


def test_killed_workers_lose_nothing_and_double_nothing(crash_database, tmp_path, capsys, request):
    kind, url, worker_count = crash_database
    began = time.monotonic()
    chance = random.Random(SEED)

    def progress(message: str) -> None:
        with capsys.disabled():
            print(f"\n[crash-safety {kind} {time.monotonic() - began:5.1f}s] {message}", end="", flush=True)

    db = Database(url)
    request.addfinalizer(db.dispose)  # before the fixture drops the PostgreSQL schema
    db.migrate()
    registry = HandlerRegistry()  # the topic must be served for the deployment; the workers run it
    registry.register("crash.effect", lambda task: pytest.fail("crash.effect must run in a worker process"))
    engine = ProcessEngine(db, handlers=registry, worker_id="crash-test")
    engine.deploy({DIAGRAM.name: DIAGRAM.read_bytes()}, name="crash-safety")
    instance_ids = [engine.start_instance("crash_flow", {"n": n}, business_key=f"CRASH-{n}")
                    for n in range(CRASH_INSTANCES)]
    assert _count(db, m.Job, m.Job.type == "service-task") == CRASH_INSTANCES
    progress(f"{CRASH_INSTANCES} instances started; {worker_count} workers, SIGKILL every "
             f"{KILL_EVERY[0]}-{KILL_EVERY[1]} s for {CHAOS_SECONDS:.0f} s (CRASH_SEED={SEED})")

    def completed() -> int:
        return _count(db, m.ProcessInstance, m.ProcessInstance.state == "COMPLETED")

    logs = tmp_path / "worker-logs"
    logs.mkdir()
    with Receiver() as receiver:
        env = {**os.environ, "DATABASE_URL": url, "LIENTHONG_HANDLER_MODULES": "tests.crash.handlers",
               "CRASH_RECEIVER_URL": receiver.url, "LIENTHONG_JOB_LOCK_SECONDS": str(LOCK_SECONDS),
               "LIENTHONG_LOG_FORMAT": "json", "LIENTHONG_LOG_LEVEL": "INFO",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        workers = Workers(worker_count, env, logs)
        unexpected_exits = []
        try:
            # Chaos: kill a random worker at random moments, start it again at once.
            chaos_ends = time.monotonic() + CHAOS_SECONDS
            last_report = 0.0
            while time.monotonic() < chaos_ends:
                time.sleep(chance.uniform(*KILL_EVERY))
                unexpected_exits += workers.revive()
                slot = chance.randrange(worker_count)
                workers.kill(slot)
                workers.start(slot)
                done = completed()
                if time.monotonic() - last_report >= 5:
                    progress(f"chaos: {workers.kills} kills, {done}/{CRASH_INSTANCES} completed, "
                             f"{receiver.requests} effects received")
                    last_report = time.monotonic()
                if done == CRASH_INSTANCES and workers.kills >= MIN_KILLS:
                    break
            progress(f"chaos over after {workers.kills} kills; {completed()}/{CRASH_INSTANCES} completed")

            # Settle: no more kills; every instance must complete within the bound.
            settle_ends = time.monotonic() + SETTLE_SECONDS
            last_report = time.monotonic()
            while (done := completed()) < CRASH_INSTANCES and time.monotonic() < settle_ends:
                unexpected_exits += workers.revive()
                time.sleep(0.5)
                if time.monotonic() - last_report >= 5:
                    progress(f"settling: {done}/{CRASH_INSTANCES} completed, {receiver.requests} effects received")
                    last_report = time.monotonic()
        finally:
            workers.stop()
        outcomes = _job_outcomes(logs)
        calls_by_key, keys_by_pair = receiver.snapshot()
        redos = receiver.recognised_redos()
        doubles = receiver.unrecognisable_doubles()

    progress(f"done: {done}/{CRASH_INSTANCES} completed, {workers.kills} kills, {receiver.requests} effects "
             f"received, {redos} recognised redos, {len(doubles)} unrecognisable doubles; job outcomes "
             f"{dict(sorted(outcomes.items()))}\n")

    # Everything finished, nothing stuck.
    states = Counter(s for s in _scalars(db, select(m.ProcessInstance.state)))
    assert states == {"COMPLETED": CRASH_INSTANCES}, (
        f"instance states {dict(states)} after {SETTLE_SECONDS:.0f} s of settling (CRASH_SEED={SEED}); "
        f"jobs left: {_jobs_left(db)}\n{_tail(logs)}")
    assert _count(db, m.Job) == 0
    assert _count(db, m.ExternalTask) == 0
    assert _count(db, m.Incident) == 0
    assert _count(db, m.ActivityInstance, m.ActivityInstance.end_time.is_(None)) == 0
    history = Counter(_scalars(db, select(m.ActivityInstance.activity_id)
                                   .where(m.ActivityInstance.activity_id.in_(ACTIVITIES))))
    assert history == {activity: CRASH_INSTANCES for activity in ACTIVITIES}
    done_flags = Counter(_scalars(db, select(m.Variable.name).where(
        m.Variable.name.in_([f"{a}_done" for a in ACTIVITIES]), m.Variable.value_json == "true")))
    assert done_flags == {f"{activity}_done": CRASH_INSTANCES for activity in ACTIVITIES}

    # The receiver: every effect happened, and never twice under different keys.
    assert not doubles, f"{len(doubles)} (instance, activity) pairs got effects under different keys: " \
                        f"{list(doubles.items())[:5]}"
    expected = {(instance_id, activity) for instance_id in instance_ids for activity in ACTIVITIES}
    assert set(keys_by_pair) == expected
    assert len(calls_by_key) == len(expected)

    # The chaos really happened, and the workers only ever ended because we killed them.
    assert workers.kills >= MIN_KILLS
    assert not unexpected_exits, f"workers exited on their own with codes {unexpected_exits}\n{_tail(logs)}"
    assert not [o for o in outcomes if o.startswith("worker error")], f"{dict(outcomes)}\n{_tail(logs)}"


def _jobs_left(db: Database) -> dict:
    """The jobs still there, by type, activity and lock state (a lock far in the future means the
    workers did not honour LIENTHONG_JOB_LOCK_SECONDS)."""
    now = time.time()
    left: Counter = Counter()
    with db.reading() as session:
        for job in session.scalars(select(m.Job)):
            if job.lock_expires_at is None:
                lock = "unlocked"
            else:
                lock = f"locked for {job.lock_expires_at.timestamp() - now:+.0f} s"
            left[f"{job.type} {job.activity_id} retries={job.retries} {lock}"] += 1
    return dict(left)


def _scalars(db: Database, query) -> list:
    with db.reading() as session:
        return list(session.scalars(query))
