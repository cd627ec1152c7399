"""Message correlation: deliver a message to a waiting instance, or start one with it."""
from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from marshmallow import fields, validate

from engine import queries

from identity.permissions import requires

from engine.errors import Forbidden

from ..common import Blueprint, caller, engine, no_content, reading, self_link
from ..schemas import LINKS_DOC, Body, TypedVariables, null_field

blp = Blueprint("message", __name__, description="Message correlation")


class CorrelationBody(Body):
    message_name = fields.String(data_key="messageName", required=True, validate=validate.Length(min=1))
    business_key = fields.String(data_key="businessKey", load_default=None, allow_none=True)
    process_instance_id = fields.String(data_key="processInstanceId", load_default=None, allow_none=True)
    correlation_keys = TypedVariables(data_key="correlationKeys")
    process_variables = TypedVariables(data_key="processVariables")
    all = fields.Boolean(load_default=False)
    result_enabled = fields.Boolean(data_key="resultEnabled", load_default=False)


class ExecutionSchema(ma.Schema):
    id = fields.String()
    processInstanceId = fields.String()
    ended = fields.Boolean()
    tenantId = null_field()


class CorrelatedInstanceSchema(ma.Schema):
    links = fields.Raw(metadata=LINKS_DOC)
    id = fields.String()
    definitionId = fields.String()
    businessKey = fields.String()
    caseInstanceId = null_field()
    ended = fields.Boolean()
    suspended = fields.Constant(False)
    tenantId = null_field()


class CorrelationResultSchema(ma.Schema):
    resultType = fields.String(metadata={"description": "Execution (a waiting instance got it) or ProcessDefinition (it started one)"})
    execution = fields.Nested(ExecutionSchema, allow_none=True)
    processInstance = fields.Nested(CorrelatedInstanceSchema, allow_none=True)


@blp.route("/message", methods=["POST"])
@requires("message.correlate")
@blp.arguments(CorrelationBody)
@blp.response(204)
@blp.alt_response(200, schema=CorrelationResultSchema(many=True), description="With resultEnabled")
def correlate(body):
    """Correlate by business key, instance id and/or correlation keys (typed); `all` for every match.
    A service account sends only the messages it is allowed (e.g. BHXH's system: bhyt.card-issued)."""
    who = caller()
    if not who.may_send(body["message_name"]):
        raise Forbidden(f"The user '{who.id}' may not send the message '{body['message_name']}'.")
    results = engine().correlate_message(
        body["message_name"],
        business_key=body["business_key"],
        process_instance_id=body["process_instance_id"],
        correlation_keys=body["correlation_keys"] or None,
        variables=body["process_variables"] or None,
        all=body["all"],
    )
    if not body["result_enabled"]:
        return no_content()
    with reading() as session:
        rows = queries.instances_by_id(session, {r.instance_id for r in results})
    return jsonify(CorrelationResultSchema(many=True).dump([_result(r, rows.get(r.instance_id)) for r in results]))


def _result(result, row) -> dict:
    # A message can run an instance to its end within the same command: report whether it did.
    ended = row is not None and row.state != queries.ACTIVE
    if result.result_type == "Execution":
        execution = {"id": result.instance_id, "processInstanceId": result.instance_id, "ended": ended}
        return {"resultType": "Execution", "execution": execution, "processInstance": None}
    instance = {
        "links": self_link(f"/process-instance/{result.instance_id}"),
        "id": result.instance_id,
        "definitionId": result.definition_id,
        "businessKey": result.business_key,
        "ended": ended,
    }
    return {"resultType": "ProcessDefinition", "execution": None, "processInstance": instance}
