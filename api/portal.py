"""What the public portal calls without an account: the catalogue of receiving agencies (step 1
of filing) and tracking a dossier with its code and tracking secret.

Tracking is rate-limited with Flask-Limiter, per client address and per dossier code
(`LIENTHONG_TRACKING_RATE_LIMIT`, default "10 per minute; 30 per hour", each key), every try
counted, found or not. The counters live in memory by default: one process. With several API
processes, `LIENTHONG_RATE_LIMIT_STORAGE` names a shared store (e.g. `redis://cache:6379/0`,
with the `redis` package installed), or each process counts apart. Behind a reverse proxy, the
client address is what the WSGI server reports (configure the proxy to set it, e.g. ProxyFix)."""
from __future__ import annotations

import marshmallow as ma
from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from marshmallow import fields

from dossiers.agencies import catalogue
from dossiers.service import DossierService
from identity.permissions import PUBLIC, requires
from identity.settings import IdentitySettings

from .common import Blueprint, engine
from .dossiers import DossierSummarySchema, TimelineSchema
from .errors import ErrorSchema

blp = Blueprint("portal", __name__, description="Public portal: the agency catalogue, tracking with code and secret")
LIMIT_MESSAGE = "Tra cứu quá nhiều lần; vui lòng thử lại sau ít phút."


class AgencySchema(ma.Schema):
    code = fields.String(metadata={"description": "The agency code, first part of its dossiers' codes"})
    name = fields.String()
    province = fields.String()
    address = fields.String(metadata={"description": "Where its one-stop desk hands out results (empty: not given)"})
    hours = fields.String(metadata={"description": "The desk's opening hours (empty: not given)"})


@blp.route("/agencies", methods=["GET"])
@requires(PUBLIC)
@blp.response(200, AgencySchema(many=True))
def agencies():
    """The receiving agencies a dossier can be filed with (`agencyCode` at filing)."""
    return [agency.as_dict() for agency in catalogue().all()]


class TrackingQuerySchema(ma.Schema):
    code = fields.String(required=True, validate=ma.validate.Length(max=64),
                         metadata={"description": "The dossier code, e.g. H19.87.001-261130-0001"})
    secret = fields.String(required=True, validate=ma.validate.Length(max=64),
                           metadata={"description": "The tracking secret sent by SMS at receipt (case and dashes do not matter)"})


class TrackedPartSchema(ma.Schema):
    """A part as tracking shows it: PartSchema without its note and result (personal data)."""

    part = fields.String()
    name = fields.String()
    state = fields.String()
    stateLabel = fields.String()
    agency = fields.String(allow_none=True, metadata={"description": "Who handles it now (the diagram's lane)"})
    receivedAt = fields.String()
    dueAt = fields.String(allow_none=True)
    completedAt = fields.String(allow_none=True)
    overdue = fields.Boolean()


class TrackingSchema(DossierSummarySchema):
    """The dossier's summary, its parts without personal data, and the timeline."""

    agencyName = fields.String(allow_none=True)
    parts = fields.List(fields.Nested(TrackedPartSchema))
    timeline = fields.List(fields.Nested(TimelineSchema))


@blp.route("/tracking", methods=["POST"])
@requires(PUBLIC)
@blp.arguments(TrackingQuerySchema)
@blp.response(200, TrackingSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No dossier has this code and secret (the same answer for both)")
@blp.alt_response(429, schema=ErrorSchema, description="Too many tries from this address or for this code")
def track(query):
    """Where a dossier stands, for its code and tracking secret, without an account: state,
    agencies and dates per part, and the timeline. No personal data. A POST, so the secret
    never sits in a URL (and so in no access log)."""
    return DossierService(engine()).track(query["code"], query["secret"])


def _dossier_code() -> str:
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        code = request.form.get("code")  # the console's tracking page
    else:
        body = request.get_json(force=True, silent=True)  # as the route reads it: with or without the header
        code = body.get("code") if isinstance(body, dict) else None
    return "code:" + (code.strip().upper()[:64] if isinstance(code, str) else "")


# Every way to try a code and a secret; the console's page shares the API's counters.
TRACKING_ENDPOINTS = frozenset({"portal.track", "console.track"})


def _not_tracking() -> bool:
    return request.endpoint not in TRACKING_ENDPOINTS or request.method != "POST"


def install(app: Flask, settings: IdentitySettings | None = None) -> Limiter:
    """One limiter per app (its counters with it); the tracking limits on this blueprint."""
    settings = settings or IdentitySettings.from_env()
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage,
                      headers_enabled=True, key_prefix="lienthong")
    limit_tracking(limiter, settings, blp)
    return limiter


def limit_tracking(limiter: Limiter, settings: IdentitySettings, target):
    """The tracking limits, per client address and per dossier code, on a blueprint, or on a view
    (answers the limited view, which must be the one the app calls)."""
    for scope, key in (("tracking-address", get_remote_address), ("tracking-code", _dossier_code)):
        # Shared: the API's route and the console's page count against the same counters.
        limited = limiter.shared_limit(settings.tracking_limit, scope, key_func=key, error_message=LIMIT_MESSAGE,
                                       exempt_when=_not_tracking)(target)
        target = target if limited is None else limited
    return target
