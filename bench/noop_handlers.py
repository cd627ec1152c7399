"""The handler bench/jobs.bpmn names: it does nothing, so workers.py measures the engine's cost of
a job alone (loaded with LIENTHONG_HANDLER_MODULES=bench.noop_handlers)."""
from engine.handler_registry import TaskContext, handler


@handler("bench.noop")
def do_nothing(task: TaskContext) -> dict:
    return {}
