"""Task specs that behave as Camunda 7 does where SpiffWorkflow differs.

- A plain or manual task passes straight through (Spiff waits on them).
- A service task is a wait state: the engine hands it to an in-process handler job or to a
  remote worker, and completes it when the result comes back (Spiff would run it inline).
- A business-rule task evaluates a DMN decision through the script engine.
- Timers read the engine's clock, so tests move time instead of sleeping, and dates written
  without a zone are read in the service's time zone (Vietnam's by default).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.defaults import ManualTask, NoneTask, ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.util.task import TaskState

from . import cycles
from .cycles import following


class BoundaryJoin(BoundaryEventJoin):
    """Spiff hangs the paths a repeating non-interrupting timer starts under the waiting boundary
    event, and cancels that event (with its subtree) when the activity ends. In Camunda those paths
    run on: here the event stops waiting without cancelling what it started."""

    def _check_threshold_structured(self, my_task):
        finished, cancel = super()._check_threshold_structured(my_task)
        if not finished:
            return finished, cancel
        kept = []
        for event in cancel:
            started = [c for c in event.children if not c.has_state(TaskState.PREDICTED_MASK)]
            if started and isinstance(getattr(event.task_spec, "event_definition", None), CycleTimerEventDefinition):
                for child in [c for c in event.children if c.has_state(TaskState.PREDICTED_MASK)]:
                    event.workflow._remove_task(child.id)
                event.workflow.top_workflow.event_manager.remove_task(event)
                event._set_state(TaskState.COMPLETED)
            else:
                kept.append(event)
        return finished, kept


class PassThroughTask(NoneTask):
    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class PassThroughManualTask(ManualTask):
    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class ExternalServiceTask(ServiceTask):
    """Waits READY until the engine completes it with the handler's or worker's result."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True

    def _run_hook(self, my_task):
        return True  # the result arrived with the command that runs it


class DecisionTask(ScriptEngineTask, BpmnSpecMixin):
    """camunda:decisionRef + resultVariable + mapDecisionResult, evaluated by the script engine."""

    def _execute(self, task):
        task.workflow.script_engine.decide(task, self.extensions)
        return True


# --- timers on the engine's clock -------------------------------------------------------------


def _clock_now(my_task) -> datetime:
    return my_task.workflow.top_workflow.script_engine.clock.now()


def _local_zone(my_task):
    return my_task.workflow.top_workflow.script_engine.timezone


# Bounds on what a timer may ask for, checked before any computation: SpiffWorkflow adds a
# duration month by month, so `P99999999Y` from a variable would spin for an hour inside the
# command (holding SQLite's write lock); a date past year 9999 overflows. No procedure waits
# longer than a century, and none before 1900 or after 2200.
MAX_TIMER_SPAN = timedelta(days=100 * 366)
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
_DAYS_PER_UNIT = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
                  "seconds": 1 / 86400}


def parse_datetime(text: str, zone) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"'{text}' is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def parse_duration(text: str) -> dict:
    """An ISO 8601 duration's parts, refused when negative, malformed or longer than a century."""
    if "-" in text:
        raise ValueError(f"'{text}' is negative; a timer's duration must be positive")
    try:
        parts = TimerEventDefinition.parse_iso_duration(text.strip())
    except Exception:  # noqa: BLE001 - Spiff raises a bare Exception for a malformed duration
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as PT48H or P30D") from None
    if sum(value * _DAYS_PER_UNIT[unit] for unit, value in parts.items()) > MAX_TIMER_SPAN.days:
        raise ValueError(f"'{text}' is longer than {MAX_TIMER_SPAN.days // 366} years")
    return parts


def duration_from(text: str, start: datetime) -> timedelta:
    return TimerEventDefinition.get_timedelta_from_start(parse_duration(text), start)


def _refused_timer(my_task, text, error: ValueError) -> WorkflowTaskException:
    """A timer whose value (often from a variable) is out of bounds: the command fails naming the
    element, and is rolled back (HTTP 400), rather than computing or stalling."""
    return WorkflowTaskException(f"the timer's value {str(text)!r} is refused: {error}", task=my_task)


# As in Camunda, a timer never fires in the command that reaches it, even when it is due
# already: it becomes a job, and only the worker's timer job lets it fire.


def _may_fire(my_task, due: datetime) -> bool:
    engine = my_task.workflow.top_workflow.script_engine
    return engine.timers_may_fire and due <= engine.clock.now()


class ClockTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task):
        due = my_task._get_internal_data("event_value")
        if due is None:
            text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                due = parse_datetime(str(text), _local_zone(my_task))
            except ValueError as exc:
                raise _refused_timer(my_task, text, exc) from None
            my_task._set_internal_data(event_value=due.isoformat())
            return False
        if _may_fire(my_task, datetime.fromisoformat(due)):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        due = my_task._get_internal_data("event_value")
        if due is None:
            text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            now = _clock_now(my_task)
            try:
                due = now + duration_from(str(text), now)
            except ValueError as exc:
                raise _refused_timer(my_task, text, exc) from None
            my_task._set_internal_data(event_value=due.isoformat())
            return False
        if _may_fire(my_task, datetime.fromisoformat(due)):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockCycle(CycleTimerEventDefinition):
    """R<n>/<duration>, R<n>/<start>/<duration>; an unbounded `R/...` repeats forever; or a Quartz
    cron expression (engine/bpmn/cycles.py)."""

    def cycle_complete(self, my_task):
        state = my_task._get_internal_data("event_value")
        now = _clock_now(my_task)
        if state is None:
            text = str(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            try:
                first = self._first_state(text, now, _local_zone(my_task))
            except ValueError as exc:
                raise _refused_timer(my_task, text, exc) from None
            my_task._set_internal_data(event_value=first)
            return False
        ready = False
        if state["cycles"] != 0:
            due = datetime.fromisoformat(state["next"])
            if _may_fire(my_task, due):
                state["next"] = following(state, due, _local_zone(my_task)).isoformat()
                state["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=state)
        return ready

    @staticmethod
    def _first_state(text: str, now: datetime, zone) -> dict:
        return cycles.first_state(text, now, zone, parse_datetime, duration_from)


TIMER_CLASSES = {
    TimeDateEventDefinition: ClockTimeDate,
    DurationTimerEventDefinition: ClockDuration,
    CycleTimerEventDefinition: ClockCycle,
}


def _definitions(my_task) -> list:
    definition = getattr(my_task.task_spec, "event_definition", None)
    # An event-based gateway waits with the definitions of the events that follow it.
    return list(definition.event_definitions) if isinstance(definition, MultipleEventDefinition) else [definition]


def timer_of(my_task):
    """The timer a waiting task waits for, if any (validation allows one per event or gateway)."""
    return next((d for d in _definitions(my_task) if isinstance(d, TimerEventDefinition)), None)


def messages_of(my_task) -> list[str]:
    return [d.name for d in _definitions(my_task) if isinstance(d, MessageEventDefinition)]


def next_due(my_task) -> datetime | None:
    """When a waiting timer task is due next (None when it will not fire again)."""
    definition = timer_of(my_task)
    value = my_task._get_internal_data("event_value")
    if value is None or my_task._get_internal_data("event_fired", False):
        return None
    if isinstance(definition, ClockCycle):
        return datetime.fromisoformat(value["next"]) if value["cycles"] != 0 else None
    return datetime.fromisoformat(value)


def first_start(timer: dict, now: datetime, zone) -> tuple[datetime, dict | None]:
    """When a timer start event first fires, and the schedule of the firings after it."""
    expression = timer["expression"].strip()
    if timer["kind"] == "date":
        return parse_datetime(expression, zone), None
    if timer["kind"] == "duration":
        return now + duration_from(expression, now), None
    state = ClockCycle._first_state(expression, now, zone)
    schedule = {"cycles": state["cycles"]}
    schedule.update({"cron": state["cron"]} if "cron" in state else {"step": state["duration"]})
    return datetime.fromisoformat(state["next"]), schedule


def next_start(schedule: dict, due: datetime, zone) -> datetime:
    """When a timer start event fires after the firing due at `due` (its job's schedule)."""
    if "cron" in schedule:
        return cycles.cron_after(schedule["cron"], due, zone)
    return due + timedelta(seconds=schedule["step"])
