"""Fault injection (issue 14): on PostgreSQL, the production shape — gunicorn with two API
processes (bench.common.Stack, as the benchmarks run it) and two `lienthong worker` processes —
under a load of birth dossiers filed over HTTP, while the test SIGKILLs an API process and each
worker (started again at once, as a supervisor would) and cuts the database off for OUTAGE
seconds. The database is reached through a TCP proxy in this test (the shared PostgreSQL server
is never stopped): cutting it closes every open connection and refuses new ones.

Then: every filing answered 201 in the end (the client retries with its Idempotency-Key, as a
citizen's app would) and none is duplicated; every dossier's instance ends completed or waits
where it may resume (an officer's task, a timer), with no job stuck or failed into an incident;
once the database is back, no due job waits longer than the claim plus its heartbeat (and the
backlog's own time); /metrics tells the queue, its age and the incidents.

Bounded: DOSSIERS filings, about a minute in all. PostgreSQL only (SQLite has no server to cut).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bench.common import BENCH_AUTH, FreshDatabase, Stack, _descendants, distinct_child, postgres_available, prepare
from dossiers.models import Dossier
from engine import models as m
from engine.db import Database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOSSIERS = int(os.environ.get("FAULT_DOSSIERS", "24"))
OUTAGE = 4.0  # seconds the database is cut off
LOCK = 3  # LIENTHONG_JOB_LOCK_SECONDS: a killed worker's jobs are free again after this
SETTLE = 60.0


class CuttableProxy:
    """A TCP proxy to PostgreSQL, in a thread of its own: `cut(seconds)` drops every connection and
    refuses new ones for that long."""

    def __init__(self, target_port: int = 5432):
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.writers: set = set()
        self.down_until = 0.0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader, writer) -> None:
        if time.monotonic() < self.down_until:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, upstream_writer}

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()
                self.writers.discard(sink)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self, seconds: float) -> None:
        def drop():
            self.down_until = time.monotonic() + seconds
            for writer in list(self.writers):
                writer.transport.abort()
            self.writers.clear()
        self.loop.call_soon_threadsafe(drop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def postgres_only():
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required under CI")
        pytest.skip("PostgreSQL is not reachable")


def _file_all(base: str, declaration: dict, answers: dict, stop_at: float) -> None:
    """File DOSSIERS dossiers, each retried with its own Idempotency-Key until it is answered 201."""
    session = requests.Session()
    session.auth = BENCH_AUTH
    for n in range(DOSSIERS):
        key, body = f"fault-{n}", {"procedure": "birth", "declaration": distinct_child(declaration)}
        while time.monotonic() < stop_at:
            try:
                response = session.post(f"{base}/api/dossiers", json=body, headers={"Idempotency-Key": key}, timeout=15)
            except requests.RequestException:
                time.sleep(0.3)
                continue
            answers.setdefault(key, []).append(response.status_code)
            if response.status_code == 201:
                break
            time.sleep(0.3)
        time.sleep(0.1)


def _metric(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M))


def test_killed_processes_and_a_lost_database_lose_and_double_nothing(postgres_only, tmp_path, capsys):
    declaration = json.loads((ROOT / "examples" / "birth_declaration.json").read_text(encoding="utf-8"))
    proxy = CuttableProxy()
    fresh = FreshDatabase("postgresql", f"faults_{uuid.uuid4().hex[:4]}").create()
    url = fresh.url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    assert url != fresh.url
    db = Database(fresh.url)  # the test's own view, around the proxy
    began = time.monotonic()

    def note(message: str) -> None:
        with capsys.disabled():
            print(f"\n[faults {time.monotonic() - began:5.1f}s] {message}", end="", flush=True)

    try:
        prepare(url)
        stack = Stack(url, tmp_path / "logs", api_workers=2, job_workers=2, LIENTHONG_JOB_LOCK_SECONDS=LOCK,
                      LIENTHONG_PRINTING="off", LIENTHONG_LOG_FORMAT="json").start()
        try:
            answers: dict[str, list[int]] = {}
            filer = threading.Thread(target=_file_all, args=(stack.base, declaration, answers, time.monotonic() + 90))
            filer.start()
            time.sleep(2)
            gunicorn = stack.processes[0]
            api_children = _descendants(gunicorn.pid)
            os.kill(api_children[0], signal.SIGKILL)
            note(f"SIGKILL API process {api_children[0]} (gunicorn starts another)")
            time.sleep(1.5)
            for slot in (1, 2):  # the job workers, killed and started again as a supervisor would
                os.kill(stack.processes[slot].pid, signal.SIGKILL)
                stack.processes[slot].wait()
                stack._spawn(stack.processes[slot].args, f"worker-{slot}-again")
                note(f"SIGKILL worker {slot}; started again")
                time.sleep(1.0)
            proxy.cut(OUTAGE)
            note(f"database cut off for {OUTAGE:.0f} s")
            time.sleep(OUTAGE + 1)
            os.kill(stack.processes[-1].pid, signal.SIGKILL)
            note("SIGKILL a restarted worker once more")
            stack.processes[-1].wait()
            stack._spawn(stack.processes[-1].args, "worker-last")
            filer.join(timeout=120)
            assert not filer.is_alive()
            retried = {key: codes for key, codes in answers.items() if len(codes) > 1}
            note(f"{len(answers)} filings answered, {len(retried)} after a retry ({retried}); settling")

            # Settle: the queue drains; meanwhile no due job waits longer than claim + heartbeat + backlog.
            oldest_seen, deadline = 0.0, time.monotonic() + SETTLE
            while time.monotonic() < deadline:
                with db.reading() as session:
                    now = session.scalar(select(func.now()))
                    oldest = session.scalar(select(func.min(m.Job.due_at)).where(m.Job.due_at <= now, m.Job.retries > 0))
                    waiting = session.scalar(select(func.count()).select_from(m.Job).where(m.Job.due_at <= now,
                                                                                             m.Job.retries > 0))
                if oldest is not None:
                    oldest_seen = max(oldest_seen, (now - oldest).total_seconds())
                if not waiting:
                    break
                time.sleep(0.5)
            metrics = requests.get(f"{stack.base}/metrics", auth=BENCH_AUTH, timeout=10).text
        finally:
            stack.stop()

        note(f"oldest due job seen while settling: {oldest_seen:.1f} s")
        assert sorted(answers) == sorted(f"fault-{n}" for n in range(DOSSIERS))
        assert all(codes[-1] == 201 for codes in answers.values()), answers
        with db.reading() as session:
            dossiers = session.scalars(select(Dossier)).all()
            assert len(dossiers) == DOSSIERS  # a retried filing never made a second dossier
            assert len({d.subject_key for d in dossiers}) == DOSSIERS
            for dossier in dossiers:
                instance = session.get(m.ProcessInstance, dossier.instance_id)
                assert instance is not None, dossier.code
                if instance.state == "COMPLETED":
                    continue
                assert instance.state == "ACTIVE", (dossier.code, instance.state)
                resumable = session.scalar(select(func.count()).select_from(m.Task).where(m.Task.instance_id == instance.id)) \
                    + session.scalar(select(func.count()).select_from(m.Job).where(m.Job.instance_id == instance.id,
                                                                                     m.Job.retries > 0))
                assert resumable, f"{dossier.code} waits on nothing it can resume from"
            assert session.scalar(select(func.count()).select_from(m.Incident)) == 0
            assert session.scalar(select(func.count()).select_from(m.Job).where(m.Job.retries == 0)) == 0
        # The backlog the outage left is drained within the claim, a heartbeat and the rounds it takes.
        assert oldest_seen <= LOCK + LOCK / 3 + OUTAGE + 15, oldest_seen
        # What /metrics tells: nothing waiting, no incident, and how long the queue was.
        assert _metric(metrics, "lienthong_jobs_waiting") == 0
        assert _metric(metrics, "lienthong_incidents_open") == 0
        assert "lienthong_job_queue_age_seconds" in metrics and "lienthong_dossiers" in metrics
        note(f"done; /metrics: {_metric(metrics, 'lienthong_dossiers'):.0f} dossiers by state, 0 jobs waiting")
    finally:
        db.dispose()
        proxy.close()
        fresh.drop()
