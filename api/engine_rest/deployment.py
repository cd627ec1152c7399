"""Deployments: upload BPMN and DMN files as Camunda's multipart form, list what was deployed."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from marshmallow import fields

from engine import queries
from engine.errors import InvalidRequest

from identity.permissions import requires

from ..common import Blueprint, actor, engine, found, reading, self_link
from ..schemas import LINKS_DOC, CamundaDate, CountSchema, ListArgs, RowSchema, csv_list, null_field, sort_field
from .process_definition import ProcessDefinitionSchema

blp = Blueprint("deployment", __name__, description="Deploy BPMN and DMN resources")

# Form parts that configure the deployment; every other part is a resource to deploy.
_SETTINGS = {
    "deployment-name", "deployment-source", "enable-duplicate-filtering", "deploy-changed-only",
    "deployment-activation-time", "tenant-id",
}


class DeploymentSchema(RowSchema):
    links = fields.Method("_links", metadata=LINKS_DOC)
    id = fields.String()
    name = fields.String()
    source = fields.String(allow_none=True)
    deploymentTime = CamundaDate(attribute="deployment_time")
    tenantId = fields.String(attribute="tenant_id", dump_default=None, allow_none=True)

    def _links(self, deployment):
        return self_link(f"/deployment/{_get(deployment, 'id')}")


class DecisionDefinitionSchema(ma.Schema):
    id = fields.String()
    key = fields.String()
    category = null_field()
    name = fields.String()
    version = fields.Integer()
    resource = fields.String(attribute="resource_name")
    deploymentId = fields.String(attribute="deployment_id")
    decisionRequirementsDefinitionId = null_field()
    decisionRequirementsDefinitionKey = null_field()
    tenantId = fields.String(attribute="tenant_id", dump_default=None, allow_none=True)
    versionTag = null_field()
    historyTimeToLive = null_field()


_BY_ID = {"type": "object", "additionalProperties": {"type": "object"}, "nullable": True}


class DeploymentWithDefinitionsSchema(DeploymentSchema):
    """Camunda's answer to a deployment: a map per kind, keyed by definition id (null when none)."""

    deployedProcessDefinitions = fields.Method("_processes", metadata=_BY_ID)
    deployedDecisionDefinitions = fields.Method("_decisions", metadata=_BY_ID)
    deployedCaseDefinitions = null_field()
    deployedDecisionRequirementsDefinitions = null_field()

    def _processes(self, result):
        return _deployed(result, "process", ProcessDefinitionSchema())

    def _decisions(self, result):
        return _deployed(result, "decision", DecisionDefinitionSchema())


def _get(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _deployed(result, kind: str, schema: ma.Schema) -> dict | None:
    if result.unchanged:
        # Camunda answers a filtered duplicate with the existing deployment and nothing deployed.
        return None
    deployed = {
        d.id: schema.dump({"id": d.id, "key": d.key, "version": d.version, "name": d.name,
                           "resource_name": d.resource, "deployment_id": result.id, "tenant_id": result.tenant_id})
        for d in result.definitions if d.kind == kind
    }
    return deployed or None


class DeploymentForm(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the resources themselves

    name = fields.String(data_key="deployment-name", load_default=None)
    source = fields.String(data_key="deployment-source", load_default=None)
    enable_duplicate_filtering = fields.Boolean(
        data_key="enable-duplicate-filtering", load_default=False,
        metadata={"description": "Accepted for compatibility: an unchanged resource never makes a new version"},
    )
    deploy_changed_only = fields.Boolean(
        data_key="deploy-changed-only", load_default=False,
        metadata={"description": "Compare each resource with the latest of the same name in deployments of this "
                                 "name: none changed answers that deployment (no definition deployed); otherwise "
                                 "only the changed resources are deployed"},
    )
    tenant_id = fields.String(
        data_key="tenant-id", load_default=None, validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "Whose definitions these are (Camunda's tenant); not an instance's agency"},
    )
    data = fields.Raw(
        metadata={"type": "string", "format": "binary",
                  "description": "Any number of parts, any names: each file is a resource (its file name is the resource name)"},
    )


class DeploymentFilter(ma.Schema):
    deployment_id = fields.String(data_key="id")
    name = fields.String()
    source = fields.String()
    after = CamundaDate()
    before = CamundaDate()
    tenant_ids = csv_list(data_key="tenantIdIn")
    without_tenant_id = fields.Boolean(data_key="withoutTenantId")


class DeploymentListArgs(DeploymentFilter, ListArgs):
    sort_by = sort_field(queries.deployments)


def _resources() -> dict[str, bytes]:
    """Every part that is not a setting; a file part is named by its file name, as in Camunda."""
    resources = {}
    for part, upload in request.files.items(multi=True):
        resources[upload.filename or part] = upload.read()
    for part, text in request.form.items(multi=True):
        if part not in _SETTINGS:
            resources[part] = text.encode("utf-8")
    return resources


@blp.route("/deployment/create", methods=["POST"])
@requires("deployment.create")
@blp.arguments(DeploymentForm, location="form", content_type="multipart/form-data")
@blp.response(200, DeploymentWithDefinitionsSchema)
def create_deployment(form):
    """Deploy BPMN/DMN files; a refused file answers 400 with what is wrong, where."""
    resources = _resources()
    if not resources:
        raise InvalidRequest("No deployment resources contained in the form upload.")
    return engine().deploy(resources, name=form["name"], source=form["source"], user_id=actor(),
                           tenant_id=form["tenant_id"], changed_only=form["deploy_changed_only"])


@blp.route("/deployment", methods=["GET"])
@requires("definition.read")
@blp.arguments(DeploymentListArgs, location="query")
@blp.response(200, DeploymentSchema(many=True))
def list_deployments(args):
    with reading() as session:
        return queries.deployments.list(session, **args)


@blp.route("/deployment/count", methods=["GET"])
@requires("definition.read")
@blp.arguments(DeploymentFilter, location="query")
@blp.response(200, CountSchema)
def count_deployments(args):
    with reading() as session:
        return {"count": queries.deployments.count(session, **args)}


@blp.route("/deployment/<deployment_id>", methods=["GET"])
@requires("definition.read")
@blp.response(200, DeploymentSchema)
def get_deployment(deployment_id):
    with reading() as session:
        row = queries.deployments.first(session, deployment_id=deployment_id)
    return found(row, f"Deployment with id '{deployment_id}' does not exist")
