"""Where thrown events go, as in Camunda 7: errors and escalations up the scopes, signals to
everyone, conditions when variables change, links to their catch.

- An error or escalation thrown in a scope is caught by the nearest catcher going outward: at the
  scope where it is thrown, its event subprocesses; then, at each enclosing scope, the boundary
  events of the activity that holds the inner scope, then that scope's event subprocesses. A
  catcher with the same code wins over one without a code (which catches every code). Nothing
  catching it: an escalation is ignored, an error end event ends its path (Camunda's rule).
  SpiffWorkflow instead offers it to every catch event of the workflow it was thrown in, and then
  broadcasts it.
- A signal thrown inside an instance reaches that instance's waiting signal events at once, with
  no variables (Camunda passes none unless mapped); the engine then delivers it to every other
  instance and starts the processes it starts (engine/signals.py), so it is recorded here.
- A conditional event fires when its condition is true on entering it (not a non-interrupting
  event subprocess waiting again), and when variables change while it waits (`refresh_conditions`).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.event_parsers import (
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    EndEventParser,
    IntermediateThrowEventParser,
)
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    ErrorEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent, EventManager
from SpiffWorkflow.util.task import TaskState

from .event_subprocess import EventSubprocessStart, respawned
from .script_engine import scope_of

CHECK = "_checkCondition"  # in a waiting conditional event's internal data: evaluate on the next update
SEEN = "_conditionSeen"


class EngineSignal(SignalEventDefinition):
    """A thrown signal carries the variables its `camunda:in` mappings name (`variables="all"`,
    `source`/`sourceExpression` to `target`), and nothing without them, as in Camunda."""

    def throw(self, my_task):
        payload = {}
        variables = {**my_task.data, **scope_of(my_task.workflow)}
        for mapping in my_task.task_spec.extensions.get("signalIn", ()):
            if mapping.get("variables") == "all":
                payload.update(variables)
            elif mapping.get("sourceExpression"):
                payload[mapping["target"]] = my_task.workflow.script_engine.evaluate(my_task, mapping["sourceExpression"])
            elif mapping.get("source") in variables:
                payload[mapping.get("target") or mapping["source"]] = variables[mapping["source"]]
        my_task.workflow.top_workflow.catch(BpmnEvent(self, payload=payload))


class ScopedEventManager(EventManager):
    def __init__(self, workflow):
        super().__init__(workflow)
        self.thrown_signals: list[tuple[str, dict]] = []

    def catch(self, event, internal=True):
        definition = event.event_definition
        if isinstance(definition, SignalEventDefinition) and internal:
            self.thrown_signals.append((definition.name, dict(event.payload or {})))
        if event.target is not None:
            tasks = self._catchers(event) if isinstance(definition, CodeEventDefinition) else \
                [t for t in self.tasks.values() if t.workflow is event.target and t.task_spec.catches(t, event)]
        else:
            tasks = [t for t in self.tasks.values() if t.task_spec.catches(t, event)]
        for task in tasks:
            task.task_spec.catch(task, event)
            task.task_spec._update(task)
        return len(tasks)

    def _catchers(self, event) -> list:
        code = getattr(event.event_definition, "code", None)
        workflow, activity = event.target, None
        while workflow is not None:
            candidates = _boundary_events(activity) + [t for t in self.tasks.values()
                                                      if isinstance(t.task_spec, EventSubprocessStart)
                                                      and t.workflow.parent_workflow is workflow]
            matching = [t for t in candidates if t.state == TaskState.WAITING and t.task_spec.catches(t, event)]
            if matching:
                exact = [t for t in matching if t.task_spec.event_definition.code == code]
                return [(exact or matching)[0]]
            parent_id = workflow.parent_task_id
            activity = workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None
            workflow = workflow.parent_workflow
        return []


def error_event_subprocess(workflow, code: str):
    """The waiting error start event of an event subprocess of `workflow` that catches `code`
    (one with that code before one without a code), if any."""
    starts = [t for t in workflow.top_workflow.event_manager.tasks.values()
              if isinstance(t.task_spec, EventSubprocessStart) and t.workflow.parent_workflow is workflow
              and t.state == TaskState.WAITING and isinstance(t.task_spec.event_definition, ErrorEventDefinition)]
    exact = [t for t in starts if t.task_spec.event_definition.code == code]
    return (exact or [t for t in starts if t.task_spec.event_definition.code is None] or [None])[0]


def _boundary_events(activity) -> list:
    if activity is None or activity.parent is None:
        return []
    return [c for c in activity.parent.children if c is not activity and isinstance(c.task_spec, BoundaryEvent)]


def install(workflow) -> None:
    """Give a workflow (new or restored) the engine's event routing, keeping what waits."""
    if not isinstance(workflow.event_manager, ScopedEventManager):
        manager = ScopedEventManager(workflow)
        manager.tasks = workflow.event_manager.tasks
        workflow.event_manager = manager


def thrown_signals(workflow) -> list[tuple[str, dict]]:
    """The signals thrown since the last call (each once), with the variables they carry."""
    manager = workflow.event_manager
    signals, manager.thrown_signals = list(manager.thrown_signals), []
    return signals


class EngineConditional(ConditionalEventDefinition):
    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        if not my_task._get_internal_data(SEEN, False):
            my_task._set_internal_data(**{SEEN: True})
            check = not respawned(my_task)
        else:
            check = my_task.internal_data.pop(CHECK, False)
        if check and my_task.workflow.script_engine.evaluate(my_task, self.expression) is True:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

    def reset(self, my_task):
        my_task.internal_data.pop(SEEN, None)
        super().reset(my_task)


class ConditionWatch:
    """Camunda evaluates waiting conditional events when variables change, not otherwise (a
    non-interrupting event subprocess that fired waits for the next change)."""

    def __init__(self, seen: dict, as_text):
        self.seen = seen  # name -> stored text of the variables the conditions last saw
        self.as_text = as_text

    def fired(self, workflow) -> bool:
        if not waiting_conditions(workflow):
            return False
        current = {name: self.as_text(value) for name, value in scope_of(workflow).items()}
        if current == self.seen:
            return False
        changes = {name: "create" for name in current.keys() - self.seen.keys()}
        changes.update({name: "delete" for name in self.seen.keys() - current.keys()})
        changes.update({name: "update" for name in current.keys() & self.seen.keys() if current[name] != self.seen[name]})
        self.seen = current
        return refresh_conditions(workflow, changes)


def waiting_conditions(workflow) -> list:
    return [t for t in workflow.event_manager.tasks.values()
            if t.state == TaskState.WAITING and isinstance(t.task_spec.event_definition, ConditionalEventDefinition)]


def refresh_conditions(workflow, changes: dict) -> bool:
    """Evaluate the conditions of the conditional events waiting that these changes (variable name
    -> create, update or delete) concern; True when one fired."""
    fired = False
    for task in waiting_conditions(workflow):
        if not _concerns(task.task_spec.extensions, changes):
            continue
        task.internal_data[CHECK] = True
        task.task_spec._update(task)
        fired = fired or task.state != TaskState.WAITING
    return fired


def _concerns(extensions: dict, changes: dict) -> bool:
    name = extensions.get("conditionVariable")
    kinds = {k.strip() for k in (extensions.get("conditionEvents") or "").split(",") if k.strip()}
    relevant = [kind for variable, kind in changes.items() if name is None or variable == name]
    return any(not kinds or kind in kinds for kind in relevant)


def signals_of(task) -> list[str]:
    definition = getattr(task.task_spec, "event_definition", None)
    return [definition.name] if isinstance(definition, SignalEventDefinition) else []


class LinkThrowParser(IntermediateThrowEventParser):
    """An intermediate link throw event goes on at the catch event of the same link name in
    the same scope (validation makes sure there is exactly one)."""

    def parse_node(self):
        spec = super().parse_node()
        link = self.xpath("./bpmn:linkEventDefinition")
        if link:
            name = link[0].get("name")
            for node in self.node.getparent():
                definition = node.find("{%s}linkEventDefinition" % self.nsmap["bpmn"])
                if node.tag.endswith("intermediateCatchEvent") and definition is not None and definition.get("name") == name:
                    self.task.connect(self.process_parser.parse_node(node))
        return spec



class EndParser(EndEventParser):
    """End events as validation allows them: none, error, escalation, terminate and signal
    (SpiffWorkflow's parser reads no signal end event, which would end silently)."""

    def create_task(self):
        definition = self.get_event_definition([ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH,
                                                 SIGNAL_EVENT_XPATH])
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task
