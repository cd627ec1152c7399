"""Service tasks served by remote workers, with Camunda 7's external-task semantics.

A worker fetches and locks tasks of its topics for a lock duration; only the lock owner may
complete, fail or throw a BPMN error; a lock that expires makes the task fetchable again (at
least once delivery, as Camunda promises). A failure with retries left makes the task fetchable
again after retryTimeout; with no retries left it opens an incident.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, or_, select

from . import models as m
from .errors import InvalidRequest, NotFound
from .handler_registry import BpmnError
from .jobs import open_incident, throw_bpmn_error
from .redaction import hide_credentials
from .local_scope import task_variables
from .runtime import Runtime, stored_variables

log = logging.getLogger("lienthong.external")


class LockLost(InvalidRequest):
    """The caller does not hold the task's lock (HTTP 400, as Camunda answers)."""

    kind = "BadUserRequestException"


@dataclass
class LockedTask:
    id: str
    topic: str
    worker_id: str
    lock_expires_at: object
    instance_id: str
    definition_id: str
    definition_key: str
    activity_id: str
    business_key: str | None
    retries: int | None
    error_message: str | None
    error_details: str | None
    priority: int
    variables: dict
    extension_properties: dict | None = None  # camunda:properties, when the worker asked for them
    suspended: bool = False  # a suspended instance's tasks are never fetched


class ExternalTasks:
    def __init__(self, engine):
        self.engine = engine

    def fetch_and_lock(self, worker_id: str, max_tasks: int, topics: list[dict], use_priority: bool = False) -> list[LockedTask]:
        """topics: [{topicName, lockDuration (ms), variables?, businessKey?, processDefinitionKey?,
        processDefinitionKeyIn?, processDefinitionIdIn?, processVariables?, includeExtensionProperties?}]"""
        if not worker_id:
            raise InvalidRequest("workerId is required", {"workerId": ["is required"]})
        engine = self.engine
        locked: list[LockedTask] = []
        with engine.command() as session:
            now = engine.clock.now()
            for topic in topics:
                if len(locked) >= max_tasks:
                    break
                query = select(m.ExternalTask).where(
                    m.ExternalTask.topic == topic["topicName"], m.ExternalTask.suspended.is_(False),
                    or_(m.ExternalTask.lock_expires_at.is_(None), m.ExternalTask.lock_expires_at < now),
                    or_(m.ExternalTask.retries.is_(None), m.ExternalTask.retries > 0),
                    or_(m.ExternalTask.retry_at.is_(None), m.ExternalTask.retry_at <= now),
                )
                if topic.get("businessKey"):
                    query = query.where(m.ExternalTask.business_key == topic["businessKey"])
                if topic.get("processDefinitionKey"):
                    query = query.where(m.ExternalTask.definition_key == topic["processDefinitionKey"])
                if topic.get("processDefinitionKeyIn"):
                    query = query.where(m.ExternalTask.definition_key.in_(topic["processDefinitionKeyIn"]))
                if topic.get("processDefinitionIdIn"):
                    query = query.where(m.ExternalTask.definition_id.in_(topic["processDefinitionIdIn"]))
                for name, value in (topic.get("processVariables") or {}).items():
                    query = query.where(select(m.Variable.name).where(
                        m.Variable.instance_id == m.ExternalTask.instance_id, m.Variable.equals(name, value)).exists())
                order = [m.ExternalTask.priority.desc()] if use_priority else []
                query = query.order_by(*order, m.ExternalTask.created, m.ExternalTask.id).limit(max_tasks - len(locked))
                if engine.db.is_postgresql:
                    query = query.with_for_update(skip_locked=True)
                for task in session.scalars(query):
                    task.worker_id = worker_id
                    task.lock_expires_at = now + timedelta(milliseconds=int(topic.get("lockDuration") or 0))
                    variables = task_variables(engine.runtime_context, session, session.get(m.ProcessInstance, task.instance_id),
                                               task.task_id, stored_variables(session, task.instance_id))
                    wanted = topic.get("variables")
                    if wanted is not None:
                        variables = {k: v for k, v in variables.items() if k in wanted}
                    properties = self._properties(session, task) if topic.get("includeExtensionProperties") else None
                    locked.append(LockedTask(
                        task.id, task.topic, worker_id, task.lock_expires_at, task.instance_id, task.definition_id,
                        task.definition_key, task.activity_id, task.business_key, task.retries, task.error_message,
                        task.error_details, task.priority, variables, properties))
        return locked

    def _properties(self, session, task: m.ExternalTask) -> dict:
        task_spec = self.engine.resolver.task_spec_of(session, session.get(m.ProcessInstance, task.instance_id), task.activity_id)
        return dict(task_spec.extensions.get("properties") or {})

    def _locked(self, session, task_id: str, worker_id: str | None) -> m.ExternalTask:
        task = session.get(m.ExternalTask, task_id)
        if task is None:
            raise NotFound(f"External task with id {task_id} does not exist")
        now = self.engine.clock.now()
        if worker_id is not None and (task.worker_id != worker_id or task.lock_expires_at is None or task.lock_expires_at < now):
            raise LockLost(f"External task {task_id} is not locked by worker '{worker_id}' "
                           f"(locked by '{task.worker_id}', lock {'expired' if task.lock_expires_at else 'absent'})")
        return task

    def complete(self, task_id: str, worker_id: str, variables: dict | None = None, local_variables: dict | None = None) -> None:
        self._finish(task_id, worker_id, {**(variables or {}), **(local_variables or {})})

    def bpmn_error(self, task_id: str, worker_id: str, code: str, message: str | None = None, variables: dict | None = None) -> None:
        if not code:
            raise InvalidRequest("errorCode is required", {"errorCode": ["is required"]})
        self._finish(task_id, worker_id, None, BpmnError(code, message, variables))

    def _finish(self, task_id: str, worker_id: str, variables: dict | None, error: BpmnError | None = None) -> None:
        engine = self.engine
        with engine.command() as session:
            item = self._locked(session, task_id, worker_id)
            runtime = Runtime.load(engine.runtime_context, session, item.instance_id)
            task = runtime.task(item.task_id)
            if task is None or task.state != TaskState.READY:
                raise NotFound(f"External task with id {task_id} does not exist any more")
            if error is not None:
                throw_bpmn_error(runtime, task, error)
            else:
                runtime.run_task(task, variables)
            runtime.step()
            runtime.save()
            log.info("external task %s", "bpmn error" if error else "completed",
                     extra={"instance": item.instance_id, "activity": item.activity_id, "worker": worker_id})

    def failure(self, task_id: str, worker_id: str, error_message: str | None, error_details: str | None = None,
                retries: int | None = None, retry_timeout: int | None = None) -> None:
        engine = self.engine
        with engine.command() as session:
            item = self._locked(session, task_id, worker_id)
            now = engine.clock.now()
            # A remote worker's message may quote its own configured URLs, credentials included.
            error_message = hide_credentials(error_message) if error_message else error_message
            item.error_message = error_message
            item.error_details = hide_credentials(error_details) if error_details else error_details
            item.retries = retries if retries is not None else item.retries
            item.worker_id, item.lock_expires_at = None, None
            item.retry_at = now + timedelta(milliseconds=retry_timeout or 0)
            if item.retries is not None and item.retries <= 0:
                open_incident(session, "failedExternalTask", item, error_message, now)

    def extend_lock(self, task_id: str, worker_id: str, new_duration: int) -> None:
        with self.engine.command() as session:
            item = self._locked(session, task_id, worker_id)
            item.lock_expires_at = self.engine.clock.now() + timedelta(milliseconds=int(new_duration))

    def unlock(self, task_id: str) -> None:
        with self.engine.command() as session:
            item = self._locked(session, task_id, None)
            item.worker_id, item.lock_expires_at = None, None

    def set_retries(self, task_id: str, retries: int) -> None:
        with self.engine.command() as session:
            item = self._locked(session, task_id, None)
            item.retries = retries
            if retries > 0:
                item.retry_at = None
                session.execute(delete(m.Incident).where(m.Incident.configuration == task_id))
            else:
                open_incident(session, "failedExternalTask", item, item.error_message or "retries set to 0", self.engine.clock.now())
