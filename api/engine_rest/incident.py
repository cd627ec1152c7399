"""Incidents: jobs and external tasks that ran out of retries."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from engine import queries

from identity.permissions import requires

from ..common import Blueprint, found, reading
from ..schemas import CamundaDate, CountSchema, ListArgs, RowSchema, null_field, sort_field

blp = Blueprint("incident", __name__, description="Incidents")


class IncidentSchema(RowSchema):
    id = fields.String()
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="instance_id")
    executionId = fields.String(attribute="instance_id", dump_only=True)
    incidentTimestamp = CamundaDate(attribute="created")
    incidentType = fields.String(attribute="type")
    activityId = fields.String(attribute="activity_id")
    failedActivityId = fields.String(attribute="activity_id", dump_only=True)
    # Every incident here is its own root cause (no incidents propagate from called instances).
    causeIncidentId = fields.String(attribute="id", dump_only=True)
    rootCauseIncidentId = fields.String(attribute="id", dump_only=True)
    configuration = fields.String(metadata={"description": "The id of the failed job or external task"})
    tenantId = null_field()
    incidentMessage = fields.String(attribute="message")
    jobDefinitionId = null_field()
    annotation = null_field()


class IncidentFilter(ma.Schema):
    incident_id = fields.String(data_key="incidentId")
    incident_type = fields.String(data_key="incidentType")
    instance_id = fields.String(data_key="processInstanceId")
    definition_id = fields.String(data_key="processDefinitionId")
    activity_id = fields.String(data_key="activityId")
    configuration = fields.String()


class IncidentListArgs(IncidentFilter, ListArgs):
    sort_by = sort_field(queries.incidents)


@blp.route("/incident", methods=["GET"])
@requires("incident.read")
@blp.arguments(IncidentListArgs, location="query")
@blp.response(200, IncidentSchema(many=True))
def list_incidents(args):
    with reading() as session:
        return queries.incidents.list(session, **args)


@blp.route("/incident/count", methods=["GET"])
@requires("incident.read")
@blp.arguments(IncidentFilter, location="query")
@blp.response(200, CountSchema)
def count_incidents(args):
    with reading() as session:
        return {"count": queries.incidents.count(session, **args)}


@blp.route("/incident/<incident_id>", methods=["GET"])
@requires("incident.read")
@blp.response(200, IncidentSchema)
def get_incident(incident_id):
    with reading() as session:
        row = queries.incidents.first(session, incident_id=incident_id)
    return found(row, f"Incident with id {incident_id} does not exist")
