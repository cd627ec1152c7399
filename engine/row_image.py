"""The runtime rows an instance state implies: open user tasks, service tasks (jobs or external
tasks), timers, message subscriptions, open history and variables. Saving writes the difference
between the image of the state as loaded and the image of the state now (engine/runtime.py)."""
from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState

from .bpmn.script_engine import scope_of
from .bpmn.events import signals_of
from .bpmn.expression_names import topic_of
from .bpmn.specs import ExternalServiceTask, messages_of, next_due, timer_of
from .variables import stored_text

HISTORY_MARK = "_history"  # in a task's internal data: 1 = open row written, 2 = closed


def activities(workflow) -> list:
    """The tasks of the workflow (and its subprocesses) that are BPMN activities and events."""
    return [t for t in workflow.get_tasks() if "activityType" in (getattr(t.task_spec, "extensions", None) or {})]


@dataclass
class RowImage:
    """The runtime rows an instance state implies (what saving that state writes)."""

    present: set  # every activity task id in the tree
    open_history: set  # activity ids with an open history row
    user_tasks: set  # ready user tasks: inbox rows
    service_tasks: dict  # ready service task id -> its topic: a job (a handler's topic) or an external task
    timers: dict  # waiting timer task id -> when it is due
    subscriptions: set  # ("message" or "signal", name, element id) of every waiting message or signal event
    variables: dict  # name -> stored JSON text

    @classmethod
    def empty(cls) -> "RowImage":
        return cls(set(), set(), set(), {}, {}, set(), {})

    @classmethod
    def of(cls, workflow, tasks=None) -> "RowImage":
        tasks = activities(workflow) if tasks is None else tasks
        present, variables = {str(t.id) for t in tasks}, _texts(scope_of(workflow))
        if workflow.completed:
            return cls(present, set(), set(), {}, {}, set(), variables)
        ready = [t for t in tasks if t.state == TaskState.READY]
        # As SpiffWorkflow rebuilds its event manager when it loads a state: waiting catch events only.
        waiting = [t for t in workflow.event_manager.tasks.values() if t.state == TaskState.WAITING]
        timers = {str(t.id): due for t in waiting if timer_of(t) is not None and (due := next_due(t)) is not None}
        return cls(
            present=present,
            open_history={str(t.id) for t in tasks if t.internal_data.get(HISTORY_MARK) == 1},
            user_tasks={str(t.id) for t in ready if isinstance(t.task_spec, UserTask)},
            service_tasks={str(t.id): topic_of(t) for t in ready
                           if isinstance(t.task_spec, ExternalServiceTask)},
            timers=timers,
            subscriptions={("message", name, t.task_spec.bpmn_id) for t in waiting for name in messages_of(t)}
            | {("signal", name, t.task_spec.bpmn_id) for t in waiting for name in signals_of(t)},
            variables=variables,
        )


def _texts(variables: dict) -> dict:
    return {name: stored_text(value) for name, value in variables.items()}
