"""Process definitions: list and read them, fetch their BPMN XML, start instances by key."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from engine import queries

from identity.permissions import requires

from engine.errors import Forbidden
from identity.principal import AGENCY_BOUND

from ..common import Blueprint, caller, actor, engine, found, no_content, reading
from ..schemas import Body, CountSchema, ListArgs, RowSchema, TypedVariables, csv_list, null_field, sort_field
from .process_instance import StartedInstanceSchema, instance_answer

blp = Blueprint("process-definition", __name__, description="Deployed process definitions")


class ProcessDefinitionSchema(RowSchema):
    id = fields.String()
    key = fields.String()
    category = null_field()
    description = null_field()
    name = fields.String()
    version = fields.Integer()
    resource = fields.String(attribute="resource_name")
    deploymentId = fields.String(attribute="deployment_id")
    diagram = null_field()
    suspended = fields.Boolean()
    tenantId = null_field()
    versionTag = fields.String(attribute="version_tag", dump_default=None)
    historyTimeToLive = null_field()
    startableInTasklist = fields.Boolean(attribute="startable", dump_default=True)


class DefinitionFilter(ma.Schema):
    definition_id = fields.String(data_key="processDefinitionId")
    key = fields.String()
    keys = csv_list(data_key="keysIn")
    name = fields.String()
    version = fields.Integer()
    version_tag = fields.String(data_key="versionTag")
    deployment_id = fields.String(data_key="deploymentId")
    latest_version = fields.Boolean(data_key="latestVersion")
    startable = fields.Boolean(data_key="startableInTasklist")


class DefinitionListArgs(DefinitionFilter, ListArgs):
    sort_by = sort_field(queries.definitions)


class XmlSchema(ma.Schema):
    id = fields.String()
    bpmn20Xml = fields.String()


class StartBody(Body):
    variables = TypedVariables()
    business_key = fields.String(data_key="businessKey", load_default=None, allow_none=True)
    with_variables_in_return = fields.Boolean(data_key="withVariablesInReturn", load_default=False)


def _latest(key: str):
    with reading() as session:
        row = queries.latest_definition(session, key)
    return found(row, f"No matching process definition with key: {key} and no tenant-id")


@blp.route("/process-definition", methods=["GET"])
@requires("definition.read")
@blp.arguments(DefinitionListArgs, location="query")
@blp.response(200, ProcessDefinitionSchema(many=True))
def list_definitions(args):
    with reading() as session:
        return queries.definitions.list(session, **args)


@blp.route("/process-definition/count", methods=["GET"])
@requires("definition.read")
@blp.arguments(DefinitionFilter, location="query")
@blp.response(200, CountSchema)
def count_definitions(args):
    with reading() as session:
        return {"count": queries.definitions.count(session, **args)}


@blp.route("/process-definition/key/<key>", methods=["GET"])
@requires("definition.read")
@blp.response(200, ProcessDefinitionSchema)
def get_latest_definition(key):
    """The latest version of the definition with this key."""
    return _latest(key)


@blp.route("/process-definition/<definition_id>", methods=["GET"])
@requires("definition.read")
@blp.response(200, ProcessDefinitionSchema)
def get_definition(definition_id):
    with reading() as session:
        row = queries.definitions.first(session, definition_id=definition_id)
    return found(row, f"No matching definition with id {definition_id}")


@blp.route("/process-definition/key/<key>/xml", methods=["GET"])
@requires("definition.read")
@blp.response(200, XmlSchema)
def get_latest_xml(key):
    return _xml(_latest(key).id)


@blp.route("/process-definition/<definition_id>/xml", methods=["GET"])
@requires("definition.read")
@blp.response(200, XmlSchema)
def get_xml(definition_id):
    return _xml(definition_id)


def _xml(definition_id: str) -> dict:
    _resource, content = engine().resource_content(definition_id)
    return {"id": definition_id, "bpmn20Xml": content.decode("utf-8", errors="replace")}


@blp.route("/process-definition/key/<key>/start", methods=["POST"])
@requires("instance.start")
@blp.arguments(StartBody)
@blp.response(200, StartedInstanceSchema)
def start_by_key(body, key):
    """Start an instance of the latest version; `withVariablesInReturn` adds its variables."""
    return _start(key, body)


@blp.route("/process-definition/key/<key>/submit-form", methods=["POST"])
@requires("instance.start")
@blp.arguments(StartBody)
@blp.response(200, StartedInstanceSchema)
def submit_start_form(body, key):
    """Camunda Tasklist's way to start: the same as /start."""
    return _start(key, body)


class DefinitionSuspensionBody(Body):
    suspended = fields.Boolean(required=True)
    include_instances = fields.Boolean(data_key="includeProcessInstances", load_default=False)
    execution_date = fields.String(data_key="executionDate", load_default=None, allow_none=True, metadata={
        "description": "Not supported: the suspension applies at once (a date is refused)"})

    @ma.validates("execution_date")
    def _now_only(self, value, **kwargs):
        if value is not None:
            raise ma.ValidationError("a suspension at a later date is not supported; it applies at once")


@blp.route("/process-definition/<definition_id>/suspended", methods=["PUT"])
@requires("definition.suspend")
@blp.arguments(DefinitionSuspensionBody)
@blp.response(204)
def set_suspended(body, definition_id):
    """Suspend (`true`) or activate (`false`) a definition: while suspended no instance starts on it;
    `includeProcessInstances` holds (or releases) its running instances too."""
    engine().set_definition_suspended(definition_id, body["suspended"], body["include_instances"], actor=actor())
    return no_content()


def _start(key: str, body: dict) -> dict:
    who = caller()
    bound = bool(who.roles & AGENCY_BOUND) and not who.is_admin
    if bound and not who.agency:
        # Its instance would have no tenant, and so be visible to every agency.
        raise Forbidden(f"The user '{who.id}' belongs to no agency and cannot start instances.")
    instance_id = engine().start_instance(
        key, body["variables"], business_key=body["business_key"], user_id=actor(),
        tenant_id=who.agency if bound else None,
    )
    answer = instance_answer(instance_id)
    if body["with_variables_in_return"]:
        answer["variables"] = engine().instance_variables(instance_id)
    return answer
