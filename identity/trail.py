"""Reading the audit trail: the auditors' query over audit_log, newest first, filtered in SQL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .models import AuditEntry

ACTIONS = ("read", "change", "refused", "denied")


def _query(*, actor: str | None = None, action: str | None = None, dossier_code: str | None = None,
           resource: str | None = None, resource_id: str | None = None, endpoint: str | None = None,
           after: datetime | None = None, before: datetime | None = None) -> Select:
    stmt = select(AuditEntry)
    for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action), (AuditEntry.dossier_code, dossier_code),
                          (AuditEntry.resource, resource), (AuditEntry.resource_id, resource_id),
                          (AuditEntry.endpoint, endpoint)):
        if value is not None:
            stmt = stmt.where(column == value)
    if after is not None:
        stmt = stmt.where(AuditEntry.at > after)
    if before is not None:
        stmt = stmt.where(AuditEntry.at < before)
    return stmt


def entries(session: Session, *, first: int = 0, max_results: int = 100, **filters) -> list[dict]:
    """Plain dicts (column name -> value), usable once the session is closed."""
    stmt = _query(**filters).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(first).limit(max_results)
    columns = AuditEntry.__table__.columns
    return [{c.name: getattr(entry, c.key) for c in columns} for entry in session.scalars(stmt)]


def count(session: Session, **filters) -> int:
    return session.scalar(select(func.count()).select_from(_query(**filters).subquery()))
