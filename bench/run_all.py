"""Every benchmark, then one table of the issue's targets beside the measured figures.

    BENCH_SCALE=smoke|full python -m bench.run_all      # what `make bench` runs (full by default)

Each benchmark runs in its own process (its output streams as it goes) and leaves its figures in
var/bench/<name>.json; the summary is read from there and also written to var/bench/summary.txt.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

from .common import RESULTS, ROOT, machine, postgres_available, scale, table

BENCHMARKS = ("lifecycle", "query_scale", "cost_growth", "workers", "commands", "retention", "plain", "printing")
NEEDS_POSTGRES = {"query_scale", "workers", "retention"}


def run_each(chosen: str) -> dict[str, float]:
    took = {}
    for name in BENCHMARKS:
        if name in NEEDS_POSTGRES and not postgres_available():
            print(f"\n(skipping {name}: PostgreSQL is not reachable)")
            continue
        (RESULTS / f"{name}.json").unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", f"bench.{name}", "--scale", chosen], cwd=ROOT, check=True)
        took[name] = time.perf_counter() - started
        print(f"({name} took {took[name]:.0f}s)\n", flush=True)
    return took


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def summary(chosen: str) -> str:
    rows = []
    lifecycle, queries, growth, workers, commands, retention, plain, printing = (_load(n) for n in BENCHMARKS)
    if lifecycle:
        for r in lifecycle["runs"]:
            # Issue 16's targets: on PostgreSQL, 25 a second with printing off, 10 with it on.
            target = (10 if r["printing"] else 25) if r["database"] == "postgresql" else None
            rows.append([f"complete dossiers/s, {r['database']}, printing {'on' if r['printing'] else 'off'}",
                         f"≥ {target}" if target else "", f"{r['dossiers_per_s']:.1f}",
                         _verdict(r["dossiers_per_s"] >= target if target else None)])
        for r in lifecycle["runs"]:
            rows.append([f"service/raw CPU, {r['database']}, printing {'on' if r['printing'] else 'off'}",
                         "≤ 3", f"{r['ratio_service_raw']:.1f} ({r['service_cpu_ms_per_dossier']:.0f} / "
                                f"{lifecycle['raw']['cpu_ms_per_dossier']:.0f} ms)", _verdict(r["ratio_service_raw"] <= 3)])
        for r in lifecycle["runs"]:
            if r["database"] == "postgresql" and not r["printing"]:
                for kind, s in r["latency_ms"].items():
                    rows.append([f"p50/p95/p99 {kind} under load, postgresql (ms)", "p95 ≤ 100",
                                 f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f}", _verdict(s["p95"] <= 100)])
        for form, f in lifecycle["printing_ms"].items():
            rows.append([f"printing the {form} declaration, in process: p50 ms, CPU ms", "",
                         f"{f['p50']:.0f}, {f['cpu_ms']:.0f}", "-"])
    if queries:
        for name, s in queries["latency_ms"].items():
            target = name.split("/")[0] in ("inbox", "status")
            rows.append([f"p95 {name} at {queries['dossiers']:,} dossiers (ms)", "≤ 20" if target else "",
                         f"{s['p95']:.1f}", _verdict(s["p95"] <= 20 if target else None)])
    if growth:
        done = growth.get("loops_done", growth["loops"])
        broke = f"; broke at loop {done + 1}" if growth.get("broke") else ""
        rows.append([f"last-10 / first-10 step after {done} of {growth['loops']} loops{broke}", "≤ 1.5",
                     f"{growth['last_over_first']:.2f} ({growth['first10_step_ms']:.0f} → {growth['last10_step_ms']:.0f} ms)",
                     _verdict(growth["last_over_first"] <= 1.5)])
        rows.append(["stored state first-10 → last-10 (bytes)", "",
                     f"{growth['first10_state_bytes']:,.0f} → {growth['last10_state_bytes']:,.0f}", "-"])
        if growth.get("db_bytes_per_dossier") is not None:
            rows.append(["database bytes per finished dossier (live / before vacuum)", "",
                         f"{growth['db_bytes_per_dossier']:,.0f} / {growth['db_bytes_per_dossier_before_vacuum']:,.0f}", "-"])
    if workers:
        for r in workers["rounds"]:
            rows.append([f"{r['kind']} jobs/s, {r['workers']} worker(s)", "", f"{r['jobs_per_s']:.0f}", "-"])
    if commands:
        step = commands["statements_per_user_task_step"]
        rows.append([f"SQL statements, one command user task → user task, {commands['database']}", "≤ 6", f"{step}",
                     _verdict(step <= 6)])
        for label, f in (("every handler a job", commands["before"]), ("handlers inline", commands["after"])):
            rows.append([f"in-process birth dossiers, {label}: dossiers/s, CPU ms, statements per dossier", "",
                         f"{f['dossiers_per_s']:.1f}, {f['cpu_ms_per_dossier']:.0f}, {f['statements_per_dossier']:.0f}", "-"])
    if retention:
        rows.append([f"history and personal-data clean-up, {retention['dossiers']:,} dossiers: rows removed/s, "
                     "longest batch (ms)", "", f"{retention['rows_per_s']:,}, {retention['longest_batch_ms']:.0f}", "-"])
    if plain:
        for name, f in plain["runs"].items():
            rows.append([f"plain diagram (3 inline service tasks, 1 user task), {name}: instances/s, CPU ms, ÷ raw", "",
                         f"{f['instances_per_s']:.1f}, {f['cpu_ms_per_instance']:.1f}, {f['ratio_to_raw']:.1f}", "-"])
    if printing:
        cpu = printing["memory"]["printing_cpu_ms_per_declaration"]
        rows.append(["CPU ms per printed declaration (printing process)", "≤ 50", f"{cpu:.0f}", _verdict(cpu <= 50)])
        samples = printing["memory"]["samples"]
        rows.append([f"RSS of the printing process over {printing['memory']['dossiers']} dossiers (MB, first → max → last)",
                     "flat", f"{samples[0]['printing_rss_mb']:.0f} → {max(s['printing_rss_mb'] for s in samples):.0f} → "
                             f"{samples[-1]['printing_rss_mb']:.0f}", "-"])
    return (f"summary ({chosen}) on {machine()}\n" +
            table(rows, ["figure", "target", "measured", "verdict"]))


def main() -> None:
    chosen = scale(sys.argv[1] if len(sys.argv) > 1 else None)
    took = run_each(chosen)
    text = summary(chosen) + "\n\n" + ", ".join(f"{n} {s:.0f}s" for n, s in took.items())
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
