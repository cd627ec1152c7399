"""What every route shares: the engine, the acting user, the argument parser, small answers."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, NoReturn

import flask_smorest
from flask import Response, current_app, jsonify, request
from sqlalchemy.orm import Session
from webargs import core
from webargs.flaskparser import FlaskParser

from engine.errors import InvalidRequest, NotFound
from engine.form_registry import flatten_errors
from engine.variables import to_typed_map
from identity import web as identity_web
from identity.principal import Principal

EXTENSION = "lienthong"
# Set when the service stops: long polls answer at once (lienthong.loopback, the servers' shutdown).
STOPPING = "lienthong.stopping"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def engine():
    return current_app.extensions[EXTENSION]


def reading() -> AbstractContextManager[Session]:
    """A session for one read query (the engine's commands open their own)."""
    return engine().db.reading()


def actor() -> str | None:
    """Who acts: the authenticated caller (identity.web has checked who it is)."""
    who = identity_web.current()
    return who.id if who else None


def caller() -> Principal:
    return identity_web.principal()


def found(row: Any, message: str) -> Any:
    if row is None:
        raise NotFound(message)
    return row


def no_content() -> Response:
    return Response(status=204)


def typed_variables(values: dict) -> Response:
    """A Camunda variables map (`{name: {value, type, valueInfo}}`) as the whole body."""
    return jsonify(to_typed_map(values))


def self_link(path: str) -> list[dict]:
    """Camunda's `links` entry pointing at the resource itself."""
    href = request.host_url.rstrip("/") + "/engine-rest" + path
    return [{"method": "GET", "href": href, "rel": "self"}]


class _Parser(FlaskParser):
    """webargs, answering bad input the way the engine answers a bad command (400, Camunda shape)."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        # Camunda clients do not all send `Content-Type: application/json`; a body that is not a
        # form is read as JSON, so a forgotten header cannot silently drop the variables.
        if req.mimetype in _FORM_TYPES:
            return core.missing
        return core.parse_json(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs) -> NoReturn:
        raise InvalidRequest(f"Malformed JSON body: {error}")

    def handle_error(self, error, req, schema, *, error_status_code, error_headers) -> NoReturn:
        field_errors = _flatten(error.messages)
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in field_errors.items())
        raise InvalidRequest(f"Invalid request: {summary}", field_errors)


_LOCATIONS = ("json", "query", "querystring", "form", "files", "view_args")


def _flatten(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location, then field; callers want `{"userId": [...]}`."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(flatten_errors(value if key in _LOCATIONS else {key: value}, root="body"))
        return flat
    return flatten_errors(messages, root="body")


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()
