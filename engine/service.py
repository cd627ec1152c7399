"""The engine's commands: each one is one transaction, from one wait state to the next.

A command loads what it needs (an instance row, locked by its revision), lets SpiffWorkflow run
to the next wait state, and saves the instance state with its task rows, jobs, subscriptions and
history in one unit of work. If anything fails, the transaction rolls back to the last wait
state and the caller gets the error; nothing half-done is ever visible.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.util.task import TaskState

from . import dmn, forms
from . import models as m
from .bpmn.script_engine import ExpressionScriptEngine
from .bpmn.specs import first_start
from .clock import SystemClock
from .db import Database
from .definitions import SpecCache, checksum, parse_deployment
from .errors import (
    ConcurrentModification,
    DeploymentError,
    EngineError,
    InvalidRequest,
    LostRace,
    NotFound,
    Problem,
    TaskAlreadyClaimed,
)
from .handlers import HandlerRegistry
from .handlers import registry as default_handlers
from .external_tasks import ExternalTasks
from .jobs import JobExecutor, RetryPolicy, open_incident
from .runtime import Runtime, new_id

log = logging.getLogger("lienthong.engine")


@dataclass
class DeployedDefinition:
    id: str
    key: str
    version: int
    name: str | None
    resource: str
    kind: str  # "process" or "decision"


@dataclass
class DeploymentResult:
    id: str
    name: str | None
    source: str | None
    deployment_time: object
    definitions: list[DeployedDefinition] = field(default_factory=list)
    # True when every resource was identical to what is deployed already (no new version).
    unchanged: bool = False


@dataclass
class CorrelationResult:
    result_type: str  # "Execution" (a waiting instance received it) or "ProcessDefinition" (it started one)
    instance_id: str
    business_key: str | None
    definition_id: str


class ProcessEngine:
    def __init__(
        self,
        db: Database,
        *,
        handlers: HandlerRegistry | None = None,
        forms_registry: forms.FormRegistry | None = None,
        clock=None,
        worker_id: str | None = None,
        external_topics: list[str] | None = None,
        timezone: str | None = None,
    ):
        self.db = db
        self.handlers = handlers if handlers is not None else default_handlers
        self.forms = forms_registry if forms_registry is not None else forms.registry
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or f"{os.uname().nodename}:{os.getpid()}"
        env_topics = os.environ.get("LIENTHONG_EXTERNAL_TOPICS", "")
        self.external_topics = external_topics if external_topics is not None else [t.strip() for t in env_topics.split(",") if t.strip()]
        self.timezone = ZoneInfo(timezone or os.environ.get("LIENTHONG_TIMEZONE", "Asia/Ho_Chi_Minh"))
        self.specs = SpecCache()
        self.retry_policy = RetryPolicy()
        self.jobs = JobExecutor(self)
        self.external_tasks = ExternalTasks(self)
        # Called inside every command that saves an instance, after its rows are written:
        # observer(runtime, transitions), transitions a list of ActivityTransition. A domain keeps
        # its own read model (a dossier's status) in the same transaction as the engine's state.
        self.observers: list = []

    # --- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def command(self):
        """One transaction; a lost race on the same rows becomes ConcurrentModification (409)."""
        try:
            with self.db.session() as session:
                yield session
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

    def specs_for(self, session: Session, definition_id: str, bindings: dict) -> tuple:
        """The spec of a definition and every subprocess spec it may run (embedded and called)."""
        spec, embedded = self.specs.process(definition_id, lambda: session.get(m.ProcessDefinition, definition_id).spec)
        subprocesses = dict(embedded)
        for key, called_id in (bindings.get("processes") or {}).items():
            called_spec, called_embedded = self.specs.process(called_id, lambda i=called_id: session.get(m.ProcessDefinition, i).spec)
            subprocesses[key] = called_spec
            subprocesses.update(called_embedded)
        return spec, subprocesses

    def task_spec_of(self, session: Session, instance: m.ProcessInstance, activity_id: str):
        """The spec of an activity of an instance (in its process, an embedded or a called one)."""
        spec, subprocesses = self.specs_for(session, instance.definition_id, instance.bindings)
        return next((s.task_specs[activity_id] for s in (spec, *subprocesses.values()) if activity_id in s.task_specs), None)

    def bindings_for(self, session: Session, definition: m.ProcessDefinition) -> dict:
        """Pin the latest version of every process it calls and decision it takes, transitively."""
        processes, decisions, pending = {}, {}, [definition]
        while pending:
            current = pending.pop()
            for ref in current.decision_refs:
                if ref not in decisions:
                    decisions[ref] = self._latest(session, m.DecisionDefinition, ref).id
            for key in current.called_elements:
                if key not in processes:
                    called = self._latest(session, m.ProcessDefinition, key)
                    processes[key] = called.id
                    pending.append(called)
        return {"processes": processes, "decisions": decisions}

    def script_engine_for(self, session: Session, bindings: dict) -> ExpressionScriptEngine:
        pinned = bindings.get("decisions") or {}

        def decide(ref: str, variables: dict, mapping: str | None):
            definition_id = pinned.get(ref)
            if definition_id is None:
                raise EngineError(f"decision '{ref}' is not bound to this instance")
            decision, siblings = self.specs.decision(definition_id, ref, lambda: self._decision_resource(session, definition_id))
            return dmn.map_decision_result(decision.evaluate(variables, siblings), mapping)

        return ExpressionScriptEngine(self.clock, self.timezone, decide)

    def _decision_resource(self, session: Session, definition_id: str) -> tuple[str, bytes]:
        definition = session.get(m.DecisionDefinition, definition_id)
        return definition.resource_name, session.get(m.Resource, definition.resource_id).content

    @staticmethod
    def _latest(session: Session, model, key: str):
        row = session.scalars(select(model).where(model.key == key).order_by(model.version.desc()).limit(1)).first()
        if row is None:
            kind = "process" if model is m.ProcessDefinition else "decision"
            raise NotFound(f"No {kind} definition with key '{key}' is deployed")
        return row

    def _log(self, session: Session, operation: str, entity: str, user_id: str | None, *,
             instance_id: str | None = None, task_id: str | None = None, **details) -> None:
        session.add(m.UserOperation(timestamp=self.clock.now(), user_id=user_id, operation_type=operation,
                                    entity_type=entity, instance_id=instance_id, task_id=task_id, details=details))

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
                row = self._latest(session, m.DecisionDefinition, key)
            decision, siblings = self.specs.decision(row.id, row.key, lambda: self._decision_resource(session, row.id))
        try:
            return decision.evaluate(dict(variables or {}), siblings)
        except dmn.DecisionError as exc:  # the caller's variables do not fit the table: 400, as a bad command
            raise InvalidRequest(str(exc)) from None

    # --- deployments ---------------------------------------------------------------------------

    def deploy(self, resources: dict[str, bytes], name: str | None = None, source: str | None = None,
               user_id: str | None = None) -> DeploymentResult:
        with self.command() as session:
            deployed_processes = set(session.scalars(select(m.ProcessDefinition.key).distinct()))
            deployed_decisions = set(session.scalars(select(m.DecisionDefinition.key).distinct()))
            parsed = parse_deployment(resources, self.serves_topic, deployed_processes, deployed_decisions,
                                      has_form=lambda name: name in self.forms)
            self._refuse_shared_start_messages(session, parsed)
            changed_processes = [p for p in parsed.processes if self._changed(session, m.ProcessDefinition, p)]
            changed_decisions = [d for d in parsed.decisions if self._changed(session, m.DecisionDefinition, d)]
            unchanged = None
            if not changed_processes and not changed_decisions:
                unchanged = self._unchanged(session, parsed)
                # Camunda filters duplicates against the latest deployment of the same name only:
                # otherwise the files make a deployment of their own (an unchanged file still makes
                # no new version here), and the answer names that deployment.
                same = self._latest_deployment_named(session, name)
                if same is not None and self._holds(session, same, resources):
                    return DeploymentResult(same.id, same.name, same.source, same.deployment_time,
                                            unchanged.definitions, unchanged=True)
            now = self.clock.now()
            deployment = m.Deployment(id=new_id(), name=name, source=source, deployment_time=now)
            session.add(deployment)
            resource_ids = {}
            for resource_name, content in resources.items():
                resource_ids[resource_name] = new_id()
                session.add(m.Resource(id=resource_ids[resource_name], deployment_id=deployment.id, name=resource_name,
                                       checksum=checksum(content), content=content))
            if unchanged is not None:
                self._log(session, "Create", "Deployment", user_id, deployment_id=deployment.id, definitions=[])
                return DeploymentResult(deployment.id, name, source, now, unchanged.definitions, unchanged=True)
            result = DeploymentResult(deployment.id, name, source, now)
            session.flush()
            for d in changed_decisions:
                row = m.DecisionDefinition(
                    id=new_id(), key=d.key, version=self._next_version(session, m.DecisionDefinition, d.key), name=d.name,
                    version_tag=d.version_tag, deployment_id=deployment.id, resource_id=resource_ids[d.resource_name],
                    resource_name=d.resource_name, checksum=d.checksum)
                session.add(row)
                result.definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, "decision"))
            for p in changed_processes:
                version = self._next_version(session, m.ProcessDefinition, p.key)
                row = m.ProcessDefinition(
                    id=_definition_id(p.key, version), key=p.key, version=version, name=p.name, version_tag=p.version_tag,
                    deployment_id=deployment.id, resource_name=p.resource_name, checksum=p.checksum, spec=p.spec,
                    called_elements=p.called_elements, decision_refs=p.decision_refs,
                    start_messages=p.start_messages, startable=p.startable, start_timers=p.start_timers)
                session.add(row)
                session.flush()
                self._subscribe_start_messages(session, row)
                self._schedule_start_timers(session, row)
                result.definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, "process"))
            self._log(session, "Create", "Deployment", user_id, deployment_id=deployment.id,
                      definitions=[d.id for d in result.definitions])
            log.info("deployed", extra={"deployment": deployment.id, "definitions": [d.id for d in result.definitions]})
            return result

    @staticmethod
    def _refuse_shared_start_messages(session: Session, parsed) -> None:
        """A message may start one process only (Camunda refuses the same)."""
        problems, starters = [], {}
        for process in parsed.processes:
            for message in process.start_messages:
                other = starters.setdefault(message, process.key)
                if other == process.key:
                    other = session.scalars(
                        select(m.ProcessDefinition.key).join(m.EventSubscription, m.EventSubscription.definition_id == m.ProcessDefinition.id)
                        .where(m.EventSubscription.event_name == message, m.ProcessDefinition.key != process.key)).first()
                if other and other != process.key:
                    problems.append(Problem(process.resource_name, process.key,
                                            f"the message '{message}' already starts process '{other}'; a message may start one process only"))
        if problems:
            raise DeploymentError(problems)

    @staticmethod
    def _changed(session: Session, model, parsed) -> bool:
        latest = session.scalars(select(model.checksum).where(model.key == parsed.key).order_by(model.version.desc()).limit(1)).first()
        return latest != parsed.checksum

    @staticmethod
    def _next_version(session: Session, model, key: str) -> int:
        return (session.scalar(select(func.max(model.version)).where(model.key == key)) or 0) + 1

    @staticmethod
    def _latest_deployment_named(session: Session, name: str | None) -> m.Deployment | None:
        named = m.Deployment.name.is_(None) if name is None else m.Deployment.name == name
        return session.scalars(select(m.Deployment).where(named).order_by(m.Deployment.deployment_time.desc()).limit(1)).first()

    @staticmethod
    def _holds(session: Session, deployment: m.Deployment, resources: dict[str, bytes]) -> bool:
        held = session.execute(select(m.Resource.name, m.Resource.checksum).where(m.Resource.deployment_id == deployment.id))
        return set(held) == {(name, checksum(content)) for name, content in resources.items()}

    def _unchanged(self, session: Session, parsed) -> DeploymentResult:
        definitions = []
        for model, items, kind in ((m.ProcessDefinition, parsed.processes, "process"), (m.DecisionDefinition, parsed.decisions, "decision")):
            for item in items:
                row = self._latest(session, model, item.key)
                definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, kind))
        first = session.get(m.ProcessDefinition, definitions[0].id) if definitions[0].kind == "process" else session.get(m.DecisionDefinition, definitions[0].id)
        deployment = session.get(m.Deployment, first.deployment_id)
        return DeploymentResult(deployment.id, deployment.name, deployment.source, deployment.deployment_time, definitions, unchanged=True)

    def _subscribe_start_messages(self, session: Session, definition: m.ProcessDefinition) -> None:
        older = select(m.ProcessDefinition.id).where(m.ProcessDefinition.key == definition.key, m.ProcessDefinition.id != definition.id)
        for subscription in session.scalars(select(m.EventSubscription).where(m.EventSubscription.definition_id.in_(older))):
            session.delete(subscription)
        for message in definition.start_messages:
            session.add(m.EventSubscription(event_type="message", event_name=message, definition_id=definition.id,
                                            activity_id=definition.key, created=self.clock.now()))

    def _schedule_start_timers(self, session: Session, definition: m.ProcessDefinition) -> None:
        """The newest version's timer start events replace the older versions' schedules."""
        for job in session.scalars(select(m.Job).where(m.Job.type == "timer-start", m.Job.definition_key == definition.key)):
            session.delete(job)
        now = self.clock.now()
        for timer in definition.start_timers:
            due, schedule = first_start(timer, now, self.timezone)
            session.add(m.Job(id=new_id(), type="timer-start", instance_id=None, definition_id=definition.id,
                              definition_key=definition.key, activity_id=timer["activityId"], task_id=timer["activityId"],
                              due_at=due, retries=self.retry_policy(None)[0], schedule=schedule, created=now))

    def resource_content(self, definition_id: str) -> tuple[str, bytes]:
        with self.db.reading() as session:
            definition = session.get(m.ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"Process definition '{definition_id}' does not exist")
            resource = session.scalars(select(m.Resource).where(
                m.Resource.deployment_id == definition.deployment_id, m.Resource.name == definition.resource_name)).one()
            return resource.name, resource.content

    # --- instances -----------------------------------------------------------------------------

    def start_instance(self, key: str, variables: dict | None = None, business_key: str | None = None,
                       user_id: str | None = None, tenant_id: str | None = None) -> str:
        with self.command() as session:
            return self.start_in(session, key, variables, business_key, user_id, tenant_id)

    def start_in(self, session: Session, key: str, variables: dict | None = None, business_key: str | None = None,
                 user_id: str | None = None, tenant_id: str | None = None) -> str:
        """start_instance inside the caller's transaction (a domain row and its instance, or neither)."""
        definition = self._latest(session, m.ProcessDefinition, key)
        if not definition.startable:
            raise InvalidRequest(f"Process '{key}' has no none start event; it starts when its message arrives")
        runtime = Runtime.start(self, session, definition, dict(variables or {}), business_key, user_id, tenant_id)
        runtime.step()
        runtime.save()
        self._log(session, "Create", "ProcessInstance", user_id, instance_id=runtime.row.id,
                  variables=sorted((variables or {}).keys()))
        log.info("instance started", extra={"instance": runtime.row.id, "business_key": business_key, "definition": definition.id})
        return runtime.row.id

    def cancel_instance(self, instance_id: str, reason: str | None = None, actor: str | None = None) -> None:
        with self.command() as session:
            runtime = Runtime.load(self, session, instance_id)
            runtime.workflow.cancel()
            runtime.row.state = "EXTERNALLY_TERMINATED"
            runtime.row.delete_reason = reason
            runtime.save()
            self._log(session, "Delete", "ProcessInstance", actor, instance_id=instance_id, reason=reason)

    def instance_variables(self, instance_id: str) -> dict:
        with self.db.reading() as session:
            if session.get(m.ProcessInstance, instance_id) is None:
                raise NotFound(f"Process instance '{instance_id}' does not exist")
            return self.stored_variables(session, instance_id)

    @staticmethod
    def stored_variables(session: Session, instance_id: str) -> dict:
        """An instance's variables as of its last committed wait state (rows, no workflow loaded)."""
        rows = session.scalars(select(m.Variable).where(m.Variable.instance_id == instance_id))
        return {row.name: json.loads(row.value_json) for row in rows}

    # --- user tasks ----------------------------------------------------------------------------

    def _open_task(self, session: Session, task_id: str) -> m.Task:
        row = session.get(m.Task, task_id)
        if row is not None:
            return row
        done = session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.id == task_id, m.ActivityInstance.end_time.is_not(None))).first()
        if done is not None:
            raise ConcurrentModification(f"Task '{task_id}' is already {'cancelled' if done.canceled else 'completed'}")
        raise NotFound(f"Cannot find task with id {task_id}")

    def claim(self, task_id: str, user_id: str, actor: str | None = None) -> None:
        if not user_id:
            raise InvalidRequest("userId is required to claim a task", {"userId": ["is required"]})
        with self.command() as session:
            row = self._open_task(session, task_id)
            claimed = session.execute(update(m.Task).where(m.Task.id == task_id, m.Task.assignee.is_(None))
                                      .values(assignee=user_id)).rowcount
            if not claimed:
                session.refresh(row)
                if row.assignee != user_id:
                    raise TaskAlreadyClaimed(f"Task '{task_id}' is already claimed by someone else")
            self._set_history_assignee(session, task_id, user_id)
            self._log(session, "Claim", "Task", actor or user_id, instance_id=row.instance_id, task_id=task_id, assignee=user_id)

    def unclaim(self, task_id: str, actor: str | None = None) -> None:
        self.set_assignee(task_id, None, actor, operation="Unclaim")

    def set_assignee(self, task_id: str, user_id: str | None, actor: str | None = None, operation: str = "Assign") -> None:
        with self.command() as session:
            row = self._open_task(session, task_id)
            previous, row.assignee = row.assignee, user_id
            self._set_history_assignee(session, task_id, user_id)
            self._log(session, operation, "Task", actor, instance_id=row.instance_id, task_id=task_id,
                      previous=previous, assignee=user_id)

    @staticmethod
    def _set_history_assignee(session: Session, task_id: str, user_id: str | None) -> None:
        session.execute(update(m.ActivityInstance).where(m.ActivityInstance.id == task_id).values(assignee=user_id))

    def complete_task(self, task_id: str, variables: dict | None = None, actor: str | None = None) -> dict:
        return self.retrying(lambda: self._complete_task(task_id, variables, actor))

    def _complete_task(self, task_id: str, variables: dict | None, actor: str | None) -> dict:
        with self.command() as session:
            row = self._open_task(session, task_id)
            runtime = Runtime.load(self, session, row.instance_id)
            task = runtime.task(task_id)
            if task is None or task.state != TaskState.READY:
                raise ConcurrentModification(f"Task '{task_id}' is no longer open")
            values = forms.validate(task.task_spec.form, dict(variables or {}), self.forms)
            before = dict(runtime.variables())
            runtime.run_task(task, values)
            runtime.step()
            runtime.save()
            changed = {k: v for k, v in values.items() if before.get(k, object()) != v}
            self._log(session, "Complete", "Task", actor, instance_id=row.instance_id, task_id=task_id, variables=changed)
            log.info("task completed", extra={"instance": row.instance_id, "task": task_id, "activity": row.activity_id})
            return dict(runtime.variables())

    def form_variables(self, task_id: str) -> dict:
        """The task's formData fields (defaults, then current values), or all variables if it has none."""
        with self.db.reading() as session:
            row = self._open_task(session, task_id)
            variables = self.stored_variables(session, row.instance_id)
            task_spec = self.task_spec_of(session, session.get(m.ProcessInstance, row.instance_id), row.activity_id)
            form = getattr(task_spec, "form", None)
            if form is None or not form.fields:
                return variables
            return {name: variables.get(name, default) for name, default in forms.defaults(form).items()}

    # --- messages ------------------------------------------------------------------------------

    def correlate_message(self, name: str, business_key: str | None = None, process_instance_id: str | None = None,
                          correlation_keys: dict | None = None, variables: dict | None = None,
                          all: bool = False) -> list[CorrelationResult]:
        def correlate():
            with self.command() as session:
                return self.correlate_in(session, name, business_key, process_instance_id, correlation_keys, variables, all)
        return self.retrying(correlate)

    def correlate_in(self, session: Session, name: str, business_key: str | None = None,
                     process_instance_id: str | None = None, correlation_keys: dict | None = None,
                     variables: dict | None = None, all: bool = False,
                     waiting_only: bool = False) -> list[CorrelationResult]:
        """correlate_message inside the caller's transaction; `waiting_only` never starts an instance."""
        if not name:
            raise InvalidRequest("messageName is required", {"messageName": ["is required"]})
        variables = dict(variables or {})
        waiting = self._waiting_instances(session, name, business_key, process_instance_id, correlation_keys)
        if not waiting and process_instance_id is None and not correlation_keys and not waiting_only:
            return [self._start_by_message(session, name, business_key, variables)]
        if not waiting:
            raise InvalidRequest(f"Cannot correlate message '{name}': No process definition or execution matches the parameters")
        if len(waiting) > 1 and not all:
            raise InvalidRequest(f"Cannot correlate message '{name}': {len(waiting)} executions match the parameters; "
                                 "narrow them (businessKey, processInstanceId, correlationKeys) or set all=true")
        results = []
        for instance_id in waiting:
            runtime = Runtime.load(self, session, instance_id)
            runtime.variables().update(variables)
            runtime.deliver_message(name, variables)
            runtime.step()
            runtime.save()
            results.append(CorrelationResult("Execution", instance_id, runtime.row.business_key, runtime.row.definition_id))
            log.info("message correlated", extra={"instance": instance_id, "message_name": name})
        return results

    def schedule_message(self, name: str, business_key: str, variables: dict | None = None, *,
                         delay: timedelta = timedelta(0), job_id: str | None = None, retry_cycle: str = "R10/PT2S") -> bool:
        """Deliver a message later, from the worker, to the instance with `business_key` once it
        waits for it (an agency answering "shortly after" a hand-off). `job_id` makes it idempotent:
        scheduling the same id twice is one message. False when that id was already scheduled."""
        with self.command() as session:
            return self.schedule_message_in(session, name, business_key, variables, delay=delay, job_id=job_id,
                                            retry_cycle=retry_cycle)

    def schedule_message_in(self, session: Session, name: str, business_key: str, variables: dict | None = None, *,
                            delay: timedelta = timedelta(0), job_id: str | None = None,
                            retry_cycle: str = "R10/PT2S") -> bool:
        """schedule_message inside the caller's transaction."""
        job_id = job_id or new_id()
        if session.get(m.Job, job_id) is not None:
            return False
        tries, _ = self.retry_policy(retry_cycle)
        now = self.clock.now()
        session.add(m.Job(id=job_id, type="message", instance_id=None, definition_id="", definition_key="",
                          activity_id="", task_id="", topic=name, due_at=now + delay, retries=tries,
                          retry_cycle=retry_cycle, attempt=0, priority=0, created=now,
                          schedule={"businessKey": business_key, "variables": dict(variables or {})}))
        log.info("message scheduled", extra={"message_name": name, "business_key": business_key, "job": job_id})
        return True

    def deliver_or_schedule_in(self, session: Session, name: str, business_key: str, variables: dict, *,
                               job_id: str) -> bool:
        """Deliver the message to the instance with `business_key` now if it waits for it, else
        when it does (it may still be in the step before its catch event): True when delivered now.
        `job_id` keeps a message sent twice before the instance waits to one delivery."""
        if self._waiting_instances(session, name, business_key, None, None):
            self.correlate_in(session, name, business_key=business_key, variables=variables, waiting_only=True)
            return True
        self.schedule_message_in(session, name, business_key, variables, job_id=job_id)
        return False

    def add_candidate_group(self, task_id: str, group_id: str, actor: str | None = None) -> bool:
        """Make an open task visible to one more group (an escalation); False if it already was."""
        if not group_id:
            raise InvalidRequest("groupId is required", {"groupId": ["is required"]})
        with self.command() as session:
            row = self._open_task(session, task_id)
            exists = session.scalars(select(m.IdentityLink.id).where(
                m.IdentityLink.task_id == task_id, m.IdentityLink.type == "candidate",
                m.IdentityLink.group_id == group_id)).first()
            if exists is not None:
                return False
            session.add(m.IdentityLink(task_id=task_id, type="candidate", group_id=group_id))
            self._log(session, "AddIdentityLink", "Task", actor, instance_id=row.instance_id, task_id=task_id,
                      groupId=group_id, type="candidate")
            return True

    def _waiting_instances(self, session: Session, name: str, business_key, process_instance_id, correlation_keys) -> list[str]:
        query = (select(m.EventSubscription.instance_id).distinct()
                 .join(m.ProcessInstance, m.ProcessInstance.id == m.EventSubscription.instance_id)
                 .where(m.EventSubscription.event_type == "message", m.EventSubscription.event_name == name))
        if business_key is not None:
            query = query.where(m.ProcessInstance.business_key == business_key)
        if process_instance_id is not None:
            query = query.where(m.ProcessInstance.id == process_instance_id)
        for key, value in (correlation_keys or {}).items():
            query = query.where(select(m.Variable.name).where(
                m.Variable.instance_id == m.ProcessInstance.id, m.Variable.equals(key, value)).exists())
        return sorted(session.scalars(query))

    def _start_by_message(self, session: Session, name: str, business_key, variables: dict) -> CorrelationResult:
        subscription = session.scalars(select(m.EventSubscription).where(
            m.EventSubscription.event_type == "message", m.EventSubscription.event_name == name,
            m.EventSubscription.definition_id.is_not(None))).first()
        if subscription is None:
            raise InvalidRequest(f"Cannot correlate message '{name}': No process definition or execution matches the parameters")
        definition = session.get(m.ProcessDefinition, subscription.definition_id)
        runtime = Runtime.start(self, session, definition, variables, business_key, None)
        runtime.step()
        runtime.deliver_message(name, variables)
        runtime.step()
        runtime.save()
        log.info("instance started by message", extra={"instance": runtime.row.id, "message_name": name})
        return CorrelationResult("ProcessDefinition", runtime.row.id, business_key, definition.id)

    # --- jobs ----------------------------------------------------------------------------------

    def run_due_jobs(self, limit: int = 20) -> int:
        """Run the jobs that are due now; returns how many were taken."""
        return self.jobs.run_due(limit)

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
                session.execute(delete(m.Incident).where(m.Incident.configuration == job_id))
            else:
                open_incident(session, "failedJob", job, job.exception_message or "retries set to 0", self.clock.now())
            self._log(session, "SetJobRetries", "Job", None, instance_id=job.instance_id, job_id=job_id, retries=retries)


def _definition_id(key: str, version: int) -> str:
    """Camunda's `key:version:uuid`, or a plain uuid when that would not fit the column."""
    readable = f"{key}:{version}:{new_id()}"
    return readable if len(readable) <= 64 else new_id()
