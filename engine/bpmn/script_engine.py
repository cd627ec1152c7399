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
from ..expression_dates import Moments
from ..expressions import compile_expression
from SpiffWorkflow.util.task import TaskState

from .io_mapping import INPUTS_DONE, has_inputs, has_outputs, inputs_of, outputs_of
from .multi_instance import LOCALS, own_locals

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED

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


def local_variables(task) -> dict:
    """The local variables a task sees (Camunda's execution tree): its own and those of every
    activity around it (a multi-instance body's counters, an instance's loopCounter and element,
    input mappings, a subprocess's or a called process's), the innermost winning."""
    chain = []
    current = task
    while current is not None:
        chain.append(current)
        parent_id = getattr(current.workflow, "parent_task_id", None)
        current = current.workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None
    scope = scope_of(task.workflow)
    found: dict = {}
    for owner in reversed(chain):
        found.update(_own_layer(owner, scope, found))
    return found


def _own_layer(task, scope: dict, outer: dict) -> dict:
    """A task's own local variables; its input mappings are evaluated the first time they are
    needed while it is open (at the latest when the command that reached it saves)."""
    layer = own_locals(task)
    if has_inputs(task.task_spec) and INPUTS_DONE not in task.internal_data and task.has_state(OPEN):
        engine = task.workflow.top_workflow.script_engine
        try:
            values = inputs_of(task.task_spec, {**scope, **outer, **layer}, engine.moments)
        except ExpressionError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from None
        task.internal_data.setdefault(LOCALS, {}).update(values)
        task.internal_data[INPUTS_DONE] = True
        layer = {**layer, **values}
    return layer


def variables_for(task) -> dict:
    return {**task.data, **scope_of(task.workflow), **local_variables(task)}


def enter_scope(task, extra: dict | None = None) -> None:
    """Before a task runs: its data is the process scope and its local variables (plus what the
    caller submits)."""
    task.data = {**scope_of(task.workflow), **local_variables(task), **(extra or {})}


def leave_scope(task) -> None:
    """After a task ran: what it produced goes back to the process scope, except a variable that
    is local to it (as Camunda's setVariable: the nearest scope that has the variable), which
    stays where it is (its own local ones are updated)."""
    visible = local_variables(task)
    own = task.internal_data.get(LOCALS)
    produced = {name: value for name, value in task.data.items() if name not in visible}
    if own:
        own.update({name: task.data[name] for name in own if name in task.data})
    scope = scope_of(task.workflow)
    scope.update(produced)
    if has_outputs(task.task_spec):  # evaluated in the activity's scope, written to the process's
        engine = task.workflow.top_workflow.script_engine
        try:
            scope.update(outputs_of(task.task_spec, {**scope, **visible, **task.data}, engine.moments))
        except ExpressionError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from None


def materialize_inputs(tasks) -> None:
    """Evaluate the input mappings of the open activities that have not had them evaluated yet."""
    for task in tasks:
        if has_inputs(task.task_spec) and INPUTS_DONE not in task.internal_data and task.has_state(OPEN):
            local_variables(task)


def run_task(task, extra: dict | None = None) -> None:
    enter_scope(task, extra)
    task.run()
    leave_scope(task)


class ExpressionScriptEngine(PythonScriptEngine):
    def __init__(self, clock, timezone, decide: Decide | None = None):
        super().__init__(environment=_NoPython())
        self.clock = clock
        self.timezone = timezone
        self.moments = Moments(clock, timezone)  # what now() and dateTime() read
        self._decide = decide
        # Only the timer job lets a due timer fire: as in Camunda, a timer is always its own transaction.
        self.timers_may_fire = False

    def validate(self, expression):
        compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        try:
            return compile_expression(expression).evaluate(variables_for(task), self.moments)
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
