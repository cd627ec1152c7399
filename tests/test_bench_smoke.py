"""The benchmarks' smoke mode (tiny sizes), so they never rot: each runs to the end and prints its
figures. Timings are never asserted; `make bench` is where they are read (README "Performance")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import postgres_available

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(name: str, tmp_path: Path) -> tuple[str, dict]:
    env = {**os.environ, "BENCH_SCALE": "smoke", "BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"BENCH-RESULT {name} ")]
    assert len(lines) == 1, done.stdout[-3000:]
    assert (tmp_path / f"{name}.json").exists()
    return done.stdout, json.loads(lines[0].split(" ", 2)[2])


@pytest.fixture
def postgres():
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required under CI")
        pytest.skip("PostgreSQL is not reachable")


@pytest.mark.slow
def test_lifecycle(tmp_path):
    out, figures = run_benchmark("lifecycle", tmp_path)
    assert "raw SpiffWorkflow:" in out and "latency per API call" in out and "printing: milliseconds" in out
    runs = figures["runs"]
    assert {(r["database"], r["printing"]) for r in runs} >= {("sqlite", False), ("sqlite", True)}
    assert all(r["failures"] == 0 and r["dossiers_per_s"] > 0 for r in runs)
    assert figures["raw_cpu_ms"] > 0 and figures["printing_forms"]


@pytest.mark.slow
def test_query_scale(tmp_path, postgres):
    out, figures = run_benchmark("query_scale", tmp_path)
    assert {"inbox/engine", "status/engine", "incidents/engine", "overdue/engine",
            "inbox/http", "status/http", "incidents/http", "overdue/http"} == set(figures["p95_ms"])
    assert "EXPLAIN" in out and "Index" in out


@pytest.mark.slow
def test_cost_growth(tmp_path):
    out, figures = run_benchmark("cost_growth", tmp_path)
    assert figures["loops"] == 3 and figures["first10_step_ms"] > 0 and figures["plain_largest_state_bytes"] > 0
    assert "per step" in out


@pytest.mark.slow
def test_workers(tmp_path, postgres):
    _, figures = run_benchmark("workers", tmp_path)
    assert set(figures) == {"service-task/1", "service-task/2", "timer/1", "timer/2"}


def test_summary_reads_what_the_benchmarks_left(tmp_path, monkeypatch):
    from bench import run_all

    (tmp_path / "cost_growth.json").write_text(json.dumps({
        "loops": 3, "last_over_first": 1.1, "first10_step_ms": 10.0, "last10_step_ms": 11.0,
        "first10_state_bytes": 100, "last10_state_bytes": 120, "db_bytes_per_dossier": None}))
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)
    text = run_all.summary("smoke")
    assert "last-10 / first-10" in text and "≤ 1.5" in text


@pytest.mark.slow
def test_commands(tmp_path):
    out, figures = run_benchmark("commands", tmp_path)
    assert "SQL statements, one command moving one token" in out
    assert figures["statements_per_user_task_step"] > 0
    for side in ("before", "after"):
        assert figures[side]["dossiers"] == 3 and figures[side]["statements_per_dossier"] > 0
    # Handlers run inside the commands that reach them: fewer transactions per dossier than as jobs.
    assert figures["after"]["transactions_per_dossier"] < figures["before"]["transactions_per_dossier"]


@pytest.mark.slow
def test_retention(tmp_path, postgres):
    out, figures = run_benchmark("retention", tmp_path)
    assert figures["instances_removed"] == figures["dossiers_erased"] == figures["dossiers"]
    assert figures["rows_per_s"] > 0 and figures["longest_batch_ms"] > 0 and "rows removed per second" in out


@pytest.mark.slow
def test_plain(tmp_path):
    out, figures = run_benchmark("plain", tmp_path)
    assert "plain diagram" in out
    runs = figures["runs"]
    assert {"raw SpiffWorkflow", "lienthong sqlite"} <= set(runs)
    for name, f in runs.items():
        assert f["instances"] > 0 and f["cpu_ms_per_instance"] > 0, name


@pytest.mark.slow
def test_printing(tmp_path):
    out, figures = run_benchmark("printing", tmp_path)
    assert "RSS of the printing process" in out
    assert figures["memory"]["renders"] == 9 and figures["memory"]["printing_cpu_ms_per_declaration"] > 0
    assert "layout only (no PDF)" in figures["options"]
