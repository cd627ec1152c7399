"""Signals: Camunda's POST /signal, delivered to every instance waiting for it and starting the
processes whose start event it names."""
from __future__ import annotations

from marshmallow import fields, validate

from engine.errors import Forbidden
from identity.permissions import requires

from ..common import Blueprint, caller, engine, no_content
from ..schemas import Body, TypedVariables

blp = Blueprint("signal", __name__, description="Signals")


class SignalBody(Body):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    variables = TypedVariables()
    execution_id = fields.String(data_key="executionId", load_default=None, allow_none=True)
    tenant_id = fields.String(data_key="tenantId", load_default=None, allow_none=True)


@blp.route("/signal", methods=["POST"])
@requires("signal.throw")
@blp.arguments(SignalBody)
@blp.response(204)
def throw(body):
    """Throw a signal (typed variables go into every instance it reaches). A service account throws
    only the signals its account lists (as `signal:NAME` among its messages); operators any."""
    who = caller()
    if not who.may_signal(body["name"]):
        raise Forbidden(f"The user '{who.id}' may not throw the signal '{body['name']}'.")
    engine().throw_signal(body["name"], variables=body["variables"] or None, execution_id=body["execution_id"],
                          tenant_id=body["tenant_id"])
    return no_content()
