"""Activity history: which rows a save opens and closes (Camunda's historic activity instances),
written in the same transaction as the state."""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState

from . import models as m
from .batch import insert_later
from .row_image import HISTORY_MARK, RowImage

OPEN_STATES = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)


def plan_history(tasks) -> list[tuple]:
    """(task, opened, closed, canceled) for every activity whose history row must change."""
    plan = []
    for task in tasks:
        mark = task.internal_data.get(HISTORY_MARK)
        if mark == 2:
            continue
        if task.state in OPEN_STATES and not mark:
            plan.append((task, True, False, False))
            task.internal_data[HISTORY_MARK] = 1
        elif task.state == TaskState.COMPLETED or (mark and task.state in (TaskState.CANCELLED, TaskState.ERROR)):
            # Spiff cancels the surplus arrivals at a join; Camunda records them as completed.
            merged = isinstance(task.task_spec, (ParallelGateway, InclusiveGateway))
            plan.append((task, not mark, True, task.state != TaskState.COMPLETED and not merged))
            task.internal_data[HISTORY_MARK] = 2
    return plan


def write_history(runtime, plan, before: "RowImage", current: "RowImage", assignees: dict, now: datetime) -> None:
    """One upsert for the rows opened and closed (a row closed here that was opened earlier
    changes only its end and whether it was canceled), sent with the command's other inserts."""
    table = m.ActivityInstance.__table__
    rows = [_activity_row(runtime.row, task, now, assignees.get(str(task.id)), now if closed else None, canceled)
            for task, _, closed, canceled in plan]
    insert_later(runtime.session, table, rows, update_on_conflict=("end_time", "canceled"), key="id")
    # A subtree Spiff dropped takes its tasks out of the tree: their open rows end as canceled.
    dropped = sorted(before.open_history - current.present)
    if dropped:
        runtime.session.execute(table.update().where(table.c.id.in_(dropped)).values(end_time=now, canceled=True))


def _activity_row(instance, task, now: datetime, assignee, end_time, canceled: bool) -> dict:
    return dict(
        id=str(task.id), instance_id=instance.id, definition_id=instance.definition_id,
        definition_key=instance.definition_key, activity_id=task.task_spec.bpmn_id,
        activity_name=task.task_spec.bpmn_name, activity_type=task.task_spec.extensions["activityType"],
        task_id=str(task.id) if isinstance(task.task_spec, UserTask) else None, assignee=assignee,
        start_time=now, end_time=end_time, canceled=canceled,
    )
