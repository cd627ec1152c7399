"""Signals, as Camunda 7 broadcasts them: one signal reaches every event waiting for it in every
instance, and starts an instance of every process whose start event it names, in one transaction
(`POST /signal`, or a signal thrown by an instance)."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .errors import InvalidRequest
from .runtime import Runtime

log = logging.getLogger("lienthong.engine")

# A signal thrown by an instance that a signal reaches, and so on: bounded, so that two
# diagrams signalling each other fail the command instead of looping.
MAX_DEPTH = 20


class Signals:
    def __init__(self, engine):
        self.engine = engine
        self._depth = 0

    def throw(self, name: str, variables: dict | None = None, execution_id: str | None = None,
              tenant_id: str | None = None) -> int:
        """Deliver the signal; how many instances it reached or started."""
        def deliver():
            with self.engine.command() as session:
                return self.throw_in(session, name, variables, execution_id, tenant_id)
        return self.engine.retrying(deliver)

    def throw_in(self, session: Session, name: str, variables: dict | None = None, execution_id: str | None = None,
                 tenant_id: str | None = None, thrown_by: str | None = None) -> int:
        if not name:
            raise InvalidRequest("name is required", {"name": ["is required"]})
        variables = dict(variables or {})
        waiting = self._waiting(session, name, execution_id, tenant_id, thrown_by)
        if execution_id is not None and not waiting:
            raise InvalidRequest(f"Execution '{execution_id}' does not wait for the signal '{name}'",
                                 {"executionId": ["does not wait for this signal"]})
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise InvalidRequest(f"The signal '{name}' was thrown back and forth more than {MAX_DEPTH} times")
            for instance_id in waiting:
                runtime = Runtime.load(self.engine.runtime_context, session, instance_id)
                runtime.variables().update(variables)
                runtime.deliver_signal(name, variables)
                runtime.step()
                runtime.save()
                log.info("signal delivered", extra={"instance": instance_id, "signal_name": name})
            started = [] if execution_id is not None else self._start(session, name, variables, tenant_id)
        finally:
            self._depth -= 1
        return len(waiting) + len(started)

    def _waiting(self, session: Session, name: str, execution_id, tenant_id, thrown_by) -> list[str]:
        query = (select(m.EventSubscription.instance_id).distinct()
                 .join(m.ProcessInstance, m.ProcessInstance.id == m.EventSubscription.instance_id)
                 .where(m.EventSubscription.event_type == "signal", m.EventSubscription.event_name == name))
        if execution_id is not None:
            query = query.where(m.ProcessInstance.id == execution_id)
        if tenant_id is not None:
            query = query.where(m.ProcessInstance.tenant_id == tenant_id)
        if thrown_by is not None:  # the throwing instance has had it already
            query = query.where(m.ProcessInstance.id != thrown_by)
        return sorted(session.scalars(query))

    def _start(self, session: Session, name: str, variables: dict, tenant_id) -> list[str]:
        definitions = session.scalars(
            select(m.ProcessDefinition).join(m.EventSubscription, m.EventSubscription.definition_id == m.ProcessDefinition.id)
            .where(m.EventSubscription.event_type == "signal", m.EventSubscription.event_name == name)
            .order_by(m.ProcessDefinition.key)).all()
        started = []
        for definition in definitions:
            runtime = Runtime.start(self.engine.runtime_context, session, definition, variables, None, None, tenant_id)
            runtime.step()
            runtime.deliver_signal(name, variables)
            runtime.step()
            runtime.save()
            started.append(runtime.row.id)
            log.info("instance started by signal", extra={"instance": runtime.row.id, "signal_name": name})
        return started
