"""The variables a waiting task sees beyond the process scope: its local ones (a multi-instance
instance's element and counters, an activity's input mappings), which live in the instance state
and not in the variable table. Only a definition that has such activities pays for loading the
state when a task's variables are read (a form, a remote worker's fetch, a handler's job)."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from . import models as m
from .bpmn.io_mapping import has_inputs
from .bpmn.script_engine import local_variables
from .runtime import Runtime


def _holds_locals(task_spec) -> bool:
    ext = getattr(task_spec, "extensions", None) or {}
    return ext.get("activityType") == "multiInstanceBody" or has_inputs(task_spec)


def definition_holds_locals(resolver, session: Session, instance: m.ProcessInstance) -> bool:
    spec, subprocesses = resolver.specs_for(session, instance.definition_id, instance.bindings)
    cached = getattr(spec, "_lienthong_holds_locals", None)
    if cached is None:
        cached = any(_holds_locals(t) for s in (spec, *subprocesses.values()) for t in s.task_specs.values())
        spec._lienthong_holds_locals = cached
    return cached


def task_variables(context, session: Session, instance: m.ProcessInstance, task_id: str, stored: dict) -> dict:
    """`stored` (the process scope as stored) with the local variables of the open task `task_id`."""
    if instance is None or instance.workflow is None or not definition_holds_locals(context.resolver, session, instance):
        return stored
    runtime = Runtime.load(context, session, instance.id, suspended_ok=True)  # a read: a held task's form too
    try:
        task = runtime.workflow.get_task_from_id(uuid.UUID(task_id))
    except (KeyError, ValueError):
        return stored
    return {**stored, **local_variables(task)}
