"""Event subprocesses, as Camunda 7 runs them.

SpiffWorkflow starts an event subprocess only for a message or signal caught at the top level,
never interrupts the scope, and has no error or escalation start. Here every event subprocess
of a scope (a process or an embedded subprocess) is instantiated when the scope starts, its start
event waiting like any catch event: so its message and signal subscriptions, timer jobs and
conditions are the rows and checks the engine keeps for every waiting event.

- Interrupting (the default): when its start event fires, everything else in the scope is
  cancelled (other event subprocesses included), and the scope ends when the event subprocess
  ends.
- Non-interrupting (`isInterrupting="false"`): the scope runs on, and a fresh instance of the
  event subprocess waits for the next occurrence (not for timers: a date or a duration fires once).
- A scope whose own flow is done ends without waiting for event subprocesses that never fired
  (they are cancelled); it does wait for those that did.
- Error and escalation starts catch what is thrown inside the scope (engine/bpmn/events.py).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent, SubWorkflowTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskIterator, TaskState

TRIGGERED = "_triggered"  # in an event subprocess task's internal data: its start event fired
RESPAWNED = "_respawned"  # a non-interrupting one waiting again after an occurrence


class EventSubprocess(SubWorkflowTask):
    """An event subprocess: an embedded subprocess started beside its scope's flow."""


class EventSubprocessStart(StartEvent):
    """The start event of an event subprocess; `extensions["interrupting"]` as drawn."""

    @property
    def interrupting(self) -> bool:
        return self.extensions.get("interrupting", True)

    def _on_ready_hook(self, my_task):
        super()._on_ready_hook(my_task)
        # From now on the scope waits for this event subprocess to finish.
        holder(my_task).internal_data[TRIGGERED] = True

    def _run_hook(self, my_task):
        # Run after the task that threw the event has finished its own step, never inside it.
        esp = holder(my_task)
        scope = esp.workflow
        if self.interrupting:
            for task in list(scope.tasks.values()):
                if task is esp or task.is_descendant_of(esp) or esp.is_descendant_of(task):
                    continue
                if not task.has_state(TaskState.FINISHED_MASK):
                    task.cancel()
        elif not isinstance(self.event_definition, TimerEventDefinition):
            fresh = scope.task_tree._add_child(esp.task_spec, TaskState.FUTURE)
            fresh.internal_data[RESPAWNED] = True
            fresh.task_spec._update(fresh)
        return super()._run_hook(my_task)


def holder(start_task):
    """The event subprocess task (in the scope) whose subprocess this start event starts."""
    workflow = start_task.workflow
    return workflow.top_workflow.get_task_from_id(workflow.parent_task_id)


def is_event_subprocess(task) -> bool:
    return isinstance(task.task_spec, EventSubprocess)


def untriggered(task) -> bool:
    return is_event_subprocess(task) and not task.internal_data.get(TRIGGERED) and not task.has_state(TaskState.FINISHED_MASK)


def respawned(start_task) -> bool:
    """A start event waiting in a fresh instance of a non-interrupting event subprocess."""
    workflow = start_task.workflow
    if not isinstance(start_task.task_spec, EventSubprocessStart) or workflow.parent_task_id is None:
        return False
    return bool(holder(start_task).internal_data.get(RESPAWNED))


class ScopeEndJoin(_EndJoin):
    """A scope's end: every token done, event subprocesses that never fired aside (cancelled)."""

    def _check_threshold_unstructured(self, my_task):
        waiting = [t for t in my_task.workflow.task_tree.children if untriggered(t)]
        for task in TaskIterator(my_task.workflow.task_tree, state=TaskState.NOT_FINISHED_MASK, end_at_spec=self.name):
            if task == my_task or any(task is w or task.is_descendant_of(w) for w in waiting):
                continue
            return False
        return True

    def _run_hook(self, my_task):
        for task in list(my_task.workflow.task_tree.children):
            if untriggered(task):
                task.cancel()
        return super()._run_hook(my_task)


class EngineProcessParser(ProcessParser):
    """Each scope's end is a ScopeEndJoin; its event subprocesses start with it."""

    def create_spec(self):
        spec = super().create_spec()
        spec.end.__class__ = ScopeEndJoin
        return spec

    def add_tasks(self):
        events = self.xpath("./bpmn:subProcess[@triggeredByEvent='true']")
        for node in events:
            node.set("triggeredByEvent", "deferred")  # hidden from Spiff's own handling of them
        try:
            super().add_tasks()
        finally:
            for node in events:
                node.set("triggeredByEvent", "true")
        for node in events:
            task_spec = self.parse_node(node)
            task_spec.__class__ = EventSubprocess  # Camunda's subprocess parser knows no event subprocess
            self.spec.start.connect(task_spec)
            task_spec.connect(self.spec.end)


class StartParser(StartEventParser):
    """A start event; inside an event subprocess also error and escalation, interrupting or not."""

    def create_task(self):
        parent = self.node.getparent()
        if parent.get("triggeredByEvent") not in ("true", "deferred"):
            return super().create_task()
        definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                 CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        task = EventSubprocessStart(self.spec, self.bpmn_id, event_definition=definition, **self.bpmn_attributes)
        self.spec.start.connect(task)
        return task
