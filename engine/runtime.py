"""One process instance inside one transaction: load it, run it to its next wait state, save it.

Saving writes the serialized workflow and, from the same in-memory state, every row the queries
read: open user tasks and their candidates, jobs (handler runs, timers), external tasks, message
subscriptions, variables and activity history. The instance row carries a revision; SQLAlchemy
updates it with `WHERE revision = :seen`, so of two commands that loaded the same revision only
the first commits (the other gets ConcurrentModification).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import models as m
from .bpmn import limits  # noqa: F401 - lifts SpiffWorkflow's depth ceilings before any instance runs
from .bpmn.prune import prune
from .bpmn.script_engine import enter_scope, leave_scope, run_task, scope_of, variables_for
from .bpmn.serializer import workflow_from_dict, workflow_to_dict
from .bpmn.specs import ExternalServiceTask, messages_of, next_due, parse_datetime, timer_of
from .errors import ExecutionError, ExpressionError, NotFound
from .expressions import compile_expression
from .variables import stored_text, text_hash, type_of

log = logging.getLogger("lienthong.engine")

OPEN_STATES = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
HISTORY_MARK = "_history"  # in a task's internal data: 1 = open row written, 2 = closed


@dataclass(frozen=True)
class ActivityTransition:
    """An activity that began and/or ended in the command being saved (what observers see)."""

    spec: object  # the task spec: bpmn_id, bpmn_name, extensions (properties...)
    task_id: str
    opened: bool
    closed: bool
    canceled: bool


def new_id() -> str:
    return str(uuid.uuid4())


class Runtime:
    def __init__(self, engine, session: Session, row: m.ProcessInstance, workflow: BpmnWorkflow):
        self.engine = engine
        self.session = session
        self.row = row
        self.workflow = workflow

    # --- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, engine, session: Session, instance_id: str) -> "Runtime":
        row = session.get(m.ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"Process instance '{instance_id}' does not exist")
        if row.workflow is None:
            raise NotFound(f"Process instance '{instance_id}' has ended ({row.state.lower()})")
        spec, subprocess_specs = engine.specs_for(session, row.definition_id, row.bindings)
        script_engine = engine.script_engine_for(session, row.bindings)
        workflow = workflow_from_dict(row.workflow, spec, subprocess_specs, script_engine)
        return cls(engine, session, row, workflow)

    @classmethod
    def start(cls, engine, session: Session, definition: m.ProcessDefinition, variables: dict,
              business_key: str | None, user_id: str | None) -> "Runtime":
        bindings = engine.bindings_for(session, definition)
        spec, subprocess_specs = engine.specs_for(session, definition.id, bindings)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine.script_engine_for(session, bindings))
        scope_of(workflow).update(variables)
        row = m.ProcessInstance(
            id=new_id(), definition_id=definition.id, definition_key=definition.key, business_key=business_key,
            state="ACTIVE", start_time=engine.clock.now(), bindings=bindings, start_user_id=user_id, revision=1,
        )
        session.add(row)
        return cls(engine, session, row, workflow)

    # --- running -----------------------------------------------------------------------------

    def step(self) -> None:
        """Run everything the engine can run, up to the next wait state."""
        self._guard(lambda: self.workflow.do_engine_steps(enter_scope, leave_scope))

    def run_task(self, task, variables: dict | None = None) -> None:
        self._guard(lambda: run_task(task, variables))

    def fire_due_timers(self) -> None:
        """Let every timer whose time has come fire (only the worker's timer job does this)."""
        self.workflow.script_engine.timers_may_fire = True
        self._guard(self.workflow.refresh_timers)

    def deliver_message(self, name: str, variables: dict) -> None:
        """Hand a correlated message to the event waiting for it (its variables merge into the scope)."""
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(variables))
        self._guard(lambda: self.workflow.send_event(event))

    def _guard(self, action) -> None:
        try:
            action()
        except WorkflowTaskException as exc:
            element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or getattr(exc, "task_name", None)
            cause = exc.exception if getattr(exc, "exception", None) is not None else exc
            message = str(cause).split("\n")[0]
            raise ExecutionError(f"{element}: {message}" if element else message) from None
        except SpiffWorkflowException as exc:
            raise ExecutionError(str(exc).split("\n")[0]) from None

    def variables(self) -> dict:
        return scope_of(self.workflow)

    def task(self, task_id: str):
        try:
            return self.workflow.get_task_from_id(uuid.UUID(task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            return None

    def evaluate(self, task, text):
        """An attribute that may hold ${...} (assignee, dueDate...), in the task's variables."""
        if text is None:
            return None
        try:
            return compile_expression(text).evaluate(variables_for(task))
        except ExpressionError as exc:
            raise ExecutionError(f"{task.task_spec.bpmn_id}: {exc}") from None

    # --- saving ------------------------------------------------------------------------------

    def save(self) -> None:
        now = self.engine.clock.now()
        workflow = self.workflow
        row = self.row
        tasks = [t for t in workflow.get_tasks() if "activityType" in (getattr(t.task_spec, "extensions", None) or {})]
        if row.start_activity_id is None:
            row.start_activity_id = next((t.task_spec.bpmn_id for t in tasks if t.task_spec in workflow.spec.start.outputs
                                          and t.state == TaskState.COMPLETED), None)
        history = self._plan_history(tasks)  # marks tasks, so it must precede serialization
        # The instance row first: a concurrent command that loaded the same revision fails here,
        # before it has written anything else.
        if workflow.completed:
            row.state = "COMPLETED" if row.state == "ACTIVE" else row.state
            row.end_time = row.end_time or now
            row.workflow = None
        else:
            prune(workflow)  # after the history plan: the rows of what is cut are closed in this save
            row.workflow = workflow_to_dict(workflow)
        self.session.flush()

        self._write_history(history, tasks, now)
        self._save_variables()
        if self.engine.observers:
            transitions = [ActivityTransition(task.task_spec, str(task.id), opened, closed, canceled)
                           for task, opened, closed, canceled in history]
            for observer in self.engine.observers:
                observer(self, transitions)
        if workflow.completed:
            self._clear_runtime_rows()
            return
        ready = [t for t in tasks if t.state == TaskState.READY]
        waiting = list(workflow.event_manager.tasks.values())
        self._save_user_tasks([t for t in ready if isinstance(t.task_spec, UserTask)], now)
        self._save_service_tasks([t for t in ready if isinstance(t.task_spec, ExternalServiceTask)], now)
        self._save_timers([t for t in waiting if timer_of(t) is not None], now)
        self._save_subscriptions(waiting, now)

    def _clear_runtime_rows(self) -> None:
        instance_id = self.row.id
        open_tasks = select(m.Task.id).where(m.Task.instance_id == instance_id)
        self.session.execute(delete(m.IdentityLink).where(m.IdentityLink.task_id.in_(open_tasks)))
        for model in (m.Task, m.Job, m.ExternalTask, m.EventSubscription, m.Incident):
            self.session.execute(delete(model).where(model.instance_id == instance_id))

    @staticmethod
    def _plan_history(tasks) -> list[tuple]:
        """(task, opened, closed, canceled) for every activity whose history row must change."""
        plan = []
        for task in tasks:
            mark = task.internal_data.get(HISTORY_MARK)
            if mark == 2:
                continue
            if task.state in OPEN_STATES and not mark:
                plan.append((task, True, False, False))
                task.internal_data[HISTORY_MARK] = 1
            elif task.state == TaskState.COMPLETED or (mark and task.state in (TaskState.CANCELLED, TaskState.ERROR)):
                # Spiff cancels the surplus arrivals at a join; Camunda records them as completed.
                merged = isinstance(task.task_spec, (ParallelGateway, InclusiveGateway))
                plan.append((task, not mark, True, task.state != TaskState.COMPLETED and not merged))
                task.internal_data[HISTORY_MARK] = 2
        return plan

    def _write_history(self, plan, tasks, now: datetime) -> None:
        # A subtree Spiff dropped takes its tasks out of the tree: their open rows end as canceled.
        present = {str(t.id) for t in tasks}
        open_rows = {a.id: a for a in self.session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.instance_id == self.row.id, m.ActivityInstance.end_time.is_(None)))}
        for activity in open_rows.values():
            if activity.id not in present:
                activity.end_time, activity.canceled = now, True
        for task, opened, closed, canceled in plan:
            # An activity that closes now was opened in an earlier command: its row is among the open ones.
            activity = self._activity_row(task, now) if opened else open_rows.get(str(task.id)) or self._activity(str(task.id))
            if closed:
                activity.end_time, activity.canceled = now, canceled
            if opened:
                self.session.add(activity)

    def _activity_row(self, task, now: datetime) -> m.ActivityInstance:
        return m.ActivityInstance(
            id=str(task.id), instance_id=self.row.id, definition_id=self.row.definition_id,
            definition_key=self.row.definition_key, activity_id=task.task_spec.bpmn_id,
            activity_name=task.task_spec.bpmn_name, activity_type=task.task_spec.extensions["activityType"],
            task_id=str(task.id) if isinstance(task.task_spec, UserTask) else None, start_time=now,
        )

    def _save_variables(self) -> None:
        stored = {v.name: v for v in self.session.scalars(select(m.Variable).where(m.Variable.instance_id == self.row.id))}
        current = self.variables()
        for name, value in current.items():
            text = stored_text(value)
            existing = stored.get(name)
            if existing is None:
                self.session.add(m.Variable(instance_id=self.row.id, name=name, type=type_of(value), value_json=text,
                                            value_hash=text_hash(text)))
            elif existing.value_json != text:
                existing.value_json, existing.value_hash, existing.type = text, text_hash(text), type_of(value)
        for name, existing in stored.items():
            if name not in current:
                self.session.delete(existing)

    def _save_user_tasks(self, ready, now: datetime) -> None:
        stored = {t.id: t for t in self.session.scalars(select(m.Task).where(m.Task.instance_id == self.row.id))}
        wanted = {str(t.id): t for t in ready}
        for task_id, row in stored.items():
            if task_id not in wanted:
                self.session.execute(delete(m.IdentityLink).where(m.IdentityLink.task_id == task_id))
                self.session.delete(row)
        for task_id, task in wanted.items():
            if task_id not in stored:
                self._add_user_task(task, now)

    def _add_user_task(self, task, now: datetime) -> None:
        ext = task.task_spec.extensions
        assignee = self.evaluate(task, ext.get("assignee"))
        priority = self._number(task, ext.get("priority"), "camunda:priority", 50)
        row = m.Task(
            id=str(task.id), instance_id=self.row.id, definition_id=self.row.definition_id,
            definition_key=self.row.definition_key, business_key=self.row.business_key,
            activity_id=task.task_spec.bpmn_id, name=task.task_spec.bpmn_name,
            description=task.task_spec.documentation, assignee=assignee or None, created=now,
            due=self._moment(task, ext.get("dueDate")), follow_up=self._moment(task, ext.get("followUpDate")),
            priority=priority,
            form_key=getattr(task.task_spec.form, "key", None) or ext.get("formKey"),
        )
        self.session.add(row)
        self.session.flush()
        for group in self._names(task, ext.get("candidateGroups")):
            self.session.add(m.IdentityLink(task_id=row.id, type="candidate", group_id=group))
        for user in self._names(task, ext.get("candidateUsers")):
            self.session.add(m.IdentityLink(task_id=row.id, type="candidate", user_id=user))
        if assignee:
            self._activity(row.id).assignee = assignee

    def _activity(self, activity_id: str) -> m.ActivityInstance:
        return self.session.scalars(select(m.ActivityInstance).where(m.ActivityInstance.id == activity_id)).one()

    def _number(self, task, text, what: str, default: int) -> int:
        value = self.evaluate(task, text)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ExecutionError(f"{task.task_spec.bpmn_id}: {what} '{value}' is not a whole number") from None

    def _names(self, task, text) -> list[str]:
        value = self.evaluate(task, text)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def _moment(self, task, text) -> datetime | None:
        value = self.evaluate(task, text)
        if value in (None, ""):
            return None
        try:
            return parse_datetime(str(value), self.engine.timezone)
        except ValueError:
            raise ExecutionError(f"{task.task_spec.bpmn_id}: '{value}' is not an ISO 8601 date and time") from None

    def _save_service_tasks(self, ready, now: datetime) -> None:
        wanted = {str(t.id): t for t in ready}
        jobs = {j.task_id: j for j in self.session.scalars(
            select(m.Job).where(m.Job.instance_id == self.row.id, m.Job.type == "service-task"))}
        external = {x.task_id: x for x in self.session.scalars(
            select(m.ExternalTask).where(m.ExternalTask.instance_id == self.row.id))}
        for task_id, job in jobs.items():
            if task_id not in wanted:
                self._drop_incidents(job, job.exception_message)
                self.session.delete(job)
        for task_id, item in external.items():
            if task_id not in wanted:
                self._drop_incidents(item, item.error_message)
                self.session.delete(item)
        for task_id, task in wanted.items():
            if task_id in jobs or task_id in external:
                continue
            ext = task.task_spec.extensions
            topic = ext["topic"]
            common = dict(
                id=new_id(), instance_id=self.row.id, definition_id=self.row.definition_id,
                definition_key=self.row.definition_key, activity_id=task.task_spec.bpmn_id, task_id=task_id,
                created=now, priority=self._number(task, ext.get("taskPriority"), "camunda:taskPriority", 0),
            )
            if topic in self.engine.handlers:
                retries, _ = self.engine.retry_policy(ext.get("retryCycle"))
                self.session.add(m.Job(type="service-task", topic=topic, due_at=now, retries=retries,
                                       retry_cycle=ext.get("retryCycle"), **common))
            else:
                self.session.add(m.ExternalTask(topic=topic, business_key=self.row.business_key, **common))

    def _save_timers(self, waiting, now: datetime) -> None:
        wanted = {str(t.id): t for t in waiting}
        jobs = {j.task_id: j for j in self.session.scalars(
            select(m.Job).where(m.Job.instance_id == self.row.id, m.Job.type == "timer"))}
        for task_id, job in jobs.items():
            due = next_due(wanted[task_id]) if task_id in wanted else None
            if due is None:
                self._drop_incidents(job, job.exception_message)
                self.session.delete(job)
            elif job.due_at != due:
                job.due_at, job.lock_owner, job.lock_expires_at = due, None, None
        for task_id, task in wanted.items():
            due = next_due(task)
            if task_id in jobs or due is None:
                continue
            retries, _ = self.engine.retry_policy(None)
            self.session.add(m.Job(
                id=new_id(), type="timer", instance_id=self.row.id, definition_id=self.row.definition_id,
                definition_key=self.row.definition_key, activity_id=task.task_spec.bpmn_id, task_id=task_id,
                due_at=due, retries=retries, created=now,
            ))

    def _save_subscriptions(self, waiting, now: datetime) -> None:
        wanted = {(name, t.task_spec.bpmn_id) for t in waiting for name in messages_of(t)}
        stored = {(s.event_name, s.activity_id): s for s in self.session.scalars(
            select(m.EventSubscription).where(m.EventSubscription.instance_id == self.row.id))}
        for key, subscription in stored.items():
            if key not in wanted:
                self.session.delete(subscription)
        for name, activity_id in wanted - set(stored):
            self.session.add(m.EventSubscription(event_type="message", event_name=name, instance_id=self.row.id,
                                                 activity_id=activity_id, created=now))

    def _drop_incidents(self, row, error: str | None) -> None:
        """The incidents of a job or external task that goes away with its activity. Only one that
        failed, or whose retries were set to 0, can have any: most have none, and cost no statement."""
        if error is not None or row.retries == 0:
            self.session.execute(delete(m.Incident).where(m.Incident.configuration == row.id))
