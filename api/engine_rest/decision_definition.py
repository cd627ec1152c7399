"""Decision definitions: evaluate a deployed DMN decision on variables (Camunda's evaluate)."""
from __future__ import annotations

from flask import jsonify

from engine.variables import to_typed_map

from identity.permissions import requires

from ..common import Blueprint, engine
from ..errors import ErrorSchema
from ..schemas import Body, TypedVariables

blp = Blueprint("decision-definition", __name__, description="Deployed DMN decisions")


class EvaluateBody(Body):
    variables = TypedVariables()


_RESULT_DOC = {"type": "array", "items": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/TypedValue"}},
               "description": "One entry per matched rule: output name -> typed value"}


def _answer(results: list[dict]):
    return jsonify([to_typed_map(entry) for entry in results])


@blp.route("/decision-definition/key/<key>/evaluate", methods=["POST"])
@requires("decision.evaluate")
@blp.arguments(EvaluateBody)
@blp.response(200, _RESULT_DOC)
@blp.alt_response(400, schema=ErrorSchema, description="The variables do not fit the decision")
@blp.alt_response(404, schema=ErrorSchema, description="No decision with this key is deployed")
def evaluate_by_key(body, key):
    """Evaluate the latest version of a decision (required decisions first), as a business-rule task would."""
    return _answer(engine().evaluate_decision(key, body["variables"]))


@blp.route("/decision-definition/<definition_id>/evaluate", methods=["POST"])
@requires("decision.evaluate")
@blp.arguments(EvaluateBody)
@blp.response(200, _RESULT_DOC)
@blp.alt_response(400, schema=ErrorSchema, description="The variables do not fit the decision")
@blp.alt_response(404, schema=ErrorSchema, description="No decision definition has this id")
def evaluate_by_id(body, definition_id):
    """Evaluate one version of a decision."""
    return _answer(engine().evaluate_decision(variables=body["variables"], definition_id=definition_id))
