"""Deployments and process definitions."""
from __future__ import annotations

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from ..models import Deployment, ProcessDefinition
from .base import Query, columns_of, where_equal


def of_tenants(stmt: Select, model, tenant_ids=None, without_tenant_id=None) -> Select:
    """Camunda's tenantIdIn / withoutTenantId on definitions and deployments (both: either)."""
    conditions = []
    if tenant_ids:
        conditions.append(model.tenant_id.in_(tenant_ids))
    if without_tenant_id:
        conditions.append(model.tenant_id.is_(None))
    return stmt.where(or_(*conditions)) if conditions else stmt


def _deployments(*, deployment_id=None, name=None, source=None, after=None, before=None, tenant_ids=None,
                 without_tenant_id=None) -> Select:
    stmt = where_equal(select(*columns_of(Deployment)), (Deployment.id, deployment_id), (Deployment.name, name),
                  (Deployment.source, source))
    stmt = of_tenants(stmt, Deployment, tenant_ids, without_tenant_id)
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

_DEFINITION_COLUMNS = columns_of(ProcessDefinition, "spec", "called_elements", "decision_refs", "start_messages")


def _definitions(
    *, definition_id=None, key=None, keys=None, name=None, version=None, version_tag=None,
    deployment_id=None, latest_version=None, startable=None, tenant_ids=None, without_tenant_id=None,
) -> Select:
    stmt = where_equal(
        select(*_DEFINITION_COLUMNS),
        (ProcessDefinition.id, definition_id), (ProcessDefinition.key, key), (ProcessDefinition.name, name),
        (ProcessDefinition.version, version), (ProcessDefinition.version_tag, version_tag),
        (ProcessDefinition.deployment_id, deployment_id), (ProcessDefinition.startable, startable),
    )
    if keys:
        stmt = stmt.where(ProcessDefinition.key.in_(keys))
    stmt = of_tenants(stmt, ProcessDefinition, tenant_ids, without_tenant_id)
    if latest_version:
        # The latest version of each key (per tenant) among all versions, then the other filters (Camunda's meaning).
        latest = (
            select(ProcessDefinition.key, ProcessDefinition.tenant_id, func.max(ProcessDefinition.version).label("version"))
            .group_by(ProcessDefinition.key, ProcessDefinition.tenant_id)
            .subquery()
        )
        stmt = stmt.join(
            latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.version)
            & ProcessDefinition.tenant_id.is_not_distinct_from(latest.c.tenant_id)
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
    """The latest version of `key` among definitions of no tenant (what Camunda's /key/{key} means)."""
    stmt = _definitions(key=key, without_tenant_id=True).order_by(ProcessDefinition.version.desc()).limit(1)
    return session.execute(stmt).first()
