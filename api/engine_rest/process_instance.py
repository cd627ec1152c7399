"""Running process instances: list, read, cancel, and read their variables."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from engine import queries
from engine.errors import NotFound
from engine.variables import to_typed

from identity.permissions import requires

from identity import audit, scope

from ..common import Blueprint, caller, actor, engine, found, no_content, reading, self_link, typed_variables
from ..schemas import (
    LINKS_DOC,
    TYPED_VARIABLES_DOC,
    Body,
    CountSchema,
    ListArgs,
    RowSchema,
    TypedValueSchema,
    TypedVariables,
    csv_list,
    null_field,
    sort_field,
)

blp = Blueprint("process-instance", __name__, description="Running process instances")


class ProcessInstanceSchema(RowSchema):
    links = fields.Method("_links", metadata=LINKS_DOC)
    id = fields.String()
    definitionId = fields.String(attribute="definition_id")
    definitionKey = fields.String(attribute="definition_key")
    businessKey = fields.String(attribute="business_key")
    caseInstanceId = null_field()
    ended = fields.Method("_ended", metadata={"type": "boolean"})
    suspended = fields.Boolean()
    tenantId = null_field()

    def _links(self, row):
        return self_link(f"/process-instance/{row['id']}")

    def _ended(self, row):
        return row["state"] != queries.ACTIVE


class StartedInstanceSchema(ProcessInstanceSchema):
    variables = TypedVariables(metadata={"description": "Only with withVariablesInReturn"})


class InstanceFilter(ma.Schema):
    instance_ids = csv_list(data_key="processInstanceIds")
    business_key = fields.String(data_key="businessKey")
    definition_key = fields.String(data_key="processDefinitionKey")
    definition_id = fields.String(data_key="processDefinitionId")
    active = fields.Boolean()
    suspended = fields.Boolean()
    with_incident = fields.Boolean(data_key="withIncident")


class InstanceListArgs(InstanceFilter, ListArgs):
    sort_by = sort_field(queries.instances)


class CancelArgs(ma.Schema):
    fail_if_not_exists = fields.Boolean(data_key="failIfNotExists", load_default=True)
    # Not in Camunda's REST API (its engine API has it): recorded as the instance's deleteReason.
    delete_reason = fields.String(data_key="deleteReason", load_default=None)


def instance_answer(instance_id: str) -> dict:
    """The instance a command just touched, in any state, as a plain dict for the schema."""
    with reading() as session:
        row = queries.instances_by_id(session, [instance_id]).get(instance_id)
    return dict(found(row, f"Process instance with id {instance_id} does not exist")._mapping)


@blp.route("/process-instance", methods=["GET"])
@requires("instance.read")
@blp.arguments(InstanceListArgs, location="query")
@blp.response(200, ProcessInstanceSchema(many=True))
def list_instances(args):
    with reading() as session:
        return queries.instances.list(session, **args, **scope.instances(caller()))


@blp.route("/process-instance/count", methods=["GET"])
@requires("instance.read")
@blp.arguments(InstanceFilter, location="query")
@blp.response(200, CountSchema)
def count_instances(args):
    with reading() as session:
        return {"count": queries.instances.count(session, **args, **scope.instances(caller()))}


@blp.route("/process-instance/<instance_id>", methods=["GET"])
@requires("instance.read")
@blp.response(200, ProcessInstanceSchema)
def get_instance(instance_id):
    with reading() as session:
        row = queries.instances.first(session, instance_ids=[instance_id], **scope.instances(caller()))
    return found(row, f"Process instance with id {instance_id} does not exist")


@blp.route("/process-instance/<instance_id>", methods=["DELETE"])
@requires("instance.delete")
@blp.arguments(CancelArgs, location="query")
@blp.response(204)
def cancel_instance(args, instance_id):
    """Cancel a running instance (its history records state EXTERNALLY_TERMINATED)."""
    try:
        engine().cancel_instance(instance_id, reason=args["delete_reason"], actor=actor())
    except NotFound:
        if args["fail_if_not_exists"]:
            raise
    return no_content()


@blp.route("/process-instance/<instance_id>/variables", methods=["GET"])
@requires("instance.variables")
@blp.response(200, TYPED_VARIABLES_DOC)
def get_variables(instance_id):
    _readable(instance_id)
    return typed_variables(engine().instance_variables(instance_id))


@blp.route("/process-instance/<instance_id>/variables/<name>", methods=["GET"])
@requires("instance.variables")
@blp.response(200, TypedValueSchema)
def get_variable(instance_id, name):
    _readable(instance_id)
    values = engine().instance_variables(instance_id)
    if name not in values:
        raise NotFound(f"process instance variable with name {name} does not exist")
    return to_typed(values[name])


class InstanceSuspensionBody(Body):
    suspended = fields.Boolean(required=True)


@blp.route("/process-instance/<instance_id>/suspended", methods=["PUT"])
@requires("instance.suspend")
@blp.arguments(InstanceSuspensionBody)
@blp.response(204)
def set_suspended(body, instance_id):
    """Suspend (`true`) or activate (`false`) a running instance: while suspended its tasks cannot be
    claimed or completed, its jobs and external tasks wait, and no message reaches it."""
    engine().set_instance_suspended(instance_id, body["suspended"], actor=actor())
    return no_content()


def _readable(instance_id: str) -> None:
    """404 unless the caller may see the instance (running or ended); the read is audited."""
    with reading() as session:
        row = queries.historic_instances.first(session, instance_id=instance_id, **scope.instances(caller()))
    row = found(row, f"Process instance with id {instance_id} does not exist")
    audit.read("instance-variables", instance_id, row.business_key)
