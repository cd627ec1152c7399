"""The engine's commands: each one is one transaction, from one wait state to the next.

A command loads what it needs (an instance row, locked by its revision), lets SpiffWorkflow run
to the next wait state, and saves the instance state with its task rows, jobs, subscriptions and
history in one unit of work. If anything fails, the transaction rolls back to the last wait
state and the caller gets the error; nothing half-done is ever visible.
"""
from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.util.task import TaskState

from . import dmn, form_registry
from . import models as m
from .clock import DEFAULT_TIMEZONE, SystemClock
from .correlation import CorrelationResult, Messages
from .batch import insert_later
from .db import Database
from .deployment import DeployedDefinition, DeploymentResult, Deployments  # noqa: F401 - part of the engine's API
from .errors import ConcurrentModification, InvalidRequest, LostRace, NotFound, Suspended, TaskAlreadyClaimed
from .external_tasks import ExternalTasks
from .handler_registry import HandlerRegistry
from .handler_registry import registry as default_handlers
from .local_scope import task_variables
from .inline import InlineHandlers
from .jobs import JobExecutor, open_incident
from .migration import Migrations
from .resolution import SpecResolver, latest
from .retries import RetryPolicy
from .runtime import Runtime, RuntimeContext, stored_variables
from .suspension import set_definition_suspended, set_suspended
from .signals import Signals
from .wakeup import Wakeup, queued

log = logging.getLogger("lienthong.engine")


class ProcessEngine:
    """The engine's commands. Configuration comes in as arguments (lienthong/settings.py reads the
    environment once); nothing here reads it."""

    def __init__(
        self,
        db: Database,
        *,
        handlers: HandlerRegistry | None = None,
        forms_registry: form_registry.FormRegistry | None = None,
        clock=None,
        worker_id: str | None = None,
        external_topics: Sequence[str] = (),
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
        job_lock: timedelta = timedelta(seconds=30),  # renewed by the worker's heartbeat while it runs
    ):
        self.db = db
        self.handlers = handlers if handlers is not None else default_handlers
        self.forms = forms_registry if forms_registry is not None else form_registry.registry
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or f"{os.uname().nodename}:{os.getpid()}"
        self.external_topics = list(external_topics)
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.retry_policy = RetryPolicy()
        self.resolver = SpecResolver(self.clock, self.timezone)
        self.runtime_context = RuntimeContext(self.resolver, self.clock, self.timezone,
                                              lambda topic: topic in self.handlers, self.retry_policy,
                                              run_inline=InlineHandlers(self),
                                              throw_signal=lambda session, name, thrown_by, variables: self.signals.throw_in(
                                                  session, name, variables, thrown_by=thrown_by))
        # Called inside every command that saves an instance, after its rows are written:
        # observer(runtime, transitions), transitions a list of ActivityTransition. A domain keeps
        # its own read model (a dossier's status) in the same transaction as the engine's state.
        self.observers: list = self.runtime_context.observers
        self.deployments = Deployments(self)
        self.messages = Messages(self)
        self.signals = Signals(self)
        self.jobs = JobExecutor(self, job_lock)
        # Called after each job with (topic or job type, outcome, seconds): the service's metrics.
        self.job_listeners: list = []
        # Wakes the job worker when a command queues a job (LISTEN/NOTIFY on PostgreSQL).
        self.wakeup = Wakeup(db)
        self.external_tasks = ExternalTasks(self)
        self.migrations = Migrations(self)

    # --- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def command(self):
        """One transaction; a lost race on the same rows becomes ConcurrentModification (409)."""
        try:
            with self.db.session() as session:
                yield session
                self.wakeup.before_commit(session)
            self.wakeup.after_commit(session)
        except StaleDataError:
            raise LostRace("The process instance was changed by someone else at the same time; reload and retry") from None
        except IntegrityError as exc:
            raise LostRace(f"A concurrent change conflicted with this one: {exc.orig}") from None

    RACE_ATTEMPTS = 5

    def retrying(self, action, attempts: int | None = None):
        """Run `action` (a whole command) again when it lost a race to another command on the
        same instance: an officer completing a task while a job moves the same instance on.
        Each run starts from the committed state, so the outcome is as if they had queued;
        a real conflict (the task is already completed) is re-checked and answered as such."""
        attempts = attempts or self.RACE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return action()
            except LostRace:
                if attempt == attempts:
                    raise
                log.info("command lost a race; running it again", extra={"attempt": attempt})

    def serves_topic(self, topic: str) -> bool:
        return topic in self.handlers or any(fnmatch.fnmatchcase(topic, p) for p in self.external_topics)

    def record_operation(self, session: Session, operation: str, entity: str, user_id: str | None, *,
             instance_id: str | None = None, task_id: str | None = None, **details) -> None:
        # Sent with the command's other inserts (engine/batch.py): no round trip of its own.
        insert_later(session, m.UserOperation.__table__, [dict(
            timestamp=self.clock.now(), user_id=user_id, operation_type=operation, entity_type=entity,
            instance_id=instance_id, task_id=task_id, details=details)])

    def evaluate_decision(self, key: str | None = None, variables: dict | None = None, *,
                          definition_id: str | None = None) -> list[dict]:
        """Camunda's evaluate: the latest version of decision `key` (or one version by id) on
        `variables`; one dict per matched rule (output name -> value)."""
        with self.db.reading() as session:
            if definition_id is not None:
                row = session.get(m.DecisionDefinition, definition_id)
                if row is None:
                    raise NotFound(f"No decision definition with id '{definition_id}' is deployed")
            else:
                row = latest(session, m.DecisionDefinition, key)
            decision, siblings = self.resolver.decision(session, row.id, row.key)
        try:
            return decision.evaluate(dict(variables or {}), siblings)
        except dmn.DecisionError as exc:  # the caller's variables do not fit the table: 400, as a bad command
            raise InvalidRequest(str(exc)) from None

    # --- deployments ---------------------------------------------------------------------------

    def deploy(self, resources: dict[str, bytes], name: str | None = None, source: str | None = None,
               user_id: str | None = None, tenant_id: str | None = None, changed_only: bool = False) -> DeploymentResult:
        return self.deployments.deploy(resources, name, source, user_id, tenant_id, changed_only)

    def resource_content(self, definition_id: str) -> tuple[str, bytes]:
        return self.deployments.resource_content(definition_id)

    # --- instances -----------------------------------------------------------------------------

    def start_instance(self, key: str | None, variables: dict | None = None, business_key: str | None = None,
                       user_id: str | None = None, tenant_id: str | None = None, definition_id: str | None = None) -> str:
        """Start the latest version of `key` (of no definition tenant), or the version `definition_id`.
        `tenant_id` is the instance's: the agency that received the dossier."""
        with self.command() as session:
            return self.start_in(session, key, variables, business_key, user_id, tenant_id, definition_id)

    def start_in(self, session: Session, key: str | None, variables: dict | None = None, business_key: str | None = None,
                 user_id: str | None = None, tenant_id: str | None = None, definition_id: str | None = None) -> str:
        """start_instance inside the caller's transaction (a domain row and its instance, or neither)."""
        if definition_id is None:
            definition = latest(session, m.ProcessDefinition, key)
        elif (definition := session.get(m.ProcessDefinition, definition_id)) is None:
            raise NotFound(f"No matching definition with id {definition_id}")
        if not definition.startable:
            raise InvalidRequest(f"Process '{definition.key}' has no none start event; it starts when its message arrives")
        runtime = Runtime.start(self.runtime_context, session, definition, dict(variables or {}), business_key, user_id,
                                tenant_id)
        runtime.step()
        runtime.save()
        self.record_operation(session, "Create", "ProcessInstance", user_id, instance_id=runtime.row.id,
                  variables=sorted((variables or {}).keys()))
        log.info("instance started", extra={"instance": runtime.row.id, "business_key": business_key, "definition": definition.id})
        return runtime.row.id

    def cancel_instance(self, instance_id: str, reason: str | None = None, actor: str | None = None) -> None:
        with self.command() as session:
            runtime = Runtime.load(self.runtime_context, session, instance_id, suspended_ok=True)
            runtime.workflow.cancel()
            runtime.row.state = "EXTERNALLY_TERMINATED"
            runtime.row.delete_reason = reason
            runtime.save()
            self.record_operation(session, "Delete", "ProcessInstance", actor, instance_id=instance_id, reason=reason)

    def set_instance_suspended(self, instance_id: str, suspended: bool, actor: str | None = None) -> None:
        set_suspended(self, instance_id, suspended, actor)

    def set_definition_suspended(self, definition_id: str, suspended: bool, include_instances: bool = False,
                                 actor: str | None = None) -> None:
        set_definition_suspended(self, definition_id, suspended, include_instances, actor)

    def migration_plan(self, source_id: str, target_id: str, update_event_triggers: bool = False) -> dict:
        return self.migrations.generate(source_id, target_id, update_event_triggers)

    def validate_migration(self, plan: dict) -> dict:
        return self.migrations.validate(plan)

    def migrate(self, plan: dict, instance_ids: list[str], actor: str | None = None) -> None:
        self.migrations.execute(plan, instance_ids, actor)
    def modify_variables(self, instance_id: str, modifications: dict | None = None, deletions: list | None = None,
                         actor: str | None = None) -> None:
        """Camunda's POST /process-instance/{id}/variables: set and delete variables, then let the
        instance go on (a conditional event waiting on them fires), in one command."""
        def command():
            with self.command() as session:
                runtime = Runtime.load(self.runtime_context, session, instance_id)
                scope = runtime.variables()
                scope.update(modifications or {})
                for name in deletions or ():
                    scope.pop(name, None)
                runtime.step()
                runtime.save()
                self.record_operation(session, "ModifyVariable", "ProcessInstance", actor, instance_id=instance_id,
                                      variables=sorted(modifications or {}), deleted=sorted(deletions or ()))
        self.retrying(command)

    def instance_variables(self, instance_id: str) -> dict:
        with self.db.reading() as session:
            if session.get(m.ProcessInstance, instance_id) is None:
                raise NotFound(f"Process instance '{instance_id}' does not exist")
            return stored_variables(session, instance_id)

    # --- user tasks ----------------------------------------------------------------------------

    def _open_task(self, session: Session, task_id: str, *, active: bool = False) -> m.Task:
        """The open task's row; `active`: refused when its instance is suspended (claim, complete)."""
        return self._open_task_and_instance(session, task_id, with_instance=False, active=active)[0]

    def _open_task_and_instance(self, session: Session, task_id: str, with_instance: bool = True,
                                active: bool = False) -> tuple[m.Task, m.ProcessInstance | None]:
        """The open task's row and, in the same query, its instance's (one round trip, not two)."""
        if with_instance:
            row, instance = session.execute(select(m.Task, m.ProcessInstance).join(
                m.ProcessInstance, m.ProcessInstance.id == m.Task.instance_id).where(m.Task.id == task_id)).first() or (None, None)
        else:
            row, instance = session.get(m.Task, task_id), None
        if row is not None and active and row.suspended:
            raise Suspended(f"Task with id '{task_id}' is suspended")
        if row is not None:
            return row, instance
        done = session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.id == task_id, m.ActivityInstance.end_time.is_not(None))).first()
        if done is not None:
            raise ConcurrentModification(f"Task '{task_id}' is already {'cancelled' if done.canceled else 'completed'}")
        raise NotFound(f"Cannot find task with id {task_id}")

    def claim(self, task_id: str, user_id: str, actor: str | None = None) -> None:
        if not user_id:
            raise InvalidRequest("userId is required to claim a task", {"userId": ["is required"]})
        with self.command() as session:
            row = self._open_task(session, task_id, active=True)
            claimed = session.execute(update(m.Task).where(m.Task.id == task_id, m.Task.assignee.is_(None))
                                      .values(assignee=user_id)).rowcount
            if not claimed:
                session.refresh(row)
                if row.assignee != user_id:
                    raise TaskAlreadyClaimed(f"Task '{task_id}' is already claimed by someone else")
            self._set_history_assignee(session, task_id, user_id)
            self.record_operation(session, "Claim", "Task", actor or user_id, instance_id=row.instance_id, task_id=task_id, assignee=user_id)

    def unclaim(self, task_id: str, actor: str | None = None) -> None:
        self.set_assignee(task_id, None, actor, operation="Unclaim")

    def set_assignee(self, task_id: str, user_id: str | None, actor: str | None = None, operation: str = "Assign") -> None:
        with self.command() as session:
            row = self._open_task(session, task_id)
            previous, row.assignee = row.assignee, user_id
            self._set_history_assignee(session, task_id, user_id)
            self.record_operation(session, operation, "Task", actor, instance_id=row.instance_id, task_id=task_id,
                      previous=previous, assignee=user_id)

    @staticmethod
    def _set_history_assignee(session: Session, task_id: str, user_id: str | None) -> None:
        session.execute(update(m.ActivityInstance).where(m.ActivityInstance.id == task_id).values(assignee=user_id))

    def complete_task(self, task_id: str, variables: dict | None = None, actor: str | None = None) -> dict:
        return self.retrying(lambda: self._complete_task(task_id, variables, actor))

    def _complete_task(self, task_id: str, variables: dict | None, actor: str | None) -> dict:
        with self.command() as session:
            row, instance = self._open_task_and_instance(session, task_id, active=True)
            runtime = Runtime.load(self.runtime_context, session, row.instance_id, instance)
            task = runtime.task(task_id)
            if task is None or task.state != TaskState.READY:
                raise ConcurrentModification(f"Task '{task_id}' is no longer open")
            values = form_registry.validate(task.task_spec.form, dict(variables or {}), self.forms)
            before = dict(runtime.variables())
            runtime.run_task(task, values)
            runtime.step()
            runtime.save()
            changed = {k: v for k, v in values.items() if before.get(k, object()) != v}
            self.record_operation(session, "Complete", "Task", actor, instance_id=row.instance_id, task_id=task_id, variables=changed)
            log.info("task completed", extra={"instance": row.instance_id, "task": task_id, "activity": row.activity_id})
            return dict(runtime.variables())

    def task_form(self, task_id: str):
        """The open task's camunda:formData as the diagram declares it (None when it has none)."""
        with self.db.reading() as session:
            row = self._open_task(session, task_id)
            task_spec = self.resolver.task_spec_of(session, session.get(m.ProcessInstance, row.instance_id), row.activity_id)
            return getattr(task_spec, "form", None)

    def form_variables(self, task_id: str) -> dict:
        """The task's formData fields (defaults, then current values), or all variables if it has none."""
        with self.db.reading() as session:
            row = self._open_task(session, task_id)
            instance = session.get(m.ProcessInstance, row.instance_id)
            variables = task_variables(self.runtime_context, session, instance, row.id,
                                       stored_variables(session, row.instance_id))
            task_spec = self.resolver.task_spec_of(session, instance, row.activity_id)
            form = getattr(task_spec, "form", None)
            if form is None or not form.fields:
                return variables
            return {name: variables.get(name, default) for name, default in form_registry.defaults(form).items()}

    # --- messages ------------------------------------------------------------------------------

    def correlate_message(self, name: str, business_key: str | None = None, process_instance_id: str | None = None,
                          correlation_keys: dict | None = None, variables: dict | None = None,
                          all: bool = False) -> list[CorrelationResult]:
        return self.messages.correlate_message(name, business_key, process_instance_id, correlation_keys, variables, all)

    def schedule_message(self, name: str, business_key: str, variables: dict | None = None, *,
                         delay: timedelta = timedelta(0), job_id: str | None = None, retry_cycle: str = "R10/PT2S") -> bool:
        """Deliver a message later, from the worker, once the instance with `business_key` waits for it."""
        return self.messages.schedule_message(name, business_key, variables, delay=delay, job_id=job_id,
                                              retry_cycle=retry_cycle)

    def deliver_or_schedule_in(self, session: Session, name: str, business_key: str, variables: dict, *,
                               job_id: str) -> bool:
        return self.messages.deliver_or_schedule_in(session, name, business_key, variables, job_id=job_id)

    def throw_signal(self, name: str, variables: dict | None = None, execution_id: str | None = None,
                     tenant_id: str | None = None) -> int:
        """Camunda's POST /signal: every waiting signal event, and the processes it starts."""
        return self.signals.throw(name, variables, execution_id, tenant_id)

    def add_candidate_group(self, task_id: str, group_id: str, actor: str | None = None) -> bool:
        """Make an open task visible to one more group (an escalation); False if it already was."""
        if not group_id:
            raise InvalidRequest("groupId is required", {"groupId": ["is required"]})
        with self.command() as session:
            return self.add_candidate_group_in(session, task_id, group_id, actor)

    def add_candidate_group_in(self, session: Session, task_id: str, group_id: str, actor: str | None = None) -> bool:
        """add_candidate_group inside the caller's transaction (an in-process handler's command)."""
        row = self._open_task(session, task_id)
        exists = session.scalars(select(m.IdentityLink.id).where(
            m.IdentityLink.task_id == task_id, m.IdentityLink.type == "candidate",
            m.IdentityLink.group_id == group_id)).first()
        if exists is not None:
            return False
        session.add(m.IdentityLink(task_id=task_id, type="candidate", group_id=group_id))
        self.record_operation(session, "AddIdentityLink", "Task", actor, instance_id=row.instance_id, task_id=task_id,
                  groupId=group_id, type="candidate")
        return True

    # --- jobs ----------------------------------------------------------------------------------

    def run_due_jobs(self, limit: int = 20, stopping=None) -> int:
        """Run the jobs that are due now; returns how many were run. Once the threading.Event
        `stopping` is set, the rest of the batch is released (engine.jobs.JobExecutor.run_due)."""
        return self.jobs.run_due(limit, stopping)

    def set_job_retries(self, job_id: str, retries: int) -> None:
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise InvalidRequest("retries must be a whole number ≥ 0", {"retries": ["must be a whole number ≥ 0"]})
        with self.command() as session:
            job = session.get(m.Job, job_id)
            if job is None:
                raise NotFound(f"Job '{job_id}' does not exist")
            job.retries = retries
            if retries > 0:
                job.due_at, job.lock_owner, job.lock_expires_at = self.clock.now(), None, None
                queued(session)
                session.execute(delete(m.Incident).where(m.Incident.configuration == job_id))
            else:
                open_incident(session, "failedJob", job, job.exception_message or "retries set to 0", self.clock.now())
            self.record_operation(session, "SetJobRetries", "Job", None, instance_id=job.instance_id, job_id=job_id, retries=retries)


