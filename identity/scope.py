"""The query filters that follow from who is calling: applied in SQL by the engine's and the
dossiers' queries, so a caller never receives a row outside their jurisdiction."""
from __future__ import annotations

from .principal import Principal


def tasks(who: Principal) -> dict:
    """Officers: tasks assigned or offered to them or their groups, in their agency. Supervisors:
    every task of their agency. Administrators: every task."""
    filters = {"tenant_ids": who.tenants}
    if not who.sees_every_task_of_agency:
        filters["visible_to"] = (who.id, sorted(who.groups))
    return filters


def instances(who: Principal) -> dict:
    return {"tenant_ids": who.tenants}


def dossiers(who: Principal) -> dict:
    """A citizen: the dossiers they filed. Officers and supervisors: their agency's."""
    if who.is_admin:
        return {}
    if "citizen" in who.roles and not who.roles & {"officer", "supervisor"}:
        return {"owner_id": who.id}
    tenants = who.tenants
    return {} if tenants is None else {"agency_codes": tenants}
