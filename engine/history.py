"""Activity history: which rows a save opens and closes (Camunda's historic activity instances),
written in the same transaction as the state."""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, CallActivity, InclusiveGateway, ParallelGateway
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState

from . import models as m
from .bpmn.event_subprocess import untriggered
from .batch import insert_later
from .called_instances import CALLED, called_row, calling_task, end_called, name_called_instances, owner_of
from .row_image import HISTORY_MARK, RowImage

OPEN_STATES = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)


def plan_history(tasks) -> list[tuple]:
    """(task, opened, closed, canceled, calling) for every activity whose history row must change;
    `calling`: the call activity task whose called process it runs in, if any."""
    plan = []
    name_called_instances(t for t in tasks if t.state in OPEN_STATES or t.state == TaskState.COMPLETED)
    for task in tasks:
        mark = task.internal_data.get(HISTORY_MARK)
        if mark == 2 or (not mark and _waiting_event_subprocess(task)):
            continue
        if task.state in OPEN_STATES and not mark:
            if isinstance(task.task_spec, BoundaryEvent):
                # Camunda records a boundary event only when it fires: a waiting one is an event
                # subscription or a job, not an activity instance (nor a canceled one later).
                continue
            plan.append((task, True, False, False, calling_task(task)))
            task.internal_data[HISTORY_MARK] = 1
        elif task.state == TaskState.COMPLETED or (mark and task.state in (TaskState.CANCELLED, TaskState.ERROR)):
            # Spiff cancels the surplus arrivals at a join; Camunda records them as completed.
            merged = isinstance(task.task_spec, (ParallelGateway, InclusiveGateway))
            plan.append((task, not mark, True, task.state != TaskState.COMPLETED and not merged, calling_task(task)))
            task.internal_data[HISTORY_MARK] = 2
    return plan


def _waiting_event_subprocess(task) -> bool:
    """An event subprocess whose start event has not fired, or a task of it: as in Camunda, an
    event subprocess is an activity once it starts; until then only its subscription exists."""
    if untriggered(task):
        return True
    parent_id = task.workflow.parent_task_id
    return parent_id is not None and untriggered(task.workflow.top_workflow.get_task_from_id(parent_id))


def write_history(runtime, plan, before: "RowImage", current: "RowImage", assignees: dict, now: datetime) -> None:
    """One upsert for the rows opened and closed (a row closed here that was opened earlier
    changes only its end and whether it was canceled), sent with the command's other inserts."""
    table = m.ActivityInstance.__table__
    rows, called, ended_calls = [], [], {}
    for task, opened, closed, canceled, calling in plan:
        rows.append(_activity_row(runtime.row, task, calling, now, assignees.get(str(task.id)), now if closed else None,
                                  canceled))
        if opened and isinstance(task.task_spec, CallActivity):
            called.append(called_row(runtime, task, calling, now))
        if closed and isinstance(task.task_spec, CallActivity):
            ended_calls[str(task.id)] = canceled
    # A subtree Spiff dropped takes its tasks out of the tree: their open rows end as canceled.
    dropped = sorted(before.open_history - current.present)
    ended_calls.update({task_id: True for task_id in dropped})
    runtime._insert(m.ProcessInstance, called)
    insert_later(runtime.session, table, rows, update_on_conflict=("end_time", "canceled"), key="id")
    end_called(runtime, ended_calls, now)
    if dropped:
        runtime.session.execute(table.update().where(table.c.id.in_(dropped)).values(end_time=now, canceled=True))


def _activity_row(instance, task, calling, now: datetime, assignee, end_time, canceled: bool) -> dict:
    instance_id, definition_id, definition_key = owner_of(calling, instance)
    return dict(
        id=str(task.id), instance_id=instance_id, definition_id=definition_id, definition_key=definition_key,
        # A multi-instance body is `X#multiInstanceBody` in Camunda's history, its instances `X`.
        activity_id=task.task_spec.extensions.get("historyId", task.task_spec.bpmn_id),
        called_instance_id=task.internal_data.get(CALLED),
        activity_name=task.task_spec.bpmn_name, activity_type=task.task_spec.extensions["activityType"],
        task_id=str(task.id) if isinstance(task.task_spec, UserTask) else None, assignee=assignee,
        start_time=now, end_time=end_time, canceled=canceled,
    )
