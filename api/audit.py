"""The audit trail for auditors, under /api/audit: who read or changed what, when, from where, and
who was refused. lienthong's own API rather than /engine-rest: Camunda has no read log, its
user-operation log (/engine-rest/history/user-operation, also auditors only) keeps the engine's
operations in Camunda's shape, and this trail also covers the dossier routes and refused calls."""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from marshmallow import fields, validate

from identity import audit, trail
from identity.permissions import requires

from .common import Blueprint, reading
from .errors import ErrorSchema

blp = Blueprint("audit", __name__, description="Audit trail (auditors): reads of personal data, changes, refused calls")

MAX_RESULTS = 1000


class AuditFilter(ma.Schema):
    actor = fields.String(metadata={"description": "The account id of the caller (an anonymous caller has none)"})
    action = fields.String(validate=validate.OneOf(trail.ACTIONS),
                           metadata={"description": "read (personal data answered), change, refused (a change answered 4xx), "
                                                    "denied (401/403)"})
    dossier_code = fields.String(data_key="dossierCode")
    resource = fields.String(metadata={"description": "dossier, declaration, task-variables, instance-variables, or the "
                                                      "blueprint of a change (task, process-instance, dossiers, ...)"})
    resource_id = fields.String(data_key="resourceId")
    endpoint = fields.String()
    after = fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "ISO 8601; exclusive"})
    before = fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "ISO 8601; exclusive"})


class AuditListArgs(AuditFilter):
    first_result = fields.Integer(data_key="firstResult", load_default=0, validate=validate.Range(min=0, max=10_000_000))
    max_results = fields.Integer(data_key="maxResults", load_default=100, validate=validate.Range(min=1, max=MAX_RESULTS))


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    at = fields.AwareDateTime(metadata={"description": "When (UTC)"})
    actor = fields.String(allow_none=True, metadata={"description": "Who: the account id; null for an anonymous caller"})
    roles = fields.List(fields.String())
    agency = fields.String(attribute="agency_code", allow_none=True)
    remoteAddr = fields.String(attribute="remote_addr", allow_none=True, metadata={"description": "From where"})
    action = fields.String()
    method = fields.String()
    endpoint = fields.String(allow_none=True)
    path = fields.String(attribute="detail", allow_none=True)
    resource = fields.String(allow_none=True)
    resourceId = fields.String(attribute="resource_id", allow_none=True)
    dossierCode = fields.String(attribute="dossier_code", allow_none=True)
    status = fields.Integer()


class AuditCountSchema(ma.Schema):
    count = fields.Integer()


@blp.route("/audit", methods=["GET"])
@requires("audit.read")
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.alt_response(400, schema=ErrorSchema, description="A filter or paging value is invalid (fieldErrors names it)")
def list_entries(args):
    """The trail, newest first; `maxResults` at most 1000. Reading it is itself recorded."""
    first, max_results = args.pop("first_result"), args.pop("max_results")
    audit.read("audit-log")
    with reading() as session:
        return trail.entries(session, first=first, max_results=max_results, **args)


@blp.route("/audit/count", methods=["GET"])
@requires("audit.read")
@blp.arguments(AuditFilter, location="query")
@blp.response(200, AuditCountSchema)
def count_entries(args):
    with reading() as session:
        return {"count": trail.count(session, **args)}
