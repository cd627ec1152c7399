"""Cost growth: does a dossier get slower, and its stored state bigger, the longer its history?

    python -m bench.cost_growth [--scale smoke|full] [--loops N]

One birth dossier goes through N supplement loops (default 200): the civil-status officer asks
for a supplement (POST task/complete, decision=supplement), the SMS job runs, the citizen sends
it (POST /api/dossiers/{code}/supplements), the due-date job runs and the task is back. Each
loop is driven through the service's own commands in process on a fresh PostgreSQL schema
(SQLite when PostgreSQL is unreachable), so every command and job is timed alone; a step is one
whole loop (both commands and their jobs). Then it is approved to the end.

Beside it, K plain dossiers run to the end in the same database: the size of the stored state
(process_instance.workflow as JSON text) at its largest, and the database bytes a finished
dossier costs (pg_total_relation_size of every table, before and after, per dossier).
LIENTHONG_PRINTING=off unless set: the PDFs (~30-40 kB per form) would otherwise dominate bytes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from .common import FreshDatabase, emit, postgres_available, prepare, quiet_logs, save, scale, size, table
from .inprocess import GROUPS, Driver


def state_bytes(engine, code: str) -> int:
    from sqlalchemy import text

    with engine.db.reading() as session:
        value = session.execute(text("select p.workflow from process_instance p join dossier d on d.instance_id = p.id "
                                     "where d.code = :code"), {"code": code}).scalar()
    if value is None:
        return 0
    import json
    return len(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def supplement_loops(driver: Driver, loops: int) -> tuple[str, list[dict], str | None]:
    """The loops, up to the first that fails (what failed, or None)."""
    code = driver.file()
    driver.drain(lambda: driver.task(code, GROUPS[0]) is not None)
    steps = []
    for n in range(1, loops + 1):
        try:
            steps.append(one_loop(driver, code, n))
        except Exception as exc:  # noqa: BLE001 - the breaking point is a result, not a crash
            return code, steps, f"loop {n}: {type(exc).__name__}: {str(exc)[:200]}"
    return code, steps, None


def one_loop(driver: Driver, code: str, n: int) -> dict:
    task = driver.task(code, GROUPS[0])
    ask = timed(lambda: driver.engine.complete_task(task, {"decision": "supplement", "note": f"Bổ sung lần {n}"}))
    jobs_ask = timed(driver.run_jobs)
    answer = timed(lambda: driver.supplement(code))
    jobs_answer = timed(driver.run_jobs)
    if driver.task(code, GROUPS[0]) is None:
        raise RuntimeError("the task did not come back")
    return {"loop": n, "ask_ms": ask, "supplement_ms": answer, "jobs_ms": jobs_ask + jobs_answer,
            "step_ms": ask + jobs_ask + answer + jobs_answer, "state_bytes": state_bytes(driver.engine, code)}


def database_bytes(database, compact: bool = False) -> dict[str, int]:
    """Bytes per table; `compact`: after VACUUM FULL, i.e. live rows only, without the dead row
    versions every update leaves until autovacuum comes by."""
    if database.kind != "postgresql":
        return {}
    with database.connect() as conn:
        if compact:
            conn.autocommit = True
            tables = conn.execute("select tablename from pg_tables where schemaname = current_schema()").fetchall()
            for (name,) in tables:
                conn.execute(f'vacuum full "{name}"')
        return dict(conn.execute("select c.relname, pg_total_relation_size(c.oid) from pg_class c where c.relkind = 'r' "
                                 "and c.relnamespace = (select oid from pg_namespace where nspname = current_schema())"
                                 ).fetchall())


def plain_dossiers(driver: Driver, count: int) -> dict:
    """Run `count` dossiers to the end; the largest stored state any of them had."""
    largest = 0
    for _ in range(count):
        code = driver.file()
        for group in GROUPS:
            driver.decide(code, group, "approve")
            largest = max(largest, state_bytes(driver.engine, code))
        driver.drain(lambda: driver.status(code)["state"] == "completed")
        driver.run_jobs()
    return {"largest_state_bytes": largest}


def run(chosen: str, loops: int | None = None) -> dict:
    loops = loops or size("loops", 3, 200, chosen)
    plain = size("plain_dossiers", 3, 100, chosen)
    kind = "postgresql" if postgres_available() else "sqlite"
    print(f"== cost growth ({chosen}): {loops} supplement loops on one dossier, {plain} plain dossiers, {kind}")
    os.environ.setdefault("LIENTHONG_PRINTING", "off")
    os.environ["LIENTHONG_BHYT_CARD_DELAY_SECONDS"] = "0"
    with FreshDatabase(kind, "bench_growth") as database:
        prepare(database.url)
        from lienthong.cli import build_engine

        with quiet_logs():
            engine = build_engine(database.url)
            driver = Driver(engine)
            plain_dossiers(driver, 1)  # warm: specs cached, connections open
            before = database_bytes(database, compact=True)
            plain_figures = plain_dossiers(driver, plain)
            written = database_bytes(database)
            after = database_bytes(database, compact=True)
            code, steps, broke = supplement_loops(driver, loops)
            looped_state = steps[-1]["state_bytes"]
            finish = None if broke else timed(lambda: driver.complete(code))
            engine.db.dispose()
    window = min(10, len(steps))
    first, last = steps[:window], steps[-window:]
    mean = lambda rows, key: statistics.fmean(r[key] for r in rows)  # noqa: E731
    print(f"\nper step (one loop: ask + SMS job + supplement + due-date job), first and last {window}, ms")
    rows = []
    for a, b in zip(first, last):
        rows.append([a["loop"], a["step_ms"], a["ask_ms"], a["supplement_ms"], a["state_bytes"], "|",
                     b["loop"], b["step_ms"], b["ask_ms"], b["supplement_ms"], b["state_bytes"]])
    print(table(rows, ["loop", "step", "ask", "suppl.", "state B", "|", "loop", "step", "ask", "suppl.", "state B"]))
    growth = mean(last, "step_ms") / mean(first, "step_ms")
    per_table = {name: (after.get(name, 0) - before.get(name, 0)) / plain for name in after}
    churn = {name: (written.get(name, 0) - before.get(name, 0)) / plain for name in written}
    figures = {
        "database": kind, "loops": loops,
        "first10_step_ms": mean(first, "step_ms"), "last10_step_ms": mean(last, "step_ms"), "last_over_first": growth,
        "first10_state_bytes": mean(first, "state_bytes"), "last10_state_bytes": mean(last, "state_bytes"),
        "state_bytes_per_loop": (last[-1]["state_bytes"] - first[0]["state_bytes"]) / max(1, len(steps) - 1),
        "finish_ms": finish, "looped_state_bytes": looped_state, "broke": broke, "loops_done": len(steps),
        "plain_largest_state_bytes": plain_figures["largest_state_bytes"],
        "db_bytes_per_dossier": sum(per_table.values()) if per_table else None,
        "db_bytes_per_dossier_before_vacuum": sum(churn.values()) if churn else None,
        "db_bytes_per_dossier_by_table": dict(sorted(per_table.items(), key=lambda kv: -kv[1])[:10]),
        "steps": steps,
    }
    print(f"\nlast {window} / first {window} steps: {growth:.2f}x  (mean {figures['first10_step_ms']:.1f} -> "
          f"{figures['last10_step_ms']:.1f} ms); state grows {figures['state_bytes_per_loop']:,.0f} B per loop, "
          f"{figures['first10_state_bytes']:,.0f} -> {figures['last10_state_bytes']:,.0f} B")
    if broke:
        print(f"THE DOSSIER BROKE after {len(steps)} loops ({broke}); the figures above stop there")
    print(f"a plain dossier's stored state at its largest: {figures['plain_largest_state_bytes']:,} B "
          "(none once finished: a finished instance keeps no workflow)")
    if per_table:
        print(f"database bytes per finished dossier (marginal over {plain}, live rows after VACUUM FULL): "
              f"{figures['db_bytes_per_dossier']:,.0f} B; before vacuum (dead row versions of every update "
              f"included): {figures['db_bytes_per_dossier_before_vacuum']:,.0f} B")
        print(table([[name, f"{b:,.0f}", f"{churn.get(name, 0):,.0f}"]
                     for name, b in figures["db_bytes_per_dossier_by_table"].items()],
                    ["table", "bytes/dossier", "before vacuum"]))
    emit("cost_growth", {k: figures[k] for k in ("database", "loops", "loops_done", "broke", "first10_step_ms", "last10_step_ms",
                                                 "last_over_first", "db_bytes_per_dossier", "plain_largest_state_bytes")})
    save("cost_growth", figures)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["smoke", "full"])
    parser.add_argument("--loops", type=int)
    args = parser.parse_args()
    run(scale(args.scale), args.loops)


if __name__ == "__main__":
    main()
