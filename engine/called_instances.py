"""A called process as Camunda 7 records it: an instance of its own (a process instance row with
`super_instance_id`, its activities' history under its id), linked from the call activity's history
row (`called_instance_id`).

The called process still runs inside its caller's SpiffWorkflow state (one command, one
transaction, the caller's variables): its row is history and a link, not a second runtime state.
Its user tasks, jobs and subscriptions stay the caller's runtime rows, and a command on the called
instance itself is refused, naming the caller to act on.
"""
from __future__ import annotations

import uuid

from SpiffWorkflow.bpmn.specs.defaults import CallActivity

from . import models as m

CALLED = "_called_instance"  # in a call activity's internal data: the id of the instance it called


def name_called_instances(tasks) -> None:
    """Give each call activity just reached the id of the instance it calls (before the state is
    stored, so the id is the same on every later load)."""
    for task in tasks:
        if isinstance(task.task_spec, CallActivity) and CALLED not in task.internal_data:
            task.internal_data[CALLED] = str(uuid.uuid4())


def calling_task(task):
    """The nearest call activity whose called process `task` runs in (None: the caller's own). Read
    before the state is pruned (engine/bpmn/prune.py), which may cut that call activity off."""
    workflow = task.workflow
    while workflow is not workflow.top_workflow:
        parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent.task_spec, CallActivity):
            return parent
        workflow = parent.workflow
    return None


def owner_of(calling, caller) -> tuple[str, str, str]:
    """(instance id, definition id, definition key) the history of a task run under the call
    activity task `calling` (None: in the caller itself) belongs to."""
    if calling is None or CALLED not in calling.internal_data:
        return caller.id, caller.definition_id, caller.definition_key
    key = calling.task_spec.spec
    return calling.internal_data[CALLED], (caller.bindings.get("processes") or {})[key], key


def called_row(runtime, task, calling, now) -> dict:
    """The process instance row of the instance the call activity `task` starts."""
    caller = runtime.row
    super_id, _, _ = owner_of(calling, caller)
    key = task.task_spec.spec
    return dict(id=task.internal_data[CALLED], definition_id=(caller.bindings.get("processes") or {})[key],
                definition_key=key, business_key=None, state="ACTIVE", start_time=now, tenant_id=caller.tenant_id,
                super_instance_id=super_id, bindings={}, workflow=None, revision=1)


def end_called(runtime, ended: dict[str, bool], now) -> None:
    """Close the called instances of call activities that ended: {call activity task id: canceled}."""
    if not ended:
        return
    table = m.ProcessInstance.__table__
    history = m.ActivityInstance.__table__
    stopped = "EXTERNALLY_TERMINATED" if runtime.row.state == "EXTERNALLY_TERMINATED" else "INTERNALLY_TERMINATED"
    for canceled in (False, True):
        ids = [task_id for task_id, was_canceled in ended.items() if was_canceled == canceled]
        if ids:
            called = history.select().with_only_columns(history.c.called_instance_id).where(
                history.c.id.in_(ids), history.c.called_instance_id.is_not(None))
            runtime.session.execute(table.update().where(table.c.id.in_(called), table.c.state == "ACTIVE")
                                    .values(state=stopped if canceled else "COMPLETED", end_time=now))
