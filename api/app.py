"""The Flask application: the Camunda 7 compatible REST API under /engine-rest, the dossier API
under /api, with their OpenAPI document at /openapi.json and Swagger UI at /swagger-ui."""
from __future__ import annotations

import threading
from typing import Any, Mapping

import swagger_ui_bundle
from flask import Flask, redirect, send_from_directory, url_for
from flask_smorest import Api

import console
from identity import web as identity_web
from identity.permissions import PUBLIC, requires
from identity.settings import IdentitySettings

from . import audit as audit_api
from . import contract
from . import dossiers as dossiers_api
from . import cors, errors, input_limits, operations, portal
from . import drafts as drafts_api
from .common import EXTENSION, STOPPING
from .engine_rest import BLUEPRINTS
from .schemas import TypedValueSchema

URL_PREFIX = "/engine-rest"

DEFAULTS = {
    "API_TITLE": "lienthong",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/swagger-ui",
    # Served from the swagger-ui-bundle package, so the UI works without any network.
    "OPENAPI_SWAGGER_UI_URL": "/swagger-ui-assets/",
    # BPMN files are small; a bigger upload is a mistake or an attack (answered 413).
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
}


class _Api(Api):
    ERROR_SCHEMA = errors.ErrorSchema


def create_app(engine, config: Mapping[str, Any] | None = None, identity: IdentitySettings | None = None) -> Flask:
    """The API over one ProcessEngine; `config` overrides the defaults above; `identity` the
    identity settings read from the environment."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.json.sort_keys = False  # keep Camunda's property order
    app.json.ensure_ascii = False  # Vietnamese names stay readable
    app.extensions[EXTENSION] = engine
    app.extensions[STOPPING] = threading.Event()

    api = _Api(app, spec_kwargs={"marshmallow_plugin": contract.marshmallow_plugin()})
    api.spec.components.schema("TypedValue", schema=TypedValueSchema)
    contract.document(api.spec)
    errors.register(app)  # after Api(): replaces flask-smorest's own HTTPException handler
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=URL_PREFIX)
    api.register_blueprint(drafts_api.blp, url_prefix="/api")
    api.register_blueprint(dossiers_api.blp, url_prefix="/api")
    api.register_blueprint(audit_api.blp, url_prefix="/api")
    api.register_blueprint(portal.blp, url_prefix="/api")
    api.register_blueprint(operations.blp)
    operations.install(app, engine)
    installed = identity_web.install(app, engine, identity)
    input_limits.install(app)  # after the caller is known: an anonymous caller gets 401 first
    limiter = portal.install(app, installed.settings)
    console.install(app, engine, tracking_limits=lambda view: portal.limit_tracking(limiter, installed.settings, view))
    cors.install(app, cors.allowed_origins(app.config["CORS_ORIGINS"]) if "CORS_ORIGINS" in app.config else None)

    @app.get("/")
    @requires(PUBLIC)
    def index():
        return redirect(url_for("api-docs.openapi_swagger_ui"))

    @app.get("/swagger-ui/")
    @requires(PUBLIC)
    def swagger_ui_slash():
        return redirect(url_for("api-docs.openapi_swagger_ui"))

    @app.get("/swagger-ui-assets/<path:filename>")
    @requires(PUBLIC)
    def swagger_ui_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

    return app
