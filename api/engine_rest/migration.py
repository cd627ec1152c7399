"""Migration of running instances to another version (Camunda 7's /migration resource)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine import queries
from engine.errors import InvalidRequest

from identity.permissions import requires

from ..common import Blueprint, actor, engine, no_content, reading
from ..schemas import Body, TypedVariables

blp = Blueprint("migration", __name__, description="Moving running instances to another version of their process")

_ONE = validate.Length(min=1)


class InstructionSchema(Body):
    sourceActivityIds = fields.List(fields.String(), required=True, validate=_ONE)
    targetActivityIds = fields.List(fields.String(), required=True, validate=_ONE)
    updateEventTrigger = fields.Boolean(load_default=False)


class PlanSchema(Body):
    sourceProcessDefinitionId = fields.String(required=True, validate=_ONE)
    targetProcessDefinitionId = fields.String(required=True, validate=_ONE)
    instructions = fields.List(fields.Nested(InstructionSchema), required=True)
    variables = TypedVariables(allow_none=True, metadata={"description": "Set in every migrated instance (typed, as Camunda's)"})


class GenerationBody(Body):
    sourceProcessDefinitionId = fields.String(required=True, validate=_ONE)
    targetProcessDefinitionId = fields.String(required=True, validate=_ONE)
    updateEventTriggers = fields.Boolean(load_default=False)


class InstructionReportSchema(ma.Schema):
    instruction = fields.Nested(InstructionSchema)
    failures = fields.List(fields.String())


class PlanReportSchema(ma.Schema):
    instructionReports = fields.List(fields.Nested(InstructionReportSchema))
    variableReports = fields.Dict(metadata={"description": "Always empty: a typed value that does not read is refused (400)"})


class InstanceQuerySchema(Body):
    processInstanceIds = fields.List(fields.String(), load_default=None)
    processDefinitionId = fields.String(load_default=None)
    processDefinitionKey = fields.String(load_default=None)
    businessKey = fields.String(load_default=None)


class ExecutionBody(Body):
    migrationPlan = fields.Nested(PlanSchema, required=True)
    processInstanceIds = fields.List(fields.String(), load_default=list)
    processInstanceQuery = fields.Nested(InstanceQuerySchema, load_default=None)
    # No listeners nor input/output mappings run here, so both are accepted and have no effect.
    skipCustomListeners = fields.Boolean(load_default=False)
    skipIoMappings = fields.Boolean(load_default=False)


@blp.route("/migration/generate", methods=["POST"])
@requires("instance.migrate")
@blp.arguments(GenerationBody)
@blp.response(200, PlanSchema)
def generate(body):
    """A plan mapping every activity of the source that has an activity of the same id and kind in the target."""
    return engine().migration_plan(body["sourceProcessDefinitionId"], body["targetProcessDefinitionId"],
                                   body["updateEventTriggers"])


@blp.route("/migration/validate", methods=["POST"])
@requires("instance.migrate")
@blp.arguments(PlanSchema)
@blp.response(200, PlanReportSchema)
def validate_plan(plan):
    """The plan's failures per instruction (empty lists: it is valid); no instance is looked at."""
    return engine().validate_migration(plan)


@blp.route("/migration/execute", methods=["POST"])
@requires("instance.migrate")
@blp.arguments(ExecutionBody)
@blp.response(204)
def execute(body):
    """Migrate the instances (ids and/or a query): every one is checked before any is moved, then
    each is moved in its own transaction. 400 with Camunda's validationReport when one does not fit."""
    engine().migrate(body["migrationPlan"], _instance_ids(body), actor=actor())
    return no_content()


@blp.route("/migration/executeAsync", methods=["POST"])
@requires("instance.migrate")
@blp.arguments(ExecutionBody)
@blp.response(204)
def execute_async(body):
    """Refused: there are no batches here. /migration/execute moves each instance in its own transaction."""
    raise InvalidRequest("executeAsync is not supported (this engine has no batches); use POST /migration/execute, "
                         "which migrates each instance in its own transaction")


def _instance_ids(body) -> list[str]:
    ids = list(body["processInstanceIds"])
    query = body["processInstanceQuery"]
    if query is not None:
        with reading() as session:
            rows = queries.instances.list(session, instance_ids=query["processInstanceIds"],
                                          definition_id=query["processDefinitionId"],
                                          definition_key=query["processDefinitionKey"], business_key=query["businessKey"])
        ids += [row.id for row in rows if row.id not in ids]
    return ids
