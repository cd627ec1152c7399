"""Process instances: running ones, and in history all of them."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Row, Select, exists, select
from sqlalchemy.orm import Session

from ..models import Incident, ProcessDefinition, ProcessInstance
from .base import ACTIVE, Query, columns_of, in_tenants, where_equal, where_flag


_INSTANCE_COLUMNS = columns_of(ProcessInstance, "workflow", "bindings", "revision")


def _instances(
    *, instance_ids=None, business_key=None, definition_key=None, definition_id=None,
    active=None, suspended=None, with_incident=None, tenant_ids=None,
) -> Select:
    stmt = where_equal(
        select(*_INSTANCE_COLUMNS).where(ProcessInstance.state == ACTIVE),
        (ProcessInstance.business_key, business_key), (ProcessInstance.definition_key, definition_key),
        (ProcessInstance.definition_id, definition_id),
    )
    if instance_ids:
        stmt = stmt.where(ProcessInstance.id.in_(instance_ids))
    stmt = in_tenants(stmt, ProcessInstance.id, tenant_ids)
    stmt = where_flag(stmt, suspended, ProcessInstance.suspended.is_(True))
    stmt = where_flag(stmt, active, ProcessInstance.suspended.is_(False))
    return where_flag(stmt, with_incident, exists().where(Incident.instance_id == ProcessInstance.id))


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
    stmt = where_equal(
        stmt,
        (ProcessInstance.id, instance_id), (ProcessInstance.business_key, business_key),
        (ProcessInstance.definition_id, definition_id), (ProcessInstance.definition_key, definition_key),
        (ProcessInstance.start_user_id, started_by),
    )
    if instance_ids:
        stmt = stmt.where(ProcessInstance.id.in_(instance_ids))
    stmt = in_tenants(stmt, ProcessInstance.id, tenant_ids)
    if started_before is not None:
        stmt = stmt.where(ProcessInstance.start_time <= started_before)
    if started_after is not None:
        stmt = stmt.where(ProcessInstance.start_time >= started_after)
    stmt = where_flag(stmt, finished, ProcessInstance.end_time.is_not(None))
    return where_flag(stmt, unfinished, ProcessInstance.end_time.is_(None))


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
