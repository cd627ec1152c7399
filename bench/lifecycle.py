"""Lifecycle throughput: complete birth dossiers per second, over HTTP, against the service behind
gunicorn (2 workers) with separate job workers, on SQLite and on PostgreSQL, each on a fresh
database; with the real printing handler and with LIENTHONG_PRINTING=off. In the same run: the
same path by raw SpiffWorkflow in memory (bench/raw.py) and the service/raw CPU ratio; and the
milliseconds each printable declaration takes to render.

    python -m bench.lifecycle [--scale smoke|full]

A client files a dossier (POST /api/dossiers), waits in each officer group's inbox for its task
(GET /engine-rest/task?candidateGroup=...&processInstanceBusinessKey=...), approves it (POST
/engine-rest/task/{id}/complete), then follows the dossier (GET /api/dossiers/{code}) until it is
completed. The BHYT card message arrives by itself, from the local BHXH stand-in, 1 s after the
hand-off (its default LIENTHONG_BHYT_CARD_DELAY_SECONDS). A 409 on completing (a job on another
branch of the same instance committed first) is retried, as an officer's screen would.
Sizes: BENCH_CLIENTS, BENCH_DOSSIERS, BENCH_PRINTED_DOSSIERS, BENCH_RAW_DOSSIERS, BENCH_POLL_SECONDS,
BENCH_JOB_WORKERS, BENCH_DATABASES (sqlite,postgresql).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import requests

from . import raw
from .common import (BENCH_AUTH, RESULTS, ROOT, VENV_BIN, FreshDatabase, Stack, emit, own_cpu, postgres_available, postgres_cpu, prepare,
                     distinct_child, save, scale, size, summary_ms, table)

KINDS = ("file", "inbox", "complete", "status")
GROUPS = (("tu-phap-ho-tich", "birth"), ("cong-an", "residence"), ("bhxh", "bhyt"))
AGENCIES = [f"H19.87.{n:03d}" for n in range(1, 101)]  # many communes share one database


def agency_catalogue(folder: Path) -> Path:
    """The benchmark's communes as the service's agency catalogue (filing accepts listed agencies only)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "agencies.json"
    path.write_text(json.dumps([{"code": code, "name": f"Xã thử nghiệm {n}", "province": "Tỉnh thử nghiệm"}
                                for n, code in enumerate(AGENCIES, 1)], ensure_ascii=False), encoding="utf-8")
    return path


class Failed(Exception):
    pass


class Conflict(Failed):
    pass


class Client:
    """One portal-and-officers client: one dossier at a time, every call timed by kind."""

    def __init__(self, base: str, declaration: dict, poll: float, timeout: float, latencies: dict, lock):
        self.base = base
        self.http = requests.Session()
        self.http.auth = BENCH_AUTH
        self.declaration = declaration
        self.poll = poll
        self.timeout = timeout
        self.latencies = latencies
        self.lock = lock
        self.calls = 0
        self.conflicts = 0

    def _call(self, kind: str, method: str, path: str, expect: int, **kwargs):
        started = time.perf_counter()
        response = self.http.request(method, self.base + path, timeout=60, **kwargs)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
        self.calls += 1
        if response.status_code == 409:
            raise Conflict(response.text[:300])
        if response.status_code != expect:
            raise Failed(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def dossier(self) -> str:
        filed = self._call("file", "POST", "/api/dossiers", 201, json={
            "procedure": "birth", "agencyCode": random.choice(AGENCIES), "declaration": distinct_child(self.declaration)})
        code = filed["code"]
        deadline = time.monotonic() + self.timeout
        self._officers(code, [GROUPS[0]], deadline)
        self._officers(code, list(GROUPS[1:]), deadline)
        while True:
            status = self._call("status", "GET", f"/api/dossiers/{code}", 200)
            if status["state"] == "completed":
                return code
            if status["state"] in ("rejected", "refused", "cancelled"):
                raise Failed(f"dossier {code} ended {status['state']}: {status.get('reason')}")
            self._wait(deadline, code, "completion")

    def _officers(self, code: str, pending: list, deadline: float) -> None:
        while pending:
            for group, part in list(pending):
                tasks = self._call("inbox", "GET", f"/engine-rest/task?candidateGroup={group}"
                                                   f"&processInstanceBusinessKey={code}", 200)
                if tasks and self._complete(tasks[0]["id"]):
                    pending.remove((group, part))
            if pending:
                self._wait(deadline, code, f"the {pending[0][0]} task")

    def _complete(self, task_id: str) -> bool:
        """Approve; a 409 (a job on another branch of the same instance committed first) is
        answered as a UI would: look again and retry. False when it must be retried."""
        try:
            self._call("complete", "POST", f"/engine-rest/task/{task_id}/complete", 204, json={
                "variables": {"decision": {"value": "approve"}, "note": {"value": "Hồ sơ hợp lệ"}}})
            return True
        except Conflict:
            self.conflicts += 1
            return False

    def _wait(self, deadline: float, code: str, what: str) -> None:
        if time.monotonic() > deadline:
            raise Failed(f"dossier {code}: gave up waiting for {what}")
        time.sleep(self.poll)


def drive(base: str, dossiers: int, clients: int, poll: float, timeout: float) -> dict:
    """Run `dossiers` dossiers through `clients` concurrent clients; latencies by kind."""
    declaration = json.loads((ROOT / "examples" / "birth_declaration.json").read_text(encoding="utf-8"))
    latencies: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    remaining = [dossiers]
    done, failures, calls, conflicts = [], [], [0], [0]

    def work():
        client = Client(base, declaration, poll, timeout, latencies, lock)
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            try:
                code = client.dossier()
                with lock:
                    done.append(code)
            except (Failed, requests.RequestException) as exc:
                with lock:
                    failures.append(str(exc))
        with lock:
            calls[0] += client.calls
            conflicts[0] += client.conflicts

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(clients, dossiers))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"wall": time.perf_counter() - started, "completed": len(done), "failures": failures,
            "latencies": latencies, "calls": calls[0], "conflicts": conflicts[0]}


def run_stack(kind: str, printing: bool, *, clients: int, dossiers: int, poll: float, job_workers: int,
              logs: Path) -> dict:
    """One fresh database, one stack, a warm-up, then the measured dossiers."""
    with FreshDatabase(kind, "bench_lifecycle") as database:
        prepare(database.url)
        stack = Stack(database.url, logs / f"{kind}-{'print' if printing else 'noprint'}", job_workers=job_workers,
                      LIENTHONG_PRINTING="on" if printing else "off", LIENTHONG_AGENCY_CATALOGUE=agency_catalogue(logs))
        with stack:
            warm = drive(stack.base, min(dossiers, max(2, clients // 4)), clients, poll, timeout=300)
            if warm["failures"]:
                raise RuntimeError(f"warm-up failed: {warm['failures'][:3]}")
            profilers = start_profilers(stack, logs / "profiles" / f"{kind}-{'print' if printing else 'noprint'}")
            service_cpu, db_cpu, client_cpu = stack.cpu(), postgres_cpu(), own_cpu()
            result = drive(stack.base, dossiers, clients, poll, timeout=600)
            profile = stop_profilers(profilers)
            service_cpu, db_cpu, client_cpu = (stack.cpu() - service_cpu, postgres_cpu() - db_cpu,
                                               own_cpu() - client_cpu)
    completed = max(result["completed"], 1)
    return {
        "database": kind, "printing": printing, "clients": clients, "job_workers": stack.job_workers,
        "embedded_worker": stack.embedded, "dossiers": result["completed"], "failures": len(result["failures"]),
        "failure_examples": result["failures"][:3], "wall_s": result["wall"],
        "dossiers_per_s": result["completed"] / result["wall"],
        "service_cpu_ms_per_dossier": service_cpu / completed * 1000,
        "db_cpu_ms_per_dossier": (db_cpu / completed * 1000) if kind == "postgresql" else 0.0,
        "client_cpu_ms_per_dossier": client_cpu / completed * 1000,
        "calls_per_dossier": result["calls"] / completed,
        "conflicts_409": result["conflicts"], "jobs": job_outcomes(stack.logs), "profile": profile,
        "latency_ms": {k: summary_ms(result["latencies"].get(k, [])) for k in KINDS},
    }


def start_profilers(stack: Stack, folder: Path) -> list:
    """BENCH_PROFILE=1: py-spy samples every process of the stack during the measured dossiers."""
    if os.environ.get("BENCH_PROFILE") != "1":
        return []
    folder.mkdir(parents=True, exist_ok=True)
    profilers = []
    for pid in stack.pids():
        out = folder / f"{pid}.txt"
        profilers.append((subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "100",
                                            "--format", "raw", "--output", str(out), "--nonblocking"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    time.sleep(1)
    return profilers


def stop_profilers(profilers: list) -> dict | None:
    """Top functions by own samples and by samples with them on the stack, over every process."""
    if not profilers:
        return None
    for process, _ in profilers:
        process.send_signal(signal.SIGINT)
    own, inclusive, total = defaultdict(int), defaultdict(int), 0
    for process, out in profilers:
        process.wait(timeout=60)
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].replace(str(ROOT) + "/", "")
                      .split("site-packages/")[-1] + ")" for f in stack.split(";") if f and not f.startswith("process ")
                      and not f.startswith("thread ")]
            if not frames:
                continue
            n = int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    top = lambda d: [(name, round(100 * n / total, 1)) for name, n in sorted(d.items(), key=lambda kv: -kv[1])[:25]]  # noqa: E731
    return {"samples": total, "self": top(own), "inclusive": top(inclusive)}


def job_outcomes(logs: Path) -> dict:
    """How the job workers' runs ended (warm-up included), from their JSON log lines."""
    outcomes: dict[str, int] = defaultdict(int)
    for path in logs.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if '"outcome"' in line:
                try:
                    outcomes[json.loads(line)["outcome"]] += 1
                except (ValueError, KeyError):
                    pass
    return dict(outcomes)


def printing_ms(repeats: int) -> dict:
    """Milliseconds to render each declaration forms.printing knows, from the example's extraction."""
    from forms.printing import FORMS
    from forms.printing import render_here as render_declaration  # in this process, so that its CPU is counted

    declarations = raw.handler_results(raw.filing_variables())["Task_Extract"]["declarations"]
    figures = {}
    for form in FORMS:
        data = declarations.get(form)
        if data is None:
            continue
        on = date.fromisoformat(data["declaredOn"]) if data.get("declaredOn") else None
        render_declaration(form, data, place=data.get("place"), on=on)  # warm: fonts, templates
        times, cpu = [], time.process_time()
        for _ in range(repeats):
            started = time.perf_counter()
            pdf = render_declaration(form, data, place=data.get("place"), on=on)
            times.append(time.perf_counter() - started)
        figures[form] = {**summary_ms(times), "cpu_ms": (time.process_time() - cpu) / repeats * 1000,
                         "pdf_bytes": len(pdf)}
    return figures


def run(chosen: str) -> dict:
    clients = size("clients", 2, 24, chosen)
    dossiers = size("dossiers", 2, 400, chosen)
    printed = size("printed_dossiers", 2, 80, chosen)
    raw_dossiers = size("raw_dossiers", 3, 200, chosen)
    poll = size("poll_seconds", 0.05, 0.25, chosen)
    job_workers = size("job_workers", 2, 2, chosen)
    databases = [d for d in str(size("databases", "sqlite,postgresql", "sqlite,postgresql", chosen)).split(",") if d]
    if "postgresql" in databases and not postgres_available():
        print("PostgreSQL is not reachable: lifecycle runs on SQLite only")
        databases.remove("postgresql")
    logs = RESULTS / "logs" / "lifecycle"

    print(f"== lifecycle ({chosen}): {clients} clients, {dossiers} dossiers ({printed} with printing), "
          f"gunicorn 2 workers x 4 threads + {job_workers} `lienthong worker` processes")
    raw_figures = raw.measure(raw_dossiers)
    print(f"raw SpiffWorkflow: {raw_figures['cpu_ms_per_dossier']:.1f} ms CPU per dossier "
          f"({raw_figures['commands_per_dossier']} wait states, serialized to JSON and back at each; {raw_dossiers} dossiers)")
    runs = []
    for kind in databases:
        for printing in (False, True):
            runs.append(run_stack(kind, printing, clients=clients, dossiers=printed if printing else dossiers,
                                  poll=poll, job_workers=job_workers, logs=logs))
            r = runs[-1]
            print(f"  {kind:<10} printing {'on ' if printing else 'off'}: {r['dossiers_per_s']:.2f} dossiers/s "
                  f"({r['dossiers']} in {r['wall_s']:.1f}s, {r['failures']} failed)", flush=True)
            print(f"    409s retried: {r['conflicts_409']}; job runs (warm-up included): {r['jobs']}")
            for example in r["failure_examples"]:
                print(f"    failure: {example}")
    raw_cpu = raw_figures["cpu_ms_per_dossier"]
    for r in runs:
        r["ratio_service_raw"] = r["service_cpu_ms_per_dossier"] / raw_cpu
        r["ratio_with_db_raw"] = (r["service_cpu_ms_per_dossier"] + r["db_cpu_ms_per_dossier"]) / raw_cpu

    print("\nthroughput and CPU per complete dossier (server side: gunicorn + job workers; db: PostgreSQL processes)")
    print(table([[r["database"], "on" if r["printing"] else "off", r["dossiers"], r["dossiers_per_s"],
                  r["service_cpu_ms_per_dossier"], r["db_cpu_ms_per_dossier"], r["client_cpu_ms_per_dossier"],
                  raw_cpu, r["ratio_service_raw"], r["ratio_with_db_raw"], r["calls_per_dossier"]] for r in runs],
                ["database", "printing", "dossiers", "dossiers/s", "service ms", "db ms", "client ms", "raw ms",
                 "service/raw", "(+db)/raw", "calls"]))
    print("\nlatency per API call (ms)")
    rows = []
    for r in runs:
        for kind in KINDS:
            s = r["latency_ms"][kind]
            rows.append([r["database"], "on" if r["printing"] else "off", kind, s["n"], s["p50"], s["p95"], s["p99"]])
    print(table(rows, ["database", "printing", "call", "n", "p50", "p95", "p99"]))

    for r in runs:
        if r["profile"]:
            print(f"\nprofile, {r['database']}, printing {'on' if r['printing'] else 'off'} "
                  f"({r['profile']['samples']} py-spy samples over every process of the stack): % of samples")
            print(table([[a, b, "|", c, d] for (a, b), (c, d) in zip(r["profile"]["inclusive"], r["profile"]["self"])],
                        ["on the stack", "%", "|", "running itself", "%"]))
    printing = printing_ms(size("print_repeats", 1, 10, chosen))
    print("\nprinting: milliseconds per declaration (WeasyPrint, in process)")
    print(table([[form, f["n"], f["p50"], f["mean"], f["cpu_ms"], f["pdf_bytes"]] for form, f in printing.items()],
                ["form", "n", "p50 ms", "mean ms", "cpu ms", "pdf bytes"]))
    figures = {"raw": raw_figures, "runs": runs, "printing_ms": printing}
    emit("lifecycle", {"runs": [{k: r[k] for k in ("database", "printing", "dossiers_per_s", "ratio_service_raw",
                                                     "failures")} for r in runs],
                       "raw_cpu_ms": raw_cpu, "printing_forms": sorted(printing)})
    save("lifecycle", figures)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["smoke", "full"])
    run(scale(parser.parse_args().scale))


if __name__ == "__main__":
    main()
