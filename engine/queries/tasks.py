"""Open user tasks and their candidates (the inbox)."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from ..models import IdentityLink, Task
from .base import Query, columns_of, in_tenants, where_equal, where_flag


def _candidate_link(**match) -> ColumnElement:
    conditions = [IdentityLink.task_id == Task.id, IdentityLink.type == "candidate"]
    for name, value in match.items():
        column = getattr(IdentityLink, name)
        conditions.append(column.in_(value) if isinstance(value, (list, tuple)) else column == value)
    return exists().where(*conditions)


def _tasks(
    *, task_id=None, instance_id=None, definition_id=None, definition_key=None, business_key=None,
    task_definition_key=None, name=None, assignee=None, owner=None, unassigned=None, assigned=None,
    candidate_group=None, candidate_groups=None, candidate_user=None, include_assigned_tasks=None,
    due_before=None, due_after=None, tenant_ids=None, visible_to=None, active=None, suspended=None,
) -> Select:
    stmt = where_equal(
        select(*columns_of(Task)),
        (Task.id, task_id), (Task.instance_id, instance_id), (Task.definition_id, definition_id),
        (Task.definition_key, definition_key), (Task.business_key, business_key),
        (Task.activity_id, task_definition_key), (Task.name, name), (Task.assignee, assignee),
        (Task.owner, owner),
    )
    stmt = where_flag(stmt, unassigned, Task.assignee.is_(None))
    stmt = where_flag(stmt, assigned, Task.assignee.is_not(None))
    stmt = where_flag(stmt, active, Task.suspended.is_(False))
    stmt = where_flag(stmt, suspended, Task.suspended.is_(True))
    groups = [*(candidate_groups or ()), *([candidate_group] if candidate_group else [])]
    if groups:
        stmt = stmt.where(_candidate_link(group_id=groups))
    if candidate_user:
        stmt = stmt.where(_candidate_link(user_id=candidate_user))
    if (groups or candidate_user) and not include_assigned_tasks:
        # Camunda: a candidate query is a "what could I pick up" query, so claimed tasks drop out.
        stmt = stmt.where(Task.assignee.is_(None))
    if visible_to is not None:
        # What a user may see: tasks assigned to them, or offered to them or to one of their groups.
        user, user_groups = visible_to
        stmt = stmt.where(or_(Task.assignee == user, _candidate_link(user_id=user),
                              *([_candidate_link(group_id=list(user_groups))] if user_groups else [])))
    stmt = in_tenants(stmt, Task.instance_id, tenant_ids)
    if due_before is not None:
        stmt = stmt.where(Task.due < due_before)
    if due_after is not None:
        stmt = stmt.where(Task.due > due_after)
    return stmt


tasks = Query(
    _tasks,
    {
        "id": Task.id, "name": Task.name, "nameCaseInsensitive": func.lower(Task.name),
        "description": Task.description, "priority": Task.priority, "assignee": Task.assignee,
        "created": Task.created, "dueDate": Task.due, "followUpDate": Task.follow_up,
        "instanceId": Task.instance_id, "executionId": Task.instance_id,
        "processDefinitionKey": Task.definition_key, "taskDefinitionKey": Task.activity_id,
    },
    (Task.created, Task.id),
)


def task_identity_links(session: Session, task_id: str, link_type: str | None = None) -> list[dict] | None:
    """Assignee and owner (as Camunda reports them), then candidate links; None if no such task."""
    task = session.execute(select(Task.assignee, Task.owner).where(Task.id == task_id)).first()
    if task is None:
        return None
    links = [{"type": kind, "user_id": user, "group_id": None}
             for kind, user in (("assignee", task.assignee), ("owner", task.owner)) if user]
    stmt = select(IdentityLink.type, IdentityLink.user_id, IdentityLink.group_id).where(
        IdentityLink.task_id == task_id
    ).order_by(IdentityLink.id)
    links += [dict(row._mapping) for row in session.execute(stmt)]
    return [link for link in links if link_type in (None, link["type"])]
