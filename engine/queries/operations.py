"""What an operator watches, counted in the database (so any API process answers for every
worker): jobs waiting and how long the oldest has waited, open incidents, open and overdue user
tasks by candidate group and agency (the instance's tenant). Each is one GROUP BY."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from .. import models as m


def waiting_jobs(session: Session, now: datetime) -> list[tuple[str, int, datetime]]:
    """(topic or job type, how many are due and not held by a live claim, the oldest due moment);
    failed jobs (no retries left) wait for an operator, not a worker, and are not counted."""
    label = func.coalesce(m.Job.topic, m.Job.type)
    free = or_(m.Job.lock_expires_at.is_(None), m.Job.lock_expires_at <= now)
    return [tuple(row) for row in session.execute(
        select(label, func.count(), func.min(m.Job.due_at))
        .where(m.Job.due_at <= now, m.Job.retries > 0, free).group_by(label))]


def open_incidents(session: Session) -> list[tuple[str, int]]:
    return [tuple(row) for row in session.execute(select(m.Incident.type, func.count()).group_by(m.Incident.type))]


def open_tasks(session: Session, now: datetime) -> list[tuple[str, str, int, int]]:
    """(candidate group, agency, open tasks, of them overdue); a task without a group counts under ""."""
    group = func.coalesce(m.IdentityLink.group_id, "")
    agency = func.coalesce(m.ProcessInstance.tenant_id, "")
    overdue = func.sum(case((and_(m.Task.due.is_not(None), m.Task.due < now), 1), else_=0))
    statement = (select(group, agency, func.count(func.distinct(m.Task.id)), overdue)
                 .select_from(m.Task)
                 .join(m.ProcessInstance, m.ProcessInstance.id == m.Task.instance_id)
                 .outerjoin(m.IdentityLink, and_(m.IdentityLink.task_id == m.Task.id, m.IdentityLink.group_id.is_not(None)))
                 .group_by(group, agency))
    return [(g, a, int(n), int(late or 0)) for g, a, n, late in session.execute(statement)]
