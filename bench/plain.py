"""A plain diagram side by side: lienthong on SQLite and PostgreSQL against SpiffWorkflow alone.

    python -m bench.plain [--scale smoke|full] [--instances N]

bench/plain.bpmn is the shape other SpiffWorkflow services are measured on: three in-process
service tasks (bench/noop_handlers.py: they do nothing) and one user task. Run inline, as the
diagram does not mark them camunda:asyncBefore, an instance is two commands: the start (which
runs the three handlers and stops at the user task) and the completion of the user task.

* lienthong: those two engine commands, in this process, on a fresh database of each kind
  (history, inbox rows, variables and audit written as always; no HTTP);
* raw SpiffWorkflow: the same diagram parsed once with the engine's parser; per instance the
  workflow is created, run to the user task with the three tasks completed in the same run,
  serialized to JSON text, read back, the user task completed, serialized again.

Figures: instances/s and CPU ms per instance (this process's), and the ratio to raw.
Size: BENCH_PLAIN_INSTANCES.
"""
from __future__ import annotations

import argparse
import json
import time

from .common import ROOT, FreshDatabase, emit, own_cpu, postgres_available, prepare, quiet_logs, save, scale, size, table

DIAGRAM = ROOT / "bench" / "plain.bpmn"


def lienthong(kind: str, n: int) -> dict:
    from sqlalchemy import select

    with FreshDatabase(kind, "plain") as database, quiet_logs():
        import bench.noop_handlers  # noqa: F401 - registers bench.noop
        from engine import models as m
        from lienthong.cli import build_engine

        prepare(database.url, deploy=False)
        engine = build_engine(database.url)
        engine.deploy({DIAGRAM.name: DIAGRAM.read_bytes()}, name="bench-plain")

        def one() -> None:
            instance_id = engine.start_instance("bench_plain", {"n": 1})
            with engine.db.reading() as session:
                task_id = session.scalars(select(m.Task.id).where(m.Task.instance_id == instance_id)).one()
            engine.complete_task(task_id, {"done": True})

        one()  # warm: parsing, caches
        cpu, wall = own_cpu(), time.perf_counter()
        for _ in range(n):
            one()
        cpu, wall = own_cpu() - cpu, time.perf_counter() - wall
        engine.db.dispose()
    return {"instances": n, "instances_per_s": n / wall, "cpu_ms_per_instance": cpu * 1000 / n}


def raw(n: int) -> dict:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.specs.user_task import UserTask
    from SpiffWorkflow.util.task import TaskState

    from engine.bpmn.parser import EngineParser
    from engine.bpmn.script_engine import ExpressionScriptEngine, enter_scope, leave_scope, run_task, scope_of
    from engine.bpmn.serializer import workflow_from_dict, workflow_to_dict
    from engine.bpmn.specs import ExternalServiceTask
    from engine.clock import SystemClock, default_zone
    from engine.xml import parse_untrusted

    parser = EngineParser()
    parser.add_bpmn_xml(parse_untrusted(DIAGRAM.read_bytes(), DIAGRAM.name), DIAGRAM.name)
    spec = parser.get_spec("bench_plain")
    script_engine = ExpressionScriptEngine(SystemClock(), default_zone())

    def run(workflow) -> None:  # to the next wait state, the service tasks completed as they come
        while True:
            workflow.do_engine_steps(enter_scope, leave_scope)
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, ExternalServiceTask)]
            if not ready:
                return
            for task in ready:
                run_task(task, {})

    def one() -> None:
        workflow = BpmnWorkflow(spec, {}, script_engine=script_engine)
        scope_of(workflow).update({"n": 1})
        run(workflow)
        state = json.dumps(workflow_to_dict(workflow), ensure_ascii=False)
        workflow = workflow_from_dict(json.loads(state), spec, {}, script_engine)
        task = next(t for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, UserTask))
        run_task(task, {"done": True})
        run(workflow)
        json.dumps(workflow_to_dict(workflow), ensure_ascii=False)
        assert workflow.completed

    one()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        one()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"instances": n, "instances_per_s": n / wall, "cpu_ms_per_instance": cpu * 1000 / n}


def run(chosen: str, n: int) -> dict:
    runs = {"raw SpiffWorkflow": raw(n * 5), "lienthong sqlite": lienthong("sqlite", n)}
    if postgres_available():
        runs["lienthong postgresql"] = lienthong("postgresql", n)
    raw_cpu = runs["raw SpiffWorkflow"]["cpu_ms_per_instance"]
    for figures in runs.values():
        figures["ratio_to_raw"] = figures["cpu_ms_per_instance"] / raw_cpu
    return {"scale": chosen, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale")
    parser.add_argument("--instances", type=int)
    args = parser.parse_args()
    chosen = scale(args.scale)
    figures = run(chosen, args.instances or size("plain_instances", 5, 200, chosen))
    print(table([[name, f"{f['instances_per_s']:.1f}", f"{f['cpu_ms_per_instance']:.2f}", f"{f['ratio_to_raw']:.1f}"]
                 for name, f in figures["runs"].items()],
                ["plain diagram: 3 in-process service tasks + 1 user task", "instances/s", "CPU ms/instance", "÷ raw"]))
    save("plain", figures)
    emit("plain", figures)


if __name__ == "__main__":
    main()
