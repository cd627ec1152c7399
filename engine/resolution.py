"""Which specs an instance runs: its definition's, the processes it calls and the decisions it
takes, pinned to the versions in force when it started, and parsed once per version (SpecCache)."""
from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import dmn
from . import models as m
from .bpmn.script_engine import ExpressionScriptEngine
from .definitions import SpecCache
from .errors import EngineError, NotFound


def latest(session: Session, model, key: str, tenant_id: str | None = None):
    """The newest version of the process or decision definition `key` of this tenant (of no tenant
    when None), as Camunda resolves a key: a call or a decision stays within its caller's tenant."""
    tenant = model.tenant_id.is_(None) if tenant_id is None else model.tenant_id == tenant_id
    row = session.scalars(select(model).where(model.key == key, tenant).order_by(model.version.desc()).limit(1)).first()
    if row is None:
        kind = "process" if model is m.ProcessDefinition else "decision"
        owner = f" of tenant '{tenant_id}'" if tenant_id else ""
        raise NotFound(f"No {kind} definition with key '{key}'{owner} is deployed")
    return row


class SpecResolver:
    def __init__(self, clock, timezone: tzinfo):
        self.clock = clock
        self.timezone = timezone
        self.specs = SpecCache()

    def specs_for(self, session: Session, definition_id: str, bindings: dict) -> tuple:
        """The spec of a definition and every subprocess spec it may run (embedded and called)."""
        spec, embedded = self.specs.process(definition_id, lambda: session.get(m.ProcessDefinition, definition_id).spec)
        subprocesses = dict(embedded)
        for key, called_id in (bindings.get("processes") or {}).items():
            called_spec, called_embedded = self.specs.process(
                called_id, lambda i=called_id: session.get(m.ProcessDefinition, i).spec)
            subprocesses[key] = called_spec
            subprocesses.update(called_embedded)
        return spec, subprocesses

    def task_spec_of(self, session: Session, instance: m.ProcessInstance, activity_id: str):
        """The spec of an activity of an instance (in its process, an embedded or a called one)."""
        spec, subprocesses = self.specs_for(session, instance.definition_id, instance.bindings)
        return next((s.task_specs[activity_id] for s in (spec, *subprocesses.values()) if activity_id in s.task_specs),
                    None)

    @staticmethod
    def bindings_for(session: Session, definition: m.ProcessDefinition) -> dict:
        """Pin the latest version of every process it calls and decision it takes, transitively."""
        processes, decisions, pending = {}, {}, [definition]
        while pending:
            current = pending.pop()
            for ref in current.decision_refs:
                if ref not in decisions:
                    decisions[ref] = latest(session, m.DecisionDefinition, ref, current.tenant_id).id
            for key in current.called_elements:
                if key not in processes:
                    called = latest(session, m.ProcessDefinition, key, current.tenant_id)
                    processes[key] = called.id
                    pending.append(called)
        return {"processes": processes, "decisions": decisions}

    def script_engine_for(self, session: Session, bindings: dict) -> ExpressionScriptEngine:
        pinned = bindings.get("decisions") or {}

        def decide(ref: str, variables: dict, mapping: str | None):
            definition_id = pinned.get(ref)
            if definition_id is None:
                raise EngineError(f"decision '{ref}' is not bound to this instance")
            decision, siblings = self.decision(session, definition_id, ref)
            return dmn.map_decision_result(decision.evaluate(variables, siblings), mapping)

        return ExpressionScriptEngine(self.clock, self.timezone, decide)

    def decision(self, session: Session, definition_id: str, key: str) -> tuple:
        """(decision, {key: decision of the same file}) of a deployed decision definition."""
        def resource() -> tuple[str, bytes]:
            definition = session.get(m.DecisionDefinition, definition_id)
            return definition.resource_name, session.get(m.Resource, definition.resource_id).content

        return self.specs.decision(definition_id, key, resource)
