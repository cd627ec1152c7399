"""Incidents and jobs."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..models import Incident, Job
from .base import Query, columns_of, where_equal, where_flag


def _incidents(
    *, incident_id=None, incident_type=None, instance_id=None, definition_id=None, activity_id=None,
    configuration=None,
) -> Select:
    return where_equal(
        select(*columns_of(Incident)),
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

_JOB_COLUMNS = columns_of(Job, "exception_stacktrace")


def _jobs(
    *, job_id=None, instance_id=None, definition_id=None, definition_key=None, activity_id=None,
    with_exception=None, no_retries_left=None, with_retries_left=None, timers=None, messages=None,
) -> Select:
    stmt = where_equal(
        select(*_JOB_COLUMNS),
        (Job.id, job_id), (Job.instance_id, instance_id), (Job.definition_id, definition_id),
        (Job.definition_key, definition_key), (Job.activity_id, activity_id),
    )
    stmt = where_flag(stmt, with_exception, Job.exception_message.is_not(None))
    stmt = where_flag(stmt, no_retries_left, Job.retries <= 0)
    stmt = where_flag(stmt, with_retries_left, Job.retries > 0)
    # Camunda's "timers" and "messages" (async continuations): our service-task jobs are the latter.
    stmt = where_flag(stmt, timers, Job.type == "timer")
    return where_flag(stmt, messages, Job.type != "timer")


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
