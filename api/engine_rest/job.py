"""Jobs: service-task runs and timers the worker executes; retries after a failure."""
from __future__ import annotations

import marshmallow as ma
from flask import Response
from marshmallow import fields, validate

from engine import queries
from engine.errors import NotFound

from identity.permissions import requires

from ..common import Blueprint, engine, found, no_content, reading
from ..schemas import Body, CamundaDate, CountSchema, ListArgs, RowSchema, null_field, sort_field

blp = Blueprint("job", __name__, description="Jobs (service tasks and timers)")


class JobSchema(RowSchema):
    id = fields.String()
    jobDefinitionId = null_field()
    dueDate = CamundaDate(attribute="due_at")
    processInstanceId = fields.String(attribute="instance_id")
    executionId = fields.String(attribute="instance_id", dump_only=True)
    processDefinitionId = fields.String(attribute="definition_id")
    processDefinitionKey = fields.String(attribute="definition_key")
    retries = fields.Integer()
    exceptionMessage = fields.String(attribute="exception_message")
    failedActivityId = fields.Method("_failed_activity", metadata={"type": "string"})
    suspended = fields.Boolean()
    priority = fields.Integer()
    tenantId = null_field()
    createTime = CamundaDate(attribute="created")

    def _failed_activity(self, row):
        return row["activity_id"] if row["exception_message"] else None


class JobFilter(ma.Schema):
    job_id = fields.String(data_key="jobId")
    instance_id = fields.String(data_key="processInstanceId")
    definition_id = fields.String(data_key="processDefinitionId")
    definition_key = fields.String(data_key="processDefinitionKey")
    activity_id = fields.String(data_key="activityId")
    with_exception = fields.Boolean(data_key="withException")
    no_retries_left = fields.Boolean(data_key="noRetriesLeft")
    with_retries_left = fields.Boolean(data_key="withRetriesLeft")
    timers = fields.Boolean()
    messages = fields.Boolean(metadata={"description": "Service-task jobs (Camunda's async continuations)"})


class JobListArgs(JobFilter, ListArgs):
    sort_by = sort_field(queries.jobs)


class JobRetriesBody(Body):
    retries = fields.Integer(required=True, validate=validate.Range(min=0))


def _missing(job_id: str) -> str:
    return f"Job with id {job_id} does not exist"


@blp.route("/job", methods=["GET"])
@requires("job.read")
@blp.arguments(JobListArgs, location="query")
@blp.response(200, JobSchema(many=True))
def list_jobs(args):
    with reading() as session:
        return queries.jobs.list(session, **args)


@blp.route("/job/count", methods=["GET"])
@requires("job.read")
@blp.arguments(JobFilter, location="query")
@blp.response(200, CountSchema)
def count_jobs(args):
    with reading() as session:
        return {"count": queries.jobs.count(session, **args)}


@blp.route("/job/<job_id>", methods=["GET"])
@requires("job.read")
@blp.response(200, JobSchema)
def get_job(job_id):
    with reading() as session:
        row = queries.jobs.first(session, job_id=job_id)
    return found(row, _missing(job_id))


@blp.route("/job/<job_id>/stacktrace", methods=["GET"])
@requires("job.read")
@blp.response(200, {"type": "string"}, content_type="text/plain")
def get_stacktrace(job_id):
    with reading() as session:
        exists, stacktrace = queries.job_stacktrace(session, job_id)
    if not exists:
        raise NotFound(_missing(job_id))
    return Response(stacktrace or "", mimetype="text/plain")


@blp.route("/job/<job_id>/retries", methods=["PUT"])
@requires("job.manage")
@blp.arguments(JobRetriesBody)
@blp.response(204)
def set_retries(body, job_id):
    """Give a failed job new retries (resolving its incident, if any)."""
    engine().set_job_retries(job_id, body["retries"])
    return no_content()
