"""Read-only queries over the plain indexed rows: filters, sorting, paging and counts.

Everything here answers from the query tables the unit of work keeps beside each instance; the
serialized workflow and the parsed specs are never selected, so a list of a thousand tasks costs
one indexed SELECT. Results are SQLAlchemy Rows (named tuples, detached from any session).

Each resource is a `Query`: a function that turns keyword filters into a SELECT, the sort keys a
caller may name (Camunda's `sortBy` values, so the REST layer passes them straight through), and
the default order. `Query.list` sorts and pages, `Query.count` counts with the same filters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import ColumnElement, Row, Select, exists, false, func, or_, select
from sqlalchemy.orm import Session

from .models import (
    ActivityInstance,
    Deployment,
    IdentityLink,
    Incident,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Task,
    UserOperation,
)

ACTIVE = "ACTIVE"


def _columns(model, *exclude: str) -> list:
    """Every column of a model but the heavy ones (specs, serialized state)."""
    return [getattr(model, c.key) for c in model.__table__.columns if c.key not in exclude]


def _equal(stmt: Select, *pairs: tuple[Any, Any]) -> Select:
    """Add `column == value` for every pair whose value was given."""
    for column, value in pairs:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def _in_tenants(stmt: Select, instance_id_column, tenant_ids: list[str] | None) -> Select:
    """Only rows of instances of these tenants, or of no tenant (Camunda's tenant check); None: all."""
    if tenant_ids is None:
        return stmt
    tenant = (ProcessInstance.tenant_id.in_(tenant_ids) | ProcessInstance.tenant_id.is_(None)) if tenant_ids \
        else ProcessInstance.tenant_id.is_(None)
    if instance_id_column is ProcessInstance.id:
        return stmt.where(tenant)
    return stmt.where(exists().where(ProcessInstance.id == instance_id_column, tenant))


def _flag(stmt: Select, flag: bool | None, condition: ColumnElement) -> Select:
    # Camunda's boolean filters only ever narrow: `finished=false` means "no filter", not "unfinished".
    return stmt.where(condition) if flag else stmt


@dataclass(frozen=True)
class Query:
    build: Callable[..., Select]
    sort_keys: dict[str, Any]
    default_order: tuple

    def list(
        self,
        session: Session,
        *,
        sort_by: str | None = None,
        sort_order: str | None = None,
        first_result: int | None = 0,
        max_results: int | None = None,
        **filters,
    ) -> list[Row]:
        stmt = self.build(**filters)
        order = list(self.default_order)
        if sort_by is not None:
            columns = self.sort_keys[sort_by]
            columns = columns if isinstance(columns, tuple) else (columns,)
            descending = sort_order == "desc"
            # NULLS LAST in both directions, so SQLite and PostgreSQL answer in the same order.
            order = [(c.desc() if descending else c.asc()).nulls_last() for c in columns] + order
        stmt = stmt.order_by(*order)
        if first_result:
            stmt = stmt.offset(first_result)
        if max_results is not None:
            stmt = stmt.limit(max_results)
        return list(session.execute(stmt).all())

    def count(self, session: Session, **filters) -> int:
        stmt = self.build(**filters).order_by(None)
        return session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()

    def first(self, session: Session, **filters) -> Row | None:
        return session.execute(self.build(**filters).limit(1)).first()


# --- deployments -------------------------------------------------------------------------------


def _deployments(*, deployment_id=None, name=None, source=None, after=None, before=None) -> Select:
    stmt = _equal(select(*_columns(Deployment)), (Deployment.id, deployment_id), (Deployment.name, name),
                  (Deployment.source, source))
    if after is not None:
        stmt = stmt.where(Deployment.deployment_time > after)
    if before is not None:
        stmt = stmt.where(Deployment.deployment_time < before)
    return stmt


deployments = Query(
    _deployments,
    {"id": Deployment.id, "name": Deployment.name, "deploymentTime": Deployment.deployment_time},
    (Deployment.deployment_time, Deployment.id),
)


# --- process definitions -----------------------------------------------------------------------

_DEFINITION_COLUMNS = _columns(ProcessDefinition, "spec", "called_elements", "decision_refs", "start_messages")


def _definitions(
    *, definition_id=None, key=None, keys=None, name=None, version=None, version_tag=None,
    deployment_id=None, latest_version=None, startable=None,
) -> Select:
    stmt = _equal(
        select(*_DEFINITION_COLUMNS),
        (ProcessDefinition.id, definition_id), (ProcessDefinition.key, key), (ProcessDefinition.name, name),
        (ProcessDefinition.version, version), (ProcessDefinition.version_tag, version_tag),
        (ProcessDefinition.deployment_id, deployment_id), (ProcessDefinition.startable, startable),
    )
    if keys:
        stmt = stmt.where(ProcessDefinition.key.in_(keys))
    if latest_version:
        # The latest version of each key among all versions, then the other filters (Camunda's meaning).
        latest = (
            select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
            .group_by(ProcessDefinition.key)
            .subquery()
        )
        stmt = stmt.join(
            latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.version)
        )
    return stmt


definitions = Query(
    _definitions,
    {
        "id": ProcessDefinition.id, "key": ProcessDefinition.key, "name": ProcessDefinition.name,
        "version": ProcessDefinition.version, "deploymentId": ProcessDefinition.deployment_id,
        "versionTag": ProcessDefinition.version_tag,
    },
    (ProcessDefinition.key, ProcessDefinition.version),
)


def latest_definition(session: Session, key: str) -> Row | None:
    stmt = _definitions(key=key).order_by(ProcessDefinition.version.desc()).limit(1)
    return session.execute(stmt).first()


# --- process instances (runtime: running ones; history: all of them) ---------------------------

_INSTANCE_COLUMNS = _columns(ProcessInstance, "workflow", "bindings", "revision")


def _instances(
    *, instance_ids=None, business_key=None, definition_key=None, definition_id=None,
    active=None, suspended=None, with_incident=None, tenant_ids=None,
) -> Select:
    stmt = _equal(
        select(*_INSTANCE_COLUMNS).where(ProcessInstance.state == ACTIVE),
        (ProcessInstance.business_key, business_key), (ProcessInstance.definition_key, definition_key),
        (ProcessInstance.definition_id, definition_id),
    )
    if instance_ids:
        stmt = stmt.where(ProcessInstance.id.in_(instance_ids))
    stmt = _in_tenants(stmt, ProcessInstance.id, tenant_ids)
    # Nothing is ever suspended here: `active` keeps every running instance, `suspended` none.
    stmt = _flag(stmt, suspended, false())
    return _flag(stmt, with_incident, exists().where(Incident.instance_id == ProcessInstance.id))


instances = Query(
    _instances,
    {
        "instanceId": ProcessInstance.id, "definitionKey": ProcessInstance.definition_key,
        "definitionId": ProcessInstance.definition_id, "businessKey": ProcessInstance.business_key,
    },
    (ProcessInstance.start_time, ProcessInstance.id),
)


def instances_by_id(session: Session, ids: Iterable[str]) -> dict[str, Row]:
    """Instances in any state (a command's answer may name one that has already ended)."""
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(select(*_INSTANCE_COLUMNS).where(ProcessInstance.id.in_(ids))).all()
    return {row.id: row for row in rows}


def _historic_instances(
    *, instance_id=None, instance_ids=None, business_key=None, definition_id=None, definition_key=None,
    finished=None, unfinished=None, started_before=None, started_after=None, started_by=None, tenant_ids=None,
) -> Select:
    stmt = select(
        *_INSTANCE_COLUMNS,
        ProcessDefinition.name.label("definition_name"),
        ProcessDefinition.version.label("definition_version"),
    ).outerjoin(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    stmt = _equal(
        stmt,
        (ProcessInstance.id, instance_id), (ProcessInstance.business_key, business_key),
        (ProcessInstance.definition_id, definition_id), (ProcessInstance.definition_key, definition_key),
        (ProcessInstance.start_user_id, started_by),
    )
    if instance_ids:
        stmt = stmt.where(ProcessInstance.id.in_(instance_ids))
    stmt = _in_tenants(stmt, ProcessInstance.id, tenant_ids)
    if started_before is not None:
        stmt = stmt.where(ProcessInstance.start_time <= started_before)
    if started_after is not None:
        stmt = stmt.where(ProcessInstance.start_time >= started_after)
    stmt = _flag(stmt, finished, ProcessInstance.end_time.is_not(None))
    return _flag(stmt, unfinished, ProcessInstance.end_time.is_(None))


historic_instances = Query(
    _historic_instances,
    {
        "instanceId": ProcessInstance.id, "definitionId": ProcessInstance.definition_id,
        "definitionKey": ProcessInstance.definition_key, "definitionName": ProcessDefinition.name,
        "definitionVersion": ProcessDefinition.version, "businessKey": ProcessInstance.business_key,
        "startTime": ProcessInstance.start_time, "endTime": ProcessInstance.end_time,
    },
    (ProcessInstance.start_time, ProcessInstance.id),
)


# --- tasks -------------------------------------------------------------------------------------


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
    due_before=None, due_after=None, tenant_ids=None, visible_to=None,
) -> Select:
    stmt = _equal(
        select(*_columns(Task)),
        (Task.id, task_id), (Task.instance_id, instance_id), (Task.definition_id, definition_id),
        (Task.definition_key, definition_key), (Task.business_key, business_key),
        (Task.activity_id, task_definition_key), (Task.name, name), (Task.assignee, assignee),
        (Task.owner, owner),
    )
    stmt = _flag(stmt, unassigned, Task.assignee.is_(None))
    stmt = _flag(stmt, assigned, Task.assignee.is_not(None))
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
    stmt = _in_tenants(stmt, Task.instance_id, tenant_ids)
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


# --- incidents and jobs ------------------------------------------------------------------------


def _incidents(
    *, incident_id=None, incident_type=None, instance_id=None, definition_id=None, activity_id=None,
    configuration=None,
) -> Select:
    return _equal(
        select(*_columns(Incident)),
        (Incident.id, incident_id), (Incident.type, incident_type), (Incident.instance_id, instance_id),
        (Incident.definition_id, definition_id), (Incident.activity_id, activity_id),
        (Incident.configuration, configuration),
    )


incidents = Query(
    _incidents,
    {
        "incidentId": Incident.id, "incidentTimestamp": Incident.created, "incidentType": Incident.type,
        "activityId": Incident.activity_id, "processInstanceId": Incident.instance_id,
        "processDefinitionId": Incident.definition_id, "configuration": Incident.configuration,
        "incidentMessage": Incident.message,
    },
    (Incident.created, Incident.id),
)

_JOB_COLUMNS = _columns(Job, "exception_stacktrace")


def _jobs(
    *, job_id=None, instance_id=None, definition_id=None, definition_key=None, activity_id=None,
    with_exception=None, no_retries_left=None, with_retries_left=None, timers=None, messages=None,
) -> Select:
    stmt = _equal(
        select(*_JOB_COLUMNS),
        (Job.id, job_id), (Job.instance_id, instance_id), (Job.definition_id, definition_id),
        (Job.definition_key, definition_key), (Job.activity_id, activity_id),
    )
    stmt = _flag(stmt, with_exception, Job.exception_message.is_not(None))
    stmt = _flag(stmt, no_retries_left, Job.retries <= 0)
    stmt = _flag(stmt, with_retries_left, Job.retries > 0)
    # Camunda's "timers" and "messages" (async continuations): our service-task jobs are the latter.
    stmt = _flag(stmt, timers, Job.type == "timer")
    return _flag(stmt, messages, Job.type != "timer")


jobs = Query(
    _jobs,
    {
        "jobId": Job.id, "processInstanceId": Job.instance_id, "executionId": Job.instance_id,
        "processDefinitionId": Job.definition_id, "processDefinitionKey": Job.definition_key,
        "jobPriority": Job.priority, "jobRetries": Job.retries, "jobDueDate": Job.due_at,
    },
    (Job.due_at, Job.id),
)


def job_stacktrace(session: Session, job_id: str) -> tuple[bool, str | None]:
    """(whether the job exists, its last stacktrace)."""
    row = session.execute(select(Job.exception_stacktrace).where(Job.id == job_id)).first()
    return (row is not None, row.exception_stacktrace if row else None)


# --- history -----------------------------------------------------------------------------------


def _activity_instances(
    *, activity_instance_id=None, instance_id=None, definition_id=None, activity_id=None,
    activity_name=None, activity_type=None, task_assignee=None, finished=None, unfinished=None,
    canceled=None, tenant_ids=None,
) -> Select:
    stmt = _equal(
        select(*_columns(ActivityInstance)),
        (ActivityInstance.id, activity_instance_id), (ActivityInstance.instance_id, instance_id),
        (ActivityInstance.definition_id, definition_id), (ActivityInstance.activity_id, activity_id),
        (ActivityInstance.activity_name, activity_name), (ActivityInstance.activity_type, activity_type),
        (ActivityInstance.assignee, task_assignee),
    )
    stmt = _in_tenants(stmt, ActivityInstance.instance_id, tenant_ids)
    stmt = _flag(stmt, finished, ActivityInstance.end_time.is_not(None))
    stmt = _flag(stmt, unfinished, ActivityInstance.end_time.is_(None))
    return _flag(stmt, canceled, ActivityInstance.canceled.is_(True))


activity_instances = Query(
    _activity_instances,
    {
        "activityInstanceId": ActivityInstance.id, "instanceId": ActivityInstance.instance_id,
        "activityId": ActivityInstance.activity_id, "activityName": ActivityInstance.activity_name,
        "activityType": ActivityInstance.activity_type, "startTime": ActivityInstance.start_time,
        "endTime": ActivityInstance.end_time, "definitionId": ActivityInstance.definition_id,
        "occurrence": ActivityInstance.seq,
    },
    # seq (insertion order) breaks ties between activities that started in the same instant.
    (ActivityInstance.start_time, ActivityInstance.seq),
)


def _user_operations(
    *, instance_id=None, task_id=None, operation_type=None, user_id=None, entity_type=None,
    after_timestamp=None, before_timestamp=None,
) -> Select:
    stmt = _equal(
        select(*_columns(UserOperation)),
        (UserOperation.instance_id, instance_id), (UserOperation.task_id, task_id),
        (UserOperation.operation_type, operation_type), (UserOperation.user_id, user_id),
        (UserOperation.entity_type, entity_type),
    )
    if after_timestamp is not None:
        stmt = stmt.where(UserOperation.timestamp > after_timestamp)
    if before_timestamp is not None:
        stmt = stmt.where(UserOperation.timestamp < before_timestamp)
    return stmt


user_operations = Query(
    _user_operations,
    {"timestamp": UserOperation.timestamp},
    (UserOperation.timestamp, UserOperation.id),
)
