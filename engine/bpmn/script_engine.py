"""How SpiffWorkflow evaluates anything in a diagram: through our `${...}` evaluator, never Python.

Variables live in one process scope, as in Camunda: every task reads the scope and writes back
to it. SpiffWorkflow instead copies data along the task tree, so the engine resets a task's data
to the scope before it runs and merges the task's data into the scope after (enter/leave_scope).
"""
from __future__ import annotations

from typing import Any, Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from ..errors import EngineError, ExpressionError
from ..expressions import compile_expression

SCOPE_KEY = "variables"

Decide = Callable[[str, dict, str | None], Any]


class _NoPython(BasePythonScriptEngineEnvironment):
    """Anything in SpiffWorkflow that would reach for Python eval/exec hits this instead."""

    def evaluate(self, expression, context, external_context=None):
        return compile_expression(expression).evaluate(context)

    def execute(self, script, context, external_context=None):
        raise ExpressionError("scripts are not run by this engine")

    def call_service(self, context, **kwargs):
        raise ExpressionError("service calls go through handlers, not the script engine")


def scope_of(workflow) -> dict:
    return workflow.top_workflow.data.setdefault(SCOPE_KEY, {})


def variables_for(task) -> dict:
    return {**task.data, **scope_of(task.workflow)}


def enter_scope(task, extra: dict | None = None) -> None:
    """Before a task runs: its data is the process scope (plus what the caller submits)."""
    task.data = {**scope_of(task.workflow), **(extra or {})}


def leave_scope(task) -> None:
    """After a task ran: what it produced goes back to the process scope."""
    scope_of(task.workflow).update(task.data)


def run_task(task, extra: dict | None = None) -> None:
    enter_scope(task, extra)
    task.run()
    leave_scope(task)


class ExpressionScriptEngine(PythonScriptEngine):
    def __init__(self, clock, timezone, decide: Decide | None = None):
        super().__init__(environment=_NoPython())
        self.clock = clock
        self.timezone = timezone
        self._decide = decide
        # Only the timer job lets a due timer fire: as in Camunda, a timer is always its own transaction.
        self.timers_may_fire = False

    def validate(self, expression):
        compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        try:
            return compile_expression(expression).evaluate(variables_for(task))
        except ExpressionError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from None

    def execute(self, task, script, external_context=None):
        raise WorkflowTaskException("scripts are not run by this engine", task=task)

    def decide(self, task, extensions: dict) -> None:
        if self._decide is None:
            raise WorkflowTaskException("no decision service is configured", task=task)
        try:
            value = self._decide(extensions["decisionRef"], variables_for(task), extensions.get("mapDecisionResult"))
        except EngineError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from None
        if extensions.get("resultVariable"):
            task.data[extensions["resultVariable"]] = value
