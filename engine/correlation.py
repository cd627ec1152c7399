"""Message correlation: deliver a message to the instances waiting for it (by business key,
instance id or correlation keys), or start the process it starts; and messages scheduled for
later, delivered by the worker once the instance waits for them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .errors import InvalidRequest
from .runtime import Runtime, new_id
from .wakeup import queued

log = logging.getLogger("lienthong.engine")


@dataclass
class CorrelationResult:
    result_type: str  # "Execution" (a waiting instance received it) or "ProcessDefinition" (it started one)
    instance_id: str
    business_key: str | None
    definition_id: str


class Messages:
    def __init__(self, engine):
        self.engine = engine

    def correlate_message(self, name: str, business_key: str | None = None, process_instance_id: str | None = None,
                          correlation_keys: dict | None = None, variables: dict | None = None,
                          all: bool = False) -> list[CorrelationResult]:
        def correlate():
            with self.engine.command() as session:
                return self.correlate_in(session, name, business_key, process_instance_id, correlation_keys, variables, all)
        return self.engine.retrying(correlate)

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
            runtime = Runtime.load(self.engine.runtime_context, session, instance_id)
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
        with self.engine.command() as session:
            return self.schedule_message_in(session, name, business_key, variables, delay=delay, job_id=job_id,
                                            retry_cycle=retry_cycle)

    def schedule_message_in(self, session: Session, name: str, business_key: str, variables: dict | None = None, *,
                            delay: timedelta = timedelta(0), job_id: str | None = None,
                            retry_cycle: str = "R10/PT2S") -> bool:
        """schedule_message inside the caller's transaction."""
        job_id = job_id or new_id()
        if session.get(m.Job, job_id) is not None:
            return False
        tries, _ = self.engine.retry_policy(retry_cycle)
        now = self.engine.clock.now()
        session.add(m.Job(id=job_id, type="message", instance_id=None, definition_id="", definition_key="",
                          activity_id="", task_id="", topic=name, due_at=now + delay, retries=tries,
                          retry_cycle=retry_cycle, attempt=0, priority=0, created=now,
                          schedule={"businessKey": business_key, "variables": dict(variables or {})}))
        if delay <= timedelta(0):
            queued(session)
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

    def _waiting_instances(self, session: Session, name: str, business_key, process_instance_id, correlation_keys) -> list[str]:
        query = (select(m.EventSubscription.instance_id).distinct()
                 .join(m.ProcessInstance, m.ProcessInstance.id == m.EventSubscription.instance_id)
                 .where(m.EventSubscription.event_type == "message", m.EventSubscription.event_name == name,
                        m.ProcessInstance.suspended.is_(False)))  # a suspended instance receives nothing (Camunda)
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
        runtime = Runtime.start(self.engine.runtime_context, session, definition, variables, business_key, None)
        runtime.step()
        runtime.deliver_message(name, variables)
        runtime.step()
        runtime.save()
        log.info("instance started by message", extra={"instance": runtime.row.id, "message_name": name})
        return CorrelationResult("ProcessDefinition", runtime.row.id, business_key, definition.id)
