"""Jobs: the work done after a commit, by a worker, never inside the request that caused it.

A service-task job runs its handler outside any transaction (a handler may call an agency's
system for seconds), then completes the task in a fresh command. A failure is retried per
camunda:failedJobRetryTimeCycle (default: 3 tries, exponential back-off) and then becomes an
incident. A job's id is its idempotency key: it stays the same across retries, so a receiver
can recognise a redo. A timer job fires the instance's due timers.

Only a service task marked camunda:asyncBefore becomes a job; any other in-process handler runs
inside the command that reaches its task (engine/inline.py), as Camunda 7 runs a delegate.
camunda:asyncAfter keeps the handler's result on the open task and a continuation job (schedule
{"continue": true}) completes it after the commit.

Claiming takes a lock with an expiry; a job whose worker died is taken again once it expires.
On PostgreSQL, workers claim with FOR UPDATE SKIP LOCKED, so any number can share a database.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select

from . import models as m
from .bpmn.multi_instance import is_instance
from .bpmn.script_engine import scope_of
from .bpmn.specs import next_start
from .local_scope import task_variables
from .errors import EngineError, Suspended
from .handler_registry import BpmnError, TaskContext, as_variables
from .redaction import hide_credentials
from .retries import RetryPolicy, parse_retry_cycle  # noqa: F401 - imported from here too
from .runtime import ASYNC_AFTER, Runtime, is_true, new_id
from .wakeup import queued

log = logging.getLogger("lienthong.jobs")


class UncaughtBpmnError(EngineError):
    """A BPMN error no boundary event catches: retrying cannot help, so it is an incident at once."""


class HandlerFailed(EngineError):
    """An in-process handler run inside a command raised: the command is rolled back to the last
    wait state and its caller gets this (HTTP 500, as Camunda answers a failing delegate)."""


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    type: str
    instance_id: str
    task_id: str
    activity_id: str
    topic: str | None
    attempt: int
    retry_cycle: str | None
    schedule: dict | None = None
    # A service-task job's handler context, read in the claiming transaction (as an external
    # task's variables are read when it is fetched and locked).
    context: TaskContext | None = None


class JobExecutor:
    def __init__(self, engine, lock_duration: timedelta):
        self.engine = engine
        # How long a claimed job stays locked; a job whose worker died is taken again after it.
        self.lock_duration = lock_duration

    def run_due(self, limit: int) -> int:
        claimed = self.claim(limit)
        if not claimed:
            return 0
        left = {job.id for job in claimed}
        with self._heartbeat(left):
            for job in claimed:
                self.execute(job)
                left.discard(job.id)
        return len(claimed)

    @contextmanager
    def _heartbeat(self, left: set[str]):
        """Keep this worker's claim on the jobs of its batch not yet finished, every third of the
        claim, while it runs them: the claim can then be short (a killed worker's jobs are free
        again within seconds) and still outlast a slow handler."""
        stop = threading.Event()

        def beat():
            while not stop.wait(self.lock_duration.total_seconds() / 3):
                try:
                    self.extend(sorted(left))
                except Exception:  # noqa: BLE001 - a missed beat is retried; the claim outlasts two
                    log.warning("job claim not extended", exc_info=True)

        thread = threading.Thread(target=beat, name="lienthong-job-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def extend(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        job = m.Job.__table__
        with self.engine.db.session() as session:
            session.execute(job.update().where(job.c.id.in_(job_ids), job.c.lock_owner == self.engine.worker_id)
                            .values(lock_expires_at=self.engine.clock.now() + self.lock_duration))

    def claim(self, limit: int) -> list[ClaimedJob]:
        """Lock up to `limit` due jobs for this worker (one UPDATE ... RETURNING) and read the
        handler contexts of the service-task jobs among them, in one transaction."""
        engine = self.engine
        job = m.Job.__table__
        with engine.db.session() as session:
            now = engine.clock.now()
            due = (select(job.c.id)
                   .where(job.c.due_at <= now, job.c.retries > 0, job.c.suspended.is_(False),
                          or_(job.c.lock_expires_at.is_(None), job.c.lock_expires_at < now))
                   .order_by(job.c.priority.desc(), job.c.due_at).limit(limit))
            if engine.db.is_postgresql:
                due = due.with_for_update(skip_locked=True)
            rows = session.execute(
                job.update().where(job.c.id.in_(due.scalar_subquery()))
                .values(lock_owner=engine.worker_id, lock_expires_at=now + self.lock_duration)
                .returning(job.c.id, job.c.type, job.c.instance_id, job.c.task_id, job.c.activity_id, job.c.topic,
                           job.c.attempt, job.c.retry_cycle, job.c.schedule, job.c.priority, job.c.due_at)).all()
            rows.sort(key=lambda r: (-r.priority, r.due_at))
            contexts = self._contexts(session, [r for r in rows if r.type == "service-task"])
            return [ClaimedJob(r.id, r.type, r.instance_id, r.task_id, r.activity_id, r.topic, r.attempt,
                               r.retry_cycle, r.schedule, contexts.get(r.id)) for r in rows]

    def _contexts(self, session, rows) -> dict[str, TaskContext]:
        """job id -> the context its handler gets: two SELECTs for all the jobs claimed."""
        if not rows:
            return {}
        engine = self.engine
        ids = sorted({r.instance_id for r in rows})
        instances = {i.id: i for i in session.scalars(select(m.ProcessInstance).where(m.ProcessInstance.id.in_(ids)))}
        variables: dict[str, dict] = {i: {} for i in ids}
        for instance_id, name, text in session.execute(select(m.Variable.instance_id, m.Variable.name, m.Variable.value_json)
                                                       .where(m.Variable.instance_id.in_(ids))):
            variables[instance_id][name] = json.loads(text)
        contexts = {}
        for r in rows:
            instance = instances.get(r.instance_id)
            task_spec = engine.resolver.task_spec_of(session, instance, r.activity_id) if instance is not None else None
            if task_spec is None:
                continue  # the job fails when it runs, with the reason (see _run_handler)
            contexts[r.id] = TaskContext(
                topic=r.topic, variables=MappingProxyType(task_variables(engine.runtime_context, session, instance, r.task_id,
                                                                          dict(variables[r.instance_id]))),
                properties=MappingProxyType(dict(task_spec.extensions.get("properties") or {})),
                instance_id=r.instance_id, business_key=instance.business_key, activity_id=r.activity_id,
                definition_key=instance.definition_key, idempotency_key=r.id, attempt=r.attempt + 1, services=engine,
                result_variable=task_spec.extensions.get("resultVariable") if task_spec.extensions.get("expression") else None)
        return contexts

    def execute(self, job: ClaimedJob) -> str:
        started = time.perf_counter()
        try:
            run = {"timer": self._fire_timers, "timer-start": self._start_by_timer,
                   "message": self._deliver_message}.get(job.type)
            if job.type == "service-task" and (job.schedule or {}).get("continue"):
                run = self._complete  # after a camunda:asyncAfter task: its handler already ran
            outcome = self.engine.retrying(lambda: run(job)) if run else self._run_handler(job)
        except Exception as exc:  # noqa: BLE001 - any failure of a job is recorded, never lost
            outcome = self._fail(job, exc)
        log.info("job %s", outcome, extra={
            "job": job.id, "type": job.type, "instance": job.instance_id, "activity": job.activity_id,
            "topic": job.topic, "attempt": job.attempt + 1, "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        for listener in self.engine.job_listeners:  # metrics: listener(topic or type, outcome, seconds)
            listener(job.topic or job.type, outcome, time.perf_counter() - started)
        return outcome

    def _owned(self, session, job: ClaimedJob) -> m.Job | None:
        """The job's row if this worker still holds it: None when it was cancelled meanwhile, or
        when our lock expired and another worker took it (that worker's outcome stands)."""
        row = session.get(m.Job, job.id)
        return row if row is not None and row.lock_owner == self.engine.worker_id else None

    # --- service tasks -------------------------------------------------------------------------

    def _run_handler(self, job: ClaimedJob) -> str:
        handler = self.engine.handlers.get(job.topic)
        if handler is None:
            raise EngineError(f"no handler is registered for topic '{job.topic}'")
        if job.context is None:
            raise EngineError(f"activity '{job.activity_id}' of process instance '{job.instance_id}' does not exist")
        try:
            returned = handler(job.context)
        except BpmnError as error:
            raised = error  # the except clause unbinds `error` before a retried lambda could read it
            return self.engine.retrying(lambda: self._complete(job, error=raised))
        result = as_variables(returned, job.context)
        if result is None:
            raise EngineError(f"the handler of '{job.topic}' returned {type(returned).__name__}; it must return a dict of variables")
        # Only the completion is rerun after a lost race, never the handler (its side effects).
        return self.engine.retrying(lambda: self._complete(job, result=result))

    def _complete(self, job: ClaimedJob, result: dict | None = None, error: BpmnError | None = None) -> str:
        engine = self.engine
        with engine.command() as session:
            row = self._owned(session, job)
            if row is None:
                return "stale"
            runtime = Runtime.load(engine.runtime_context, session, job.instance_id)
            task = runtime.task(job.task_id)
            if task is None or task.state != TaskState.READY:
                session.delete(row)
                return "stale"
            if error is not None:
                throw_bpmn_error(runtime, task, error)
            elif ASYNC_AFTER in task.internal_data:
                runtime.run_task(task, task.internal_data.pop(ASYNC_AFTER))
            elif is_true(task.task_spec.extensions.get("asyncAfter")):
                # Commit the handler's result; a continuation job (this one, released) completes the task.
                task.internal_data[ASYNC_AFTER] = result
                runtime.save()
                row.schedule, row.due_at, row.lock_owner, row.lock_expires_at = {"continue": True}, engine.clock.now(), None, None
                queued(session)
                return "completed, continues after"
            else:
                runtime.run_task(task, result)
            runtime.step()
            runtime.save()
            return "bpmn-error" if error is not None else "completed"

    def _fail(self, job: ClaimedJob, exc: Exception) -> str:
        engine = self.engine
        with engine.db.session() as session:
            row = self._owned(session, job)
            if row is None:
                return "stale"
            row.lock_owner, row.lock_expires_at = None, None
            if isinstance(exc, Suspended):  # suspended after the claim: not a failure; it waits for activation
                return "held (instance suspended)"
            now = engine.clock.now()
            _, delay = engine.retry_policy(row.retry_cycle)
            row.attempt += 1
            row.retries = 0 if isinstance(exc, UncaughtBpmnError) else max(row.retries - 1, 0)
            # An adapter's message quotes its URL, credentials included (user:password@, ?token=).
            row.exception_message = hide_credentials(str(exc))[:4000]
            row.exception_stacktrace = hide_credentials("".join(traceback.format_exception(exc)))[-20000:]
            if row.retries > 0:
                row.due_at = now + delay(row.attempt)
                return "failed, will retry"
            open_incident(session, "failedJob", row, row.exception_message, now)
            log.warning("incident opened", extra={"job": row.id, "instance": row.instance_id,
                                                  "activity": row.activity_id, "error": row.exception_message})
            return "failed, incident"

    # --- timers --------------------------------------------------------------------------------

    def _fire_timers(self, job: ClaimedJob) -> str:
        engine = self.engine
        with engine.command() as session:
            row = self._owned(session, job)
            if row is None:
                return "stale"
            runtime = Runtime.load(engine.runtime_context, session, job.instance_id)
            runtime.fire_due_timers()
            runtime.step()
            runtime.save()
            remaining = session.get(m.Job, job.id)
            if remaining is not None:  # a cycle with more to come, or not yet due
                remaining.lock_owner, remaining.lock_expires_at = None, None
            return "fired"


    def _start_by_timer(self, job: ClaimedJob) -> str:
        engine = self.engine
        with engine.command() as session:
            row = self._owned(session, job)
            if row is None:
                return "stale"
            definition = session.get(m.ProcessDefinition, row.definition_id)
            runtime = Runtime.start(engine.runtime_context, session, definition, {}, None, None)
            runtime.step()
            runtime.save()
            schedule = dict(row.schedule or {})
            if schedule and schedule["cycles"] != 1:
                schedule["cycles"] = schedule["cycles"] - 1 if schedule["cycles"] > 0 else -1
                row.schedule, row.due_at = schedule, next_start(schedule, row.due_at, engine.timezone)
                row.lock_owner, row.lock_expires_at = None, None
            else:
                session.delete(row)
            log.info("instance started by timer", extra={"instance": runtime.row.id, "definition": definition.id})
            return "started"


    # --- scheduled messages ----------------------------------------------------------------------

    def _deliver_message(self, job: ClaimedJob) -> str:
        """A message scheduled with ProcessEngine.schedule_message: delivered to an instance already
        waiting for it (never starts one). Nobody waiting yet is a failure, so it is retried."""
        engine = self.engine
        payload = job.schedule or {}
        with engine.command() as session:
            row = self._owned(session, job)
            if row is None:
                return "stale"
            engine.messages.correlate_in(session, job.topic, business_key=payload.get("businessKey"),
                                variables=payload.get("variables") or {}, waiting_only=True)
            session.delete(row)  # in the same transaction: delivered once, or not at all
        return "delivered"


def open_incident(session, kind: str, item, message: str | None, now) -> None:
    """One open incident per failed job or external task (`configuration` names it)."""
    exists = session.scalars(select(m.Incident.id).where(m.Incident.configuration == item.id)).first()
    if exists is None:
        session.add(m.Incident(id=new_id(), type=kind, instance_id=item.instance_id, definition_id=item.definition_id,
                               activity_id=item.activity_id, configuration=item.id, message=message, created=now))


def throw_bpmn_error(runtime: Runtime, task, error: BpmnError) -> None:
    """Route a business error to the nearest error boundary event that catches its code."""
    scope_of(runtime.workflow).update(error.variables)
    current = task
    while current is not None:
        boundary = _error_boundary(current, error.code)
        if boundary is not None:
            # Only the variables the diagram names (camunda:errorCodeVariable / errorMessageVariable).
            names = boundary.task_spec.extensions
            payload = {names[k]: v for k, v in (("errorCodeVariable", error.code), ("errorMessageVariable", error.message)) if names.get(k)}
            event = BpmnEvent(boundary.task_spec.event_definition, payload=payload)
            boundary.task_spec.catch(boundary, event)
            boundary.task_spec._update(boundary)
            return
        parent = current.workflow.parent_task_id
        current = runtime.workflow.get_task_from_id(parent) if parent is not None else None
    raise UncaughtBpmnError(f"BPMN error '{error.code}' ({error.message}) thrown at {task.task_spec.bpmn_id} "
                            "is not caught by any error boundary event")


def _error_boundary(task, code: str):
    if is_instance(task):  # a boundary event of a multi-instance activity is attached to its body
        task = task.parent
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    catching = [c for c in parent.children if c is not task and c.state == TaskState.WAITING
                and isinstance(getattr(c.task_spec, "event_definition", None), ErrorEventDefinition)]
    exact = [c for c in catching if c.task_spec.event_definition.code == code]
    return (exact or [c for c in catching if c.task_spec.event_definition.code is None] or [None])[0]
