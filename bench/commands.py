"""SQL statements per command, and in-process dossiers/s and CPU per dossier, with handlers run
inside the command that reaches them (Camunda's boundary, now) and with every handler a job (before).

    python -m bench.commands [--scale smoke|full] [--dossiers N]

On a fresh PostgreSQL schema (SQLite when PostgreSQL is unreachable), in this process, printing off:
1. statements for one command that moves one token from one wait state to the next: completing
   Task_First of bench/plain_step.bpmn (user task → user task), counted with a SQLAlchemy
   `before_cursor_execute` listener (BEGIN/COMMIT are not statements sent that way);
2. N complete birth dossiers driven through the service's commands (bench/inprocess.py), once
   with every in-process handler a job (the engine before issue 16) and once with handlers run
   inline unless the diagram marks them camunda:asyncBefore: dossiers/s, this process's CPU per
   dossier, commands (transactions) and SQL statements per dossier.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

from sqlalchemy import event, select

from .common import ROOT, FreshDatabase, emit, own_cpu, postgres_available, prepare, quiet_logs, save, scale, size, table
from .inprocess import Driver


class Counter:
    def __init__(self, engine):
        self.statements = 0
        self.transactions = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_):
        self.statements += 1

    def _commit(self, *_):
        self.transactions += 1

    def snapshot(self) -> tuple[int, int]:
        return self.statements, self.transactions


def one_step(engine, counter: Counter) -> int:
    from engine import models as m

    engine.deploy({"plain_step.bpmn": (ROOT / "bench" / "plain_step.bpmn").read_bytes()}, name="bench-step")
    figures = []
    for _ in range(5):
        instance_id = engine.start_instance("bench_step", {"n": 1})
        with engine.db.reading() as session:
            task_id = session.scalars(select(m.Task.id).where(m.Task.instance_id == instance_id)).one()
        before, _ = counter.snapshot()
        engine.complete_task(task_id, {"done": True})
        figures.append(counter.snapshot()[0] - before)
    return min(figures)


def dossiers(engine, counter: Counter, n: int, inline: bool) -> dict:
    original = engine.runtime_context
    if not inline:
        engine.runtime_context = dataclasses.replace(original, run_inline=None)
    try:
        driver = Driver(engine)
        driver.complete(driver.file())  # warm up (parsing, caches)
        statements, transactions = counter.snapshot()
        cpu, wall = own_cpu(), time.perf_counter()
        for _ in range(n):
            driver.complete(driver.file())
        cpu, wall = own_cpu() - cpu, time.perf_counter() - wall
        s2, t2 = counter.snapshot()
    finally:
        engine.runtime_context = original
    return {"dossiers": n, "dossiers_per_s": round(n / wall, 2), "cpu_ms_per_dossier": round(cpu * 1000 / n, 1),
            "transactions_per_dossier": round((t2 - transactions) / n, 1),
            "statements_per_dossier": round((s2 - statements) / n, 1)}


def run(chosen: str, n: int) -> dict:
    os.environ.setdefault("LIENTHONG_PRINTING", "off")
    os.environ["LIENTHONG_BHYT_CARD_DELAY_SECONDS"] = "0"
    kind = "postgresql" if postgres_available() else "sqlite"
    with FreshDatabase(kind, "commands") as database, quiet_logs():
        from lienthong.cli import build_engine

        prepare(database.url)
        engine = build_engine(database.url)
        counter = Counter(engine.db.engine)
        step = one_step(engine, counter)
        # Alternating, so that neither side gets a warmer machine.
        before = dossiers(engine, counter, n, inline=False)
        after = dossiers(engine, counter, n, inline=True)
        engine.db.dispose()
    return {"database": kind, "scale": chosen, "statements_per_user_task_step": step, "before": before, "after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale")
    parser.add_argument("--dossiers", type=int)
    args = parser.parse_args()
    chosen = scale(args.scale)
    n = args.dossiers or size("command_dossiers", 3, 40, chosen)
    figures = run(chosen, n)
    rows = [[label, f[ "dossiers_per_s"], f["cpu_ms_per_dossier"], f["transactions_per_dossier"], f["statements_per_dossier"]]
            for label, f in (("every handler a job (before)", figures["before"]),
                             ("handlers inline unless asyncBefore (now)", figures["after"]))]
    print(f"SQL statements, one command moving one token from a user task to the next ({figures['database']}): "
          f"{figures['statements_per_user_task_step']}")
    print(table(rows, ["birth dossiers in process, printing off", "dossiers/s", "CPU ms/dossier", "transactions/dossier",
                       "statements/dossier"]))
    save("commands", figures)
    emit("commands", figures)


if __name__ == "__main__":
    main()
