"""Every error answers as Camunda's REST API does: `{"type": "<exception name>", "message": ...}`.

Engine errors carry their Camunda exception name as `kind`; the status follows the error's class.
Bad input (malformed JSON, a missing field, an unknown sortBy) arrives here as InvalidRequest,
raised by the argument parser in api/common.py, so it has the same shape as the engine's own.
"""
from __future__ import annotations

from collections import defaultdict

import marshmallow as ma
from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import (
    ConcurrentModification,
    DeploymentError,
    EngineError,
    ExpressionError,
    ExecutionError,
    Forbidden,
    InvalidRequest,
    MigrationRefused,
    NotFound,
)

_STATUS_BY_CLASS = (
    (DeploymentError, 400),
    (InvalidRequest, 400),
    (ExpressionError, 400),
    # The caller's data could not run through the diagram (e.g. a condition on a variable it did
    # not send); the command was rolled back and the message names the element.
    (ExecutionError, 400),
    (Forbidden, 403),
    (NotFound, 404),
    # TaskAlreadyClaimed among them: Camunda answers 500 for a claim race; a conflict is what it
    # is, so it is 409 here.
    (ConcurrentModification, 409),
)


class ErrorSchema(ma.Schema):
    """Documents the error body (the handlers below build it)."""

    type = ma.fields.String(metadata={"description": "Camunda exception name, e.g. InvalidRequestException"})
    message = ma.fields.String()
    fieldErrors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Per field (or variable) messages, when input was refused"},
    )
    details = ma.fields.Dict(metadata={"description": "Deployment errors per resource, as Camunda reports them"})
    problems = ma.fields.List(ma.fields.Dict(), metadata={"description": "Deployment errors: file, elementId, reason"})
    validationReport = ma.fields.Dict(metadata={"description": "Migration refused: Camunda's plan or instance validation report"})


def status_of(error: EngineError) -> int:
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 500


def body_of(error: EngineError) -> dict:
    body = {"type": error.kind, "message": str(error)}
    if getattr(error, "field_errors", None):
        body["fieldErrors"] = {name: _as_list(messages) for name, messages in error.field_errors.items()}
    if isinstance(error, MigrationRefused):
        body["validationReport"] = error.report
    if isinstance(error, DeploymentError):
        body["details"] = _camunda_details(error)
        body["problems"] = [
            {"file": p.file, "elementId": p.element_id, "reason": p.reason} for p in error.problems
        ]
    return body


def _as_list(messages) -> list:
    return list(messages) if isinstance(messages, (list, tuple)) else [messages]


def _camunda_details(error: DeploymentError) -> dict:
    """Camunda 7.13+'s ParseException body: errors per resource name."""
    by_file = defaultdict(lambda: {"errors": [], "warnings": []})
    for problem in error.problems:
        ids = [problem.element_id] if problem.element_id else []
        by_file[problem.file]["errors"].append(
            {"message": problem.reason, "mainElementId": problem.element_id, "elementIds": ids}
        )
    return dict(by_file)


def handle_engine_error(error: EngineError):
    status = status_of(error)
    if status >= 500:
        current_app.logger.error("engine error: %s", error, exc_info=error)
    return jsonify(body_of(error)), status


def handle_http_exception(error: HTTPException):
    """Routing and protocol errors (404 path, 405, 413) in the same shape."""
    headers = {}
    if getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    body = {"type": "RestException", "message": error.description or error.name}
    return jsonify(body), error.code or 500, headers


def handle_unexpected(error: Exception):
    # The log has the traceback; the caller gets no internals (SQL, paths) in the message.
    current_app.logger.exception("unexpected error")
    body = {"type": type(error).__name__, "message": "Internal server error; the server log has the details"}
    return jsonify(body), 500


def register(app: Flask) -> None:
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
