"""External tasks: service tasks served by remote workers with the standard Camunda clients."""
from __future__ import annotations

import time

import marshmallow as ma
from flask import current_app, jsonify
from marshmallow import fields, validate
from sqlalchemy import select

from engine import models as m
from engine.errors import Forbidden, NotFound
from engine.variables import to_typed_map

from identity import audit
from identity.permissions import requires

from ..common import STOPPING, Blueprint, caller, engine, no_content, reading
from ..schemas import Body, TypedVariables, camunda_date

blp = Blueprint("external-task", __name__, description="External tasks for remote workers")

# A long poll re-checks the queue at this interval until a task comes or the timeout passes.
POLL_SECONDS = 0.1
MAX_ASYNC_TIMEOUT_MS = 1_800_000


class TopicBody(Body):
    topic_name = fields.String(data_key="topicName", required=True, validate=validate.Length(min=1))
    lock_duration = fields.Integer(data_key="lockDuration", required=True, validate=validate.Range(min=1))
    variables = fields.List(fields.String(), load_default=None, allow_none=True)
    business_key = fields.String(data_key="businessKey", load_default=None, allow_none=True)
    process_definition_key = fields.String(data_key="processDefinitionKey", load_default=None, allow_none=True)
    process_definition_key_in = fields.List(fields.String(), data_key="processDefinitionKeyIn", load_default=None, allow_none=True)
    process_definition_id_in = fields.List(fields.String(), data_key="processDefinitionIdIn", load_default=None, allow_none=True)
    # Camunda's equality filter on process variables: {"name": value}
    process_variables = fields.Dict(data_key="processVariables", load_default=None, allow_none=True)
    include_extension_properties = fields.Boolean(data_key="includeExtensionProperties", load_default=False)
    local_variables = fields.Boolean(data_key="localVariables", load_default=False)
    deserialize_values = fields.Boolean(data_key="deserializeValues", load_default=False)


class FetchBody(Body):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(min=1))
    max_tasks = fields.Integer(data_key="maxTasks", load_default=10, validate=validate.Range(min=0))
    use_priority = fields.Boolean(data_key="usePriority", load_default=False)
    async_response_timeout = fields.Integer(data_key="asyncResponseTimeout", load_default=None, allow_none=True,
                                            validate=validate.Range(min=0, max=MAX_ASYNC_TIMEOUT_MS))
    topics = fields.List(fields.Nested(TopicBody), required=True)


class WorkerBody(Body):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(min=1))


class CompleteBody(WorkerBody):
    variables = TypedVariables()
    local_variables = TypedVariables(data_key="localVariables")


class FailureBody(WorkerBody):
    error_message = fields.String(data_key="errorMessage", load_default=None, allow_none=True)
    error_details = fields.String(data_key="errorDetails", load_default=None, allow_none=True)
    retries = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    retry_timeout = fields.Integer(data_key="retryTimeout", load_default=0, allow_none=True, validate=validate.Range(min=0))


class BpmnErrorBody(WorkerBody):
    error_code = fields.String(data_key="errorCode", required=True, validate=validate.Length(min=1))
    error_message = fields.String(data_key="errorMessage", load_default=None, allow_none=True)
    variables = TypedVariables()


class ExtendLockBody(WorkerBody):
    new_duration = fields.Integer(data_key="newDuration", required=True, validate=validate.Range(min=1))


class RetriesBody(Body):
    retries = fields.Integer(required=True, validate=validate.Range(min=0))


class ExternalTaskQuery(ma.Schema):
    topicName = fields.String()
    workerId = fields.String()
    processInstanceId = fields.String()
    activityId = fields.String()
    locked = fields.Boolean()
    notLocked = fields.Boolean()
    withRetriesLeft = fields.Boolean()
    noRetriesLeft = fields.Boolean()


class ExternalTaskSchema(ma.Schema):
    id = fields.String()
    topicName = fields.String()
    workerId = fields.String(allow_none=True)
    lockExpirationTime = fields.String(allow_none=True)
    processInstanceId = fields.String()
    processDefinitionId = fields.String()
    processDefinitionKey = fields.String()
    activityId = fields.String()
    activityInstanceId = fields.String()
    executionId = fields.String()
    businessKey = fields.String(allow_none=True)
    retries = fields.Integer(allow_none=True)
    errorMessage = fields.String(allow_none=True)
    priority = fields.Integer()
    suspended = fields.Boolean()
    tenantId = fields.String(allow_none=True)


class LockedTaskSchema(ExternalTaskSchema):
    errorDetails = fields.String(allow_none=True)
    variables = fields.Dict()
    extensionProperties = fields.Dict(metadata={"description": "camunda:properties, with includeExtensionProperties"})


def _task_json(item) -> dict:
    return {
        "id": item.id, "topicName": item.topic, "workerId": item.worker_id,
        "lockExpirationTime": camunda_date(item.lock_expires_at), "processInstanceId": item.instance_id,
        "processDefinitionId": item.definition_id, "processDefinitionKey": item.definition_key,
        "activityId": item.activity_id, "activityInstanceId": item.id, "executionId": item.instance_id,
        "businessKey": item.business_key, "retries": item.retries, "errorMessage": item.error_message,
        "priority": item.priority, "suspended": item.suspended, "tenantId": None,
    }


@blp.route("/external-task/fetchAndLock", methods=["POST"])
@requires("external-task.work")
@blp.arguments(FetchBody)
@blp.response(200, LockedTaskSchema(many=True))
def fetch_and_lock(body):
    """Lock up to maxTasks tasks of the topics; with asyncResponseTimeout, wait for work (long polling)."""
    topics = [{"topicName": t["topic_name"], "lockDuration": t["lock_duration"], "variables": t["variables"],
               "businessKey": t["business_key"], "processDefinitionKey": t["process_definition_key"],
               "processDefinitionKeyIn": t["process_definition_key_in"], "processDefinitionIdIn": t["process_definition_id_in"],
               "processVariables": t["process_variables"], "includeExtensionProperties": t["include_extension_properties"]}
              for t in body["topics"]]
    who = caller()
    refused = sorted({t["topicName"] for t in topics if not who.may_fetch(t["topicName"])})
    if refused:
        raise Forbidden(f"The user '{who.id}' may not fetch the topics {', '.join(refused)}.")
    deadline = time.monotonic() + (body["async_response_timeout"] or 0) / 1000
    stopping = current_app.extensions[STOPPING]
    while True:
        locked = engine().external_tasks.fetch_and_lock(body["worker_id"], body["max_tasks"], topics, body["use_priority"])
        if locked or time.monotonic() >= deadline or body["max_tasks"] == 0 or stopping.is_set():
            break
        # A service that stops answers its long polls at once (empty), instead of locking work
        # for a worker it no longer serves.
        stopping.wait(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
    for item in locked:
        if item.variables:  # personal data handed to the worker
            audit.read("external-task-variables", item.id, item.business_key)
    return jsonify([{**_task_json(item), "errorDetails": item.error_details, "variables": to_typed_map(item.variables),
                     **({"extensionProperties": item.extension_properties} if item.extension_properties is not None else {})}
                    for item in locked])


@blp.route("/external-task/<task_id>/complete", methods=["POST"])
@requires("external-task.work")
@blp.arguments(CompleteBody)
@blp.response(204)
def complete(body, task_id):
    _workable(task_id)
    engine().external_tasks.complete(task_id, body["worker_id"], body["variables"], body["local_variables"])
    return no_content()


@blp.route("/external-task/<task_id>/failure", methods=["POST"])
@requires("external-task.work")
@blp.arguments(FailureBody)
@blp.response(204)
def failure(body, task_id):
    """The worker decides the retries left; 0 opens an incident."""
    _workable(task_id)
    engine().external_tasks.failure(task_id, body["worker_id"], body["error_message"], body["error_details"],
                                    body["retries"], body["retry_timeout"])
    return no_content()


@blp.route("/external-task/<task_id>/bpmnError", methods=["POST"])
@requires("external-task.work")
@blp.arguments(BpmnErrorBody)
@blp.response(204)
def bpmn_error(body, task_id):
    _workable(task_id)
    engine().external_tasks.bpmn_error(task_id, body["worker_id"], body["error_code"], body["error_message"], body["variables"])
    return no_content()


@blp.route("/external-task/<task_id>/extendLock", methods=["POST"])
@requires("external-task.work")
@blp.arguments(ExtendLockBody)
@blp.response(204)
def extend_lock(body, task_id):
    _workable(task_id)
    engine().external_tasks.extend_lock(task_id, body["worker_id"], body["new_duration"])
    return no_content()


@blp.route("/external-task/<task_id>/unlock", methods=["POST"])
@requires("external-task.work")
@blp.response(204)
def unlock(task_id):
    _workable(task_id)
    engine().external_tasks.unlock(task_id)
    return no_content()


@blp.route("/external-task/<task_id>/retries", methods=["PUT"])
@requires("external-task.manage")
@blp.arguments(RetriesBody)
@blp.response(204)
def set_retries(body, task_id):
    engine().external_tasks.set_retries(task_id, body["retries"])
    return no_content()


@blp.route("/external-task/<task_id>", methods=["GET"])
@requires("external-task.read")
@blp.response(200, ExternalTaskSchema)
def get_one(task_id):
    with reading() as session:
        item = session.get(m.ExternalTask, task_id)
        if item is None or not _sees(caller(), item.topic):
            raise NotFound(f"External task with id {task_id} does not exist")
        return jsonify(_task_json(item))


def _query(args):
    query = select(m.ExternalTask)
    columns = {"topicName": m.ExternalTask.topic, "workerId": m.ExternalTask.worker_id,
               "processInstanceId": m.ExternalTask.instance_id, "activityId": m.ExternalTask.activity_id}
    for name, column in columns.items():
        if args.get(name):
            query = query.where(column == args[name])
    if args.get("locked"):
        query = query.where(m.ExternalTask.lock_expires_at > engine().clock.now())
    if args.get("notLocked"):
        query = query.where((m.ExternalTask.lock_expires_at.is_(None)) | (m.ExternalTask.lock_expires_at <= engine().clock.now()))
    if args.get("withRetriesLeft"):
        query = query.where((m.ExternalTask.retries.is_(None)) | (m.ExternalTask.retries > 0))
    if args.get("noRetriesLeft"):
        query = query.where(m.ExternalTask.retries == 0)
    who = caller()
    if not who.has("operator") and "*" not in who.topics:
        query = query.where(m.ExternalTask.topic.in_(sorted(who.topics)))
    return query


@blp.route("/external-task", methods=["GET"])
@requires("external-task.read")
@blp.arguments(ExternalTaskQuery, location="query")
@blp.response(200, ExternalTaskSchema(many=True))
def list_tasks(args):
    with reading() as session:
        items = session.scalars(_query(args).order_by(m.ExternalTask.created, m.ExternalTask.id)).all()
        return jsonify([_task_json(item) for item in items])


@blp.route("/external-task/count", methods=["GET"])
@requires("external-task.read")
@blp.arguments(ExternalTaskQuery, location="query")
def count(args):
    from sqlalchemy import func

    with reading() as session:
        return jsonify({"count": session.scalar(select(func.count()).select_from(_query(args).subquery()))})


def _sees(who, topic: str) -> bool:
    """Operators see every external task; a service account only those of its topics."""
    return who.has("operator") or who.may_fetch(topic)


def _workable(task_id: str) -> None:
    """404 unless the external task exists and is of a topic this service account serves."""
    with reading() as session:
        topic = session.scalar(select(m.ExternalTask.topic).where(m.ExternalTask.id == task_id))
    if topic is None or not caller().may_fetch(topic):
        raise NotFound(f"External task with id {task_id} does not exist")
