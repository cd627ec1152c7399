"""A user task's inbox row (assignee, dates, priority, candidates) and a task's priority, each attribute evaluated
(`${...}`) in the task's variables when the task opens."""
from __future__ import annotations

from datetime import datetime

from .bpmn.specs import parse_datetime
from .errors import ExecutionError


def user_task_row(runtime, task, now: datetime) -> tuple[dict, list[dict]]:
    """The inbox row of a user task just opened, and its candidate rows, its attributes evaluated."""
    ext = task.task_spec.extensions
    task_id = str(task.id)
    assignee = runtime.evaluate(task, ext.get("assignee")) or None
    row = dict(
        id=task_id, instance_id=runtime.row.id, definition_id=runtime.row.definition_id,
        definition_key=runtime.row.definition_key, business_key=runtime.row.business_key,
        activity_id=task.task_spec.bpmn_id, name=task.task_spec.bpmn_name,
        description=task.task_spec.documentation, assignee=assignee, owner=None, created=now,
        due=_moment(runtime, task, ext.get("dueDate")), follow_up=_moment(runtime, task, ext.get("followUpDate")),
        priority=task_number(runtime, task, ext.get("priority"), "camunda:priority", 50),
        form_key=getattr(task.task_spec.form, "key", None) or ext.get("formKey"), suspended=runtime.row.suspended,
    )
    links = [dict(task_id=task_id, type="candidate", group_id=group, user_id=None)
             for group in _names(runtime, task, ext.get("candidateGroups"))]
    links += [dict(task_id=task_id, type="candidate", group_id=None, user_id=user)
              for user in _names(runtime, task, ext.get("candidateUsers"))]
    return row, links

def task_number(runtime, task, text, what: str, default: int) -> int:
    value = runtime.evaluate(task, text)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ExecutionError(f"{task.task_spec.bpmn_id}: {what} '{value}' is not a whole number") from None
    if not -(2 ** 31) <= number < 2 ** 31:  # the column is a 32-bit integer, as Camunda's
        raise ExecutionError(f"{task.task_spec.bpmn_id}: {what} {number} is outside -2147483648..2147483647")
    return number

def _names(runtime, task, text) -> list[str]:
    value = runtime.evaluate(task, text)
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]

def _moment(runtime, task, text) -> datetime | None:
    value = runtime.evaluate(task, text)
    if value in (None, ""):
        return None
    try:
        return parse_datetime(str(value), runtime.context.timezone)
    except ValueError:
        raise ExecutionError(f"{task.task_spec.bpmn_id}: '{value}' is not an ISO 8601 date and time") from None
