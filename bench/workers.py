"""Worker throughput: timer and service-task jobs per second with 1, 2 and 4 `lienthong worker`
processes sharing one PostgreSQL database.

    python -m bench.workers [--scale smoke|full]

bench/jobs.bpmn has two tiny processes: `bench_service` (one service task whose handler,
bench/noop_handlers.py, does nothing) and `bench_timer` (one PT0S intermediate timer). For each
worker count and kind, M instances are started (each leaves one job), the jobs are held back
(due tomorrow) while the workers start, then released at once; the clock runs until the job table
is empty. A job is a whole command: claim, load the instance, run, save, delete the job.
Sizes: BENCH_WORKER_JOBS, BENCH_WORKER_COUNTS (e.g. 1,2,4).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from pathlib import Path

from .common import (RESULTS, ROOT, VENV_BIN, FreshDatabase, cpu_seconds, emit, postgres_available, postgres_cpu,
                     prepare, quiet_logs, save, scale, service_environment, size, table)

HANDLERS = "bench.noop_handlers"
KINDS = {"service-task": "bench_service", "timer": "bench_timer"}


def start_workers(url: str, count: int, logs: Path) -> list[subprocess.Popen]:
    logs.mkdir(parents=True, exist_ok=True)
    env = service_environment(url, LIENTHONG_HANDLER_MODULES=HANDLERS)
    processes = []
    for n in range(count):
        log = open(logs / f"worker-{n}.log", "wb")
        processes.append(subprocess.Popen([str(VENV_BIN / "lienthong"), "worker"], env=env, cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + 60
    while not all(b"worker started" in (logs / f"worker-{n}.log").read_bytes() for n in range(count)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop(processes)
            raise RuntimeError(f"the workers did not start; see {logs}")
        time.sleep(0.1)
    return processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def one_round(engine, database, kind: str, jobs: int, workers: int, logs: Path) -> dict:
    for _ in range(jobs):
        engine.start_instance(KINDS[kind])
    with database.connect() as conn:
        conn.execute("update job set due_at = now() + interval '1 day'")
        conn.commit()
        queued = conn.execute("select count(*) from job").fetchone()[0]
        processes = start_workers(database.url, workers, logs / f"{kind}-{workers}")
        try:
            cpu, db_cpu = sum(cpu_seconds(p.pid) for p in processes), postgres_cpu()
            started = time.perf_counter()
            conn.execute("update job set due_at = now()")
            conn.commit()
            deadline = started + 600
            while conn.execute("select count(*) from job").fetchone()[0]:
                conn.commit()
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{kind} jobs with {workers} workers did not finish in 600 s")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            cpu, db_cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu, postgres_cpu() - db_cpu
            active = conn.execute("select count(*) from process_instance where state = 'ACTIVE'").fetchone()[0]
        finally:
            stop(processes)
    if active:
        raise RuntimeError(f"{active} {kind} instances were left unfinished")
    return {"kind": kind, "workers": workers, "jobs": queued, "seconds": elapsed, "jobs_per_s": queued / elapsed,
            "worker_cpu_ms_per_job": cpu / queued * 1000, "db_cpu_ms_per_job": db_cpu / queued * 1000}


def run(chosen: str) -> dict:
    if not postgres_available():
        raise SystemExit("workers needs PostgreSQL (BENCH_POSTGRES_URL or LIENTHONG_TEST_POSTGRES_URL)")
    jobs = size("worker_jobs", 20, 2000, chosen)
    counts = size("worker_counts", [1, 2], [1, 2, 4], chosen)
    print(f"== workers ({chosen}): {jobs} jobs of each kind, {', '.join(map(str, counts))} `lienthong worker` processes")
    os.environ["LIENTHONG_HANDLER_MODULES"] = HANDLERS
    rounds = []
    with FreshDatabase("postgresql", "bench_workers") as database:
        prepare(database.url, deploy=False)
        from lienthong.cli import build_engine

        with quiet_logs():
            engine = build_engine(database.url)
            engine.deploy({"jobs.bpmn": (Path(__file__).parent / "jobs.bpmn").read_bytes()}, name="bench")
            for workers in counts:
                for kind in KINDS:
                    rounds.append(one_round(engine, database, kind, jobs, workers, RESULTS / "logs" / "workers"))
                    r = rounds[-1]
                    print(f"  {kind:<12} {workers} worker(s): {r['jobs_per_s']:.0f} jobs/s", flush=True)
            engine.db.dispose()
    print()
    print(table([[r["kind"], r["workers"], r["jobs"], r["seconds"], r["jobs_per_s"], r["worker_cpu_ms_per_job"],
                  r["db_cpu_ms_per_job"]] for r in rounds],
                ["job", "workers", "jobs", "seconds", "jobs/s", "worker cpu ms/job", "db cpu ms/job"]))
    emit("workers", {f"{r['kind']}/{r['workers']}": round(r["jobs_per_s"], 1) for r in rounds})
    save("workers", {"rounds": rounds})
    return {"rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["smoke", "full"])
    run(scale(parser.parse_args().scale))


if __name__ == "__main__":
    main()
