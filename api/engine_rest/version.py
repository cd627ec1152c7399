"""What Camunda clients ask before anything else: which engines there are, which version."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from identity.permissions import requires

from ..common import Blueprint

blp = Blueprint("engine", __name__, description="Engine information")

# The Camunda 7 REST API version whose paths and JSON shapes this API follows.
CAMUNDA_VERSION = "7.22.0"


class EngineSchema(ma.Schema):
    name = fields.String()


class VersionSchema(ma.Schema):
    version = fields.String()


@blp.route("/engine", methods=["GET"])
@requires("authenticated")
@blp.response(200, EngineSchema(many=True))
def list_engines():
    return [{"name": "default"}]


@blp.route("/version", methods=["GET"])
@requires("authenticated")
@blp.response(200, VersionSchema)
def get_version():
    return {"version": CAMUNDA_VERSION}
