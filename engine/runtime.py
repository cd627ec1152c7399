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
from datetime import datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete
from sqlalchemy.orm import Session

from . import models as m
from .batch import insert_later
from .bpmn import limits  # noqa: F401 - lifts SpiffWorkflow's depth ceilings before any instance runs
from .bpmn.events import ConditionWatch, EngineSignal, install, thrown_signals
from .bpmn.prune import prune
from .bpmn.script_engine import enter_scope, leave_scope, materialize_inputs, run_task, scope_of, variables_for
from .bpmn.serializer import workflow_from_dict, workflow_to_dict
from .bpmn.expression_names import topic_of
from .bpmn.specs import ExternalServiceTask, resolve_names
from .errors import ExecutionError, ExpressionError, InvalidRequest, NotFound, Suspended
from .expressions import compile_expression
from .history import plan_history, write_history
from .row_image import RowImage, activities
from .user_task_rows import task_number, user_task_row
from .variables import stored_text, text_hash, type_of
from .wakeup import queued

from .runtime_context import (  # noqa: F401 - imported from here by the engine's other modules
    ASYNC_AFTER,
    ActivityTransition,
    Clock,
    RuntimeContext,
    is_true,
    new_id,
    stored_variables,
)

log = logging.getLogger("lienthong.engine")


class Runtime:
    def __init__(self, context: RuntimeContext, session: Session, row: m.ProcessInstance, workflow: BpmnWorkflow,
                 loaded: "RowImage"):
        self.context = context
        self.clock = context.clock
        self.session = session
        self.row = row
        self.workflow = workflow
        self.loaded = loaded  # the rows stored beside the state as loaded (what the last save wrote)
        self.conditions = ConditionWatch(loaded.variables, stored_text)

    # --- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, context: RuntimeContext, session: Session, instance_id: str,
             row: m.ProcessInstance | None = None, *, suspended_ok: bool = False) -> "Runtime":
        """The instance, ready to run, from its row (read here unless the caller has just read it). A
        suspended one runs nothing (Camunda's rule) unless the command is one an operator may apply
        while it is held (cancel, migrate)."""
        row = row if row is not None else session.get(m.ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"Process instance '{instance_id}' does not exist")
        if row.workflow is None and row.super_instance_id is not None and row.state == "ACTIVE":
            raise InvalidRequest(f"Process instance '{instance_id}' runs inside the call activity of instance "
                                 f"'{row.super_instance_id}'; act on that instance")
        if row.workflow is None:
            raise NotFound(f"Process instance '{instance_id}' has ended ({row.state.lower()})")
        if row.suspended and not suspended_ok:
            raise Suspended(f"ProcessInstance with id '{instance_id}' is suspended")
        spec, subprocess_specs = context.resolver.specs_for(session, row.definition_id, row.bindings)
        script_engine = context.resolver.script_engine_for(session, row.bindings)
        workflow = workflow_from_dict(row.workflow, spec, subprocess_specs, script_engine)
        return cls(context, session, row, workflow, RowImage.of(workflow))

    @classmethod
    def start(cls, context: RuntimeContext, session: Session, definition: m.ProcessDefinition, variables: dict,
              business_key: str | None, user_id: str | None, tenant_id: str | None = None) -> "Runtime":
        if definition.suspended:
            raise Suspended(f"ProcessDefinition with id '{definition.id}' is suspended")
        resolver = context.resolver
        bindings = resolver.bindings_for(session, definition)
        spec, subprocess_specs = resolver.specs_for(session, definition.id, bindings)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=resolver.script_engine_for(session, bindings))
        install(workflow)
        scope_of(workflow).update(variables)
        row = m.ProcessInstance(
            id=new_id(), definition_id=definition.id, definition_key=definition.key, business_key=business_key,
            state="ACTIVE", start_time=context.clock.now(), bindings=bindings, start_user_id=user_id, revision=1,
            tenant_id=tenant_id,
        )
        session.add(row)
        return cls(context, session, row, workflow, RowImage.empty())

    # --- running -----------------------------------------------------------------------------

    def step(self) -> None:
        """Run everything the engine can run, up to the next wait state. As in Camunda, that
        includes the service tasks of in-process handlers, unless the diagram marks them
        camunda:asyncBefore (a job, after this command commits); a handler that raises here
        fails the whole command."""
        while True:
            self._guard(lambda: self.workflow.do_engine_steps(enter_scope, leave_scope))
            if self._guard(lambda: self.conditions.fired(self.workflow)):
                continue
            if self.context.run_inline is None:
                return
            inline = [t for t in self.workflow.get_tasks(state=TaskState.READY) if self.runs_inline(t)]
            if not inline:
                return
            for task in inline:
                if task.state == TaskState.READY:  # an error boundary of an earlier one may have cancelled it
                    self.context.run_inline(self, task)

    def runs_inline(self, task) -> bool:
        spec = task.task_spec
        return (isinstance(spec, ExternalServiceTask) and not is_true(spec.extensions.get("asyncBefore"))
                and ASYNC_AFTER not in task.internal_data and self.context.handles(topic_of(task)))

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

    def deliver_signal(self, name: str, variables: dict) -> None:
        """Hand a signal to every event of this instance waiting for it."""
        event = BpmnEvent(EngineSignal(name), payload=dict(variables))
        self._guard(lambda: self.workflow.event_manager.catch(event, internal=False))

    def _guard(self, action):
        try:
            return action()
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
            return compile_expression(text).evaluate(variables_for(task), self.workflow.script_engine.moments)
        except ExpressionError as exc:
            raise ExecutionError(f"{task.task_spec.bpmn_id}: {exc}") from None

    # --- saving ------------------------------------------------------------------------------
    #
    # The rows beside the state (open user tasks, jobs, external tasks, timers, subscriptions, open
    # history, variables) are a function of the state: `RowImage.of(workflow)`. The image of the
    # state as loaded is what the last save wrote, since both were committed together; so saving
    # writes the difference between that image and the image now, with no SELECT to find out what
    # is stored, and with Core statements, one per table and kind of change.

    def save(self) -> None:
        now = self.clock.now()
        workflow = self.workflow
        row = self.row
        tasks = activities(workflow)
        self._guard(lambda: materialize_inputs(tasks))  # an activity's inputs as of the command that reached it
        if row.start_activity_id is None:
            row.start_activity_id = next((t.task_spec.bpmn_id for t in tasks if t.task_spec in workflow.spec.start.outputs
                                          and t.state == TaskState.COMPLETED), None)
        history = plan_history(tasks)  # marks tasks, so it must precede serialization
        resolve_names(tasks)  # the same: what a waiting element waits for is part of its state
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

        current = RowImage.of(workflow, tasks)
        before = self.loaded
        assignees = {} if workflow.completed else self._save_user_tasks(tasks, before, current, now)
        write_history(self, history, before, current, assignees, now)
        self._save_variables(before, current)
        if self.context.observers:
            transitions = [ActivityTransition(task.task_spec, str(task.id), opened, closed, canceled)
                           for task, opened, closed, canceled, _ in history]
            for observer in self.context.observers:
                observer(self, transitions)
        if workflow.completed:
            self._clear_runtime_rows()
        else:
            self._save_service_tasks(tasks, before, current, now)
            self._save_timers(before, current, now)
            self._save_subscriptions(before, current, now)
            self.loaded = current
        # Its rows written, the signals it threw reach the other instances (engine/signals.py).
        if self.context.throw_signal is not None:
            for name, variables in thrown_signals(workflow):
                self.context.throw_signal(self.session, name, self.row.id, variables)

    def _clear_runtime_rows(self) -> None:
        instance_id = self.row.id
        for model in (m.Task, m.Job, m.ExternalTask, m.EventSubscription, m.Incident):
            self.session.execute(delete(model).where(model.instance_id == instance_id))

    def _save_variables(self, before: "RowImage", current: "RowImage") -> None:
        table = m.Variable.__table__
        values = self.variables()
        self._insert(m.Variable, [dict(instance_id=self.row.id, name=name, type=type_of(values[name]), value_json=text,
                                       value_hash=text_hash(text))
                                  for name, text in current.variables.items() if name not in before.variables])
        changed = [dict(b_instance=self.row.id, b_name=name, value_json=text, value_hash=text_hash(text),
                        type=type_of(values[name]))
                   for name, text in current.variables.items() if name in before.variables and before.variables[name] != text]
        if changed:
            self.session.execute(table.update().where(table.c.instance_id == bindparam("b_instance"),
                                                      table.c.name == bindparam("b_name")), changed)
        gone = [name for name in before.variables if name not in current.variables]
        if gone:
            self.session.execute(table.delete().where(table.c.instance_id == self.row.id, table.c.name.in_(gone)))

    def _save_user_tasks(self, tasks, before: "RowImage", current: "RowImage", now: datetime) -> dict:
        """Open and close inbox rows; the assignee of each task opened (for its history row)."""
        gone = sorted(before.user_tasks - current.user_tasks)
        if gone:  # their candidate rows go with them (ON DELETE CASCADE)
            self.session.execute(m.Task.__table__.delete().where(m.Task.id.in_(gone)))
            self._forget(m.Task, gone)
        rows, links, assignees = [], [], {}
        for task in tasks:
            task_id = str(task.id)
            if task_id in current.user_tasks and task_id not in before.user_tasks:
                row, candidates = user_task_row(self, task, now)
                rows.append(row)
                links.extend(candidates)
                assignees[task_id] = row["assignee"]
        self._insert(m.Task, rows)
        self._insert(m.IdentityLink, links)
        return assignees

    def _save_service_tasks(self, tasks, before: "RowImage", current: "RowImage", now: datetime) -> None:
        gone = sorted(set(before.service_tasks) - set(current.service_tasks))
        if gone:
            # A handler's topic has a job, any other an external task (as when the row was written;
            # should the handlers have changed since, the other table is tried for what is left).
            handled = [t for t in gone if self.context.handles(before.service_tasks[t])]
            remote = [t for t in gone if t not in handled]
            for model, other, ids in ((m.Job, m.ExternalTask, handled), (m.ExternalTask, m.Job, remote)):
                missing = sorted(set(ids) - self._delete_service_rows(model, ids)) if ids else []
                if missing:
                    self._delete_service_rows(other, missing)
        jobs, external = [], []
        for task in tasks:
            task_id = str(task.id)
            if task_id not in current.service_tasks or task_id in before.service_tasks:
                continue
            ext = task.task_spec.extensions
            topic = topic_of(task)
            common = dict(
                id=new_id(), instance_id=self.row.id, definition_id=self.row.definition_id,
                definition_key=self.row.definition_key, activity_id=task.task_spec.bpmn_id, task_id=task_id,
                created=now, priority=task_number(self, task, ext.get("taskPriority"), "camunda:taskPriority", 0), topic=topic,
                suspended=self.row.suspended,
            )
            if self.context.handles(topic):
                retries, _ = self.context.retry_policy(ext.get("retryCycle"))
                # A continuation (asyncAfter, the handler already ran) only completes the task.
                schedule = {"continue": True} if ASYNC_AFTER in task.internal_data else None
                jobs.append(dict(common, type="service-task", due_at=now, retries=retries, retry_cycle=ext.get("retryCycle"),
                                 schedule=schedule))
            else:
                external.append(dict(common, business_key=self.row.business_key))
        self._insert(m.Job, jobs)
        if jobs:
            queued(self.session)  # the worker is woken at commit (engine/wakeup.py)
        self._insert(m.ExternalTask, external)

    def _save_timers(self, before: "RowImage", current: "RowImage", now: datetime) -> None:
        table = m.Job.__table__
        timers = (table.c.instance_id == self.row.id, table.c.type == "timer")
        gone = sorted(set(before.timers) - set(current.timers))
        if gone:
            self._delete_with_incidents(m.Job, table.c.type == "timer", table.c.task_id.in_(gone))
        for task_id, due in current.timers.items():
            if task_id in before.timers and before.timers[task_id] != due:  # a cycle's next firing
                moved = self.session.execute(table.update().where(*timers, table.c.task_id == task_id)
                                             .values(due_at=due, lock_owner=None, lock_expires_at=None)
                                             .returning(table.c.id)).scalars().all()
                self._forget(m.Job, moved)
        retries, _ = self.context.retry_policy(None)
        self._insert(m.Job, [dict(
            id=new_id(), type="timer", instance_id=self.row.id, definition_id=self.row.definition_id,
            definition_key=self.row.definition_key, activity_id=self.task(task_id).task_spec.bpmn_id, task_id=task_id,
            due_at=due, retries=retries, created=now, suspended=self.row.suspended,
        ) for task_id, due in current.timers.items() if task_id not in before.timers])

    def _insert(self, model, rows: list[dict]) -> None:
        """Insert rows (dicts with the same keys), sent with the command's other inserts (engine/batch.py)."""
        insert_later(self.session, model.__table__, rows)

    def _save_subscriptions(self, before: "RowImage", current: "RowImage", now: datetime) -> None:
        table = m.EventSubscription.__table__
        for kind, name, activity_id in sorted(before.subscriptions - current.subscriptions):
            self.session.execute(table.delete().where(table.c.instance_id == self.row.id, table.c.event_type == kind,
                                                      table.c.event_name == name, table.c.activity_id == activity_id))
        self._insert(m.EventSubscription, [
            dict(event_type=kind, event_name=name, instance_id=self.row.id, definition_id=None,
                 activity_id=activity_id, created=now)
            for kind, name, activity_id in sorted(current.subscriptions - before.subscriptions)])

    def _delete_service_rows(self, model, task_ids: list[str]) -> set[str]:
        """Delete the job (Job) or external task (ExternalTask) rows of these service tasks."""
        table = model.__table__
        kind = (table.c.type == "service-task",) if model is m.Job else ()
        return self._delete_with_incidents(model, *kind, table.c.task_id.in_(task_ids))

    def _delete_with_incidents(self, model, *criteria) -> set[str]:
        """Delete the instance's rows of `model` that match, and the incidents of those that failed
        (only a job or external task that failed, or whose retries were set to 0, can have any);
        the task ids of the rows deleted."""
        table = model.__table__
        error = table.c.exception_message if model is m.Job else table.c.error_message
        deleted = self.session.execute(table.delete().where(table.c.instance_id == self.row.id, *criteria)
                                       .returning(table.c.id, table.c.task_id, error, table.c.retries)).all()
        if not deleted:
            return set()
        self._forget(model, [row[0] for row in deleted])
        failed = [row_id for row_id, _, message, retries in deleted if message is not None or retries == 0]
        if failed:
            self.session.execute(delete(m.Incident).where(m.Incident.configuration.in_(failed)))
        return {row[1] for row in deleted}

    def _forget(self, model, ids) -> None:
        """Rows a Core statement changed that the session may hold as objects (the job being
        completed, the task row): out of the session, so that a later session.get reads the
        database instead of a stale object."""
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, model) and obj.id in ids:
                self.session.expunge(obj)
