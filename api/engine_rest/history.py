"""History: finished and running process instances, activity instances, the user operation log."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from engine import queries

from identity.permissions import requires

from identity import scope

from ..common import Blueprint, caller, found, reading
from ..schemas import (
    CamundaDate,
    CountSchema,
    ListArgs,
    RowSchema,
    csv_list,
    millis_between,
    null_field,
    sort_field,
)

blp = Blueprint("history", __name__, description="History")


# --- process instances -------------------------------------------------------------------------


class HistoricProcessInstanceSchema(RowSchema):
    id = fields.String()
    businessKey = fields.String(attribute="business_key")
    processDefinitionId = fields.String(attribute="definition_id")
    processDefinitionKey = fields.String(attribute="definition_key")
    processDefinitionName = fields.String(attribute="definition_name")
    processDefinitionVersion = fields.Integer(attribute="definition_version")
    startTime = CamundaDate(attribute="start_time")
    endTime = CamundaDate(attribute="end_time")
    removalTime = null_field()
    durationInMillis = fields.Method("_duration", metadata={"type": "integer"})
    startUserId = fields.String(attribute="start_user_id")
    startActivityId = fields.String(attribute="start_activity_id")
    deleteReason = fields.String(attribute="delete_reason")
    rootProcessInstanceId = fields.String(attribute="id", dump_only=True)
    superProcessInstanceId = null_field()
    superCaseInstanceId = null_field()
    caseInstanceId = null_field()
    tenantId = null_field()
    state = fields.Method("_state", metadata={
        "type": "string", "description": "ACTIVE, SUSPENDED, COMPLETED, EXTERNALLY_TERMINATED or INTERNALLY_TERMINATED"})

    def _state(self, row):
        return "SUSPENDED" if row["state"] == "ACTIVE" and row["suspended"] else row["state"]

    def _duration(self, row):
        return millis_between(row["start_time"], row["end_time"])


class HistoricInstanceFilter(ma.Schema):
    instance_id = fields.String(data_key="processInstanceId")
    instance_ids = csv_list(data_key="processInstanceIds")
    business_key = fields.String(data_key="processInstanceBusinessKey")
    definition_id = fields.String(data_key="processDefinitionId")
    definition_key = fields.String(data_key="processDefinitionKey")
    finished = fields.Boolean()
    unfinished = fields.Boolean()
    started_before = CamundaDate(data_key="startedBefore")
    started_after = CamundaDate(data_key="startedAfter")
    started_by = fields.String(data_key="startedBy")


class HistoricInstanceListArgs(HistoricInstanceFilter, ListArgs):
    sort_by = sort_field(queries.historic_instances)


@blp.route("/history/process-instance", methods=["GET"])
@requires("history.read")
@blp.arguments(HistoricInstanceListArgs, location="query")
@blp.response(200, HistoricProcessInstanceSchema(many=True))
def list_historic_instances(args):
    with reading() as session:
        return queries.historic_instances.list(session, **args, **scope.instances(caller()))


@blp.route("/history/process-instance/count", methods=["GET"])
@requires("history.read")
@blp.arguments(HistoricInstanceFilter, location="query")
@blp.response(200, CountSchema)
def count_historic_instances(args):
    with reading() as session:
        return {"count": queries.historic_instances.count(session, **args, **scope.instances(caller()))}


@blp.route("/history/process-instance/<instance_id>", methods=["GET"])
@requires("history.read")
@blp.response(200, HistoricProcessInstanceSchema)
def get_historic_instance(instance_id):
    with reading() as session:
        row = queries.historic_instances.first(session, instance_id=instance_id, **scope.instances(caller()))
    return found(row, f"Historic process instance with id {instance_id} does not exist")


# --- activity instances ------------------------------------------------------------------------


class HistoricActivityInstanceSchema(RowSchema):
    id = fields.String()
    parentActivityInstanceId = null_field()
    activityId = fields.String(attribute="activity_id")
    activityName = fields.String(attribute="activity_name")
    activityType = fields.String(attribute="activity_type")
    processDefinitionKey = fields.String(attribute="definition_key")
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="instance_id")
    executionId = fields.String(attribute="instance_id", dump_only=True)
    taskId = fields.String(attribute="task_id")
    calledProcessInstanceId = null_field()
    calledCaseInstanceId = null_field()
    assignee = fields.String()
    startTime = CamundaDate(attribute="start_time")
    endTime = CamundaDate(attribute="end_time")
    durationInMillis = fields.Method("_duration", metadata={"type": "integer"})
    canceled = fields.Boolean()
    completeScope = null_field()
    tenantId = null_field()
    removalTime = null_field()
    rootProcessInstanceId = fields.String(attribute="instance_id", dump_only=True)

    def _duration(self, row):
        return millis_between(row["start_time"], row["end_time"])


class ActivityFilter(ma.Schema):
    activity_instance_id = fields.String(data_key="activityInstanceId")
    instance_id = fields.String(data_key="processInstanceId")
    definition_id = fields.String(data_key="processDefinitionId")
    activity_id = fields.String(data_key="activityId")
    activity_name = fields.String(data_key="activityName")
    activity_type = fields.String(data_key="activityType")
    task_assignee = fields.String(data_key="taskAssignee")
    finished = fields.Boolean()
    unfinished = fields.Boolean()
    canceled = fields.Boolean()


class ActivityListArgs(ActivityFilter, ListArgs):
    sort_by = sort_field(queries.activity_instances)


@blp.route("/history/activity-instance", methods=["GET"])
@requires("history.read")
@blp.arguments(ActivityListArgs, location="query")
@blp.response(200, HistoricActivityInstanceSchema(many=True))
def list_activity_instances(args):
    with reading() as session:
        return queries.activity_instances.list(session, **args, **scope.instances(caller()))


@blp.route("/history/activity-instance/count", methods=["GET"])
@requires("history.read")
@blp.arguments(ActivityFilter, location="query")
@blp.response(200, CountSchema)
def count_activity_instances(args):
    with reading() as session:
        return {"count": queries.activity_instances.count(session, **args, **scope.instances(caller()))}


# --- user operation log ------------------------------------------------------------------------


class UserOperationSchema(RowSchema):
    id = fields.String()
    operationId = fields.String(attribute="id", dump_only=True)
    userId = fields.String(attribute="user_id")
    timestamp = CamundaDate()
    operationType = fields.String(attribute="operation_type")
    entityType = fields.String(attribute="entity_type")
    category = fields.Method("_category", metadata={"type": "string"})
    processInstanceId = fields.String(attribute="instance_id")
    rootProcessInstanceId = fields.String(attribute="instance_id", dump_only=True)
    taskId = fields.String(attribute="task_id")
    # Camunda writes one entry per changed property; lienthong keeps them together in `details`.
    property = null_field()
    orgValue = null_field()
    newValue = null_field()
    details = fields.Dict(metadata={"description": "What the operation changed (not in Camunda's API)"})
    annotation = null_field()

    def _category(self, row):
        return "TaskWorker" if row["entity_type"] == "Task" else "Operator"


class UserOperationFilter(ma.Schema):
    instance_id = fields.String(data_key="processInstanceId")
    task_id = fields.String(data_key="taskId")
    operation_type = fields.String(data_key="operationType")
    user_id = fields.String(data_key="userId")
    entity_type = fields.String(data_key="entityType")
    after_timestamp = CamundaDate(data_key="afterTimestamp")
    before_timestamp = CamundaDate(data_key="beforeTimestamp")


class UserOperationListArgs(UserOperationFilter, ListArgs):
    sort_by = sort_field(queries.user_operations)


@blp.route("/history/user-operation", methods=["GET"])
@requires("audit.read")
@blp.arguments(UserOperationListArgs, location="query")
@blp.response(200, UserOperationSchema(many=True))
def list_user_operations(args):
    with reading() as session:
        return queries.user_operations.list(session, **args)


@blp.route("/history/user-operation/count", methods=["GET"])
@requires("audit.read")
@blp.arguments(UserOperationFilter, location="query")
@blp.response(200, CountSchema)
def count_user_operations(args):
    with reading() as session:
        return {"count": queries.user_operations.count(session, **args)}
