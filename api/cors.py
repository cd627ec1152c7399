"""Cross-origin calls to the Camunda REST API, for the browser-based modelers and tools an
operator names: `LIENTHONG_CORS_ORIGINS` (comma-separated origins such as
https://modeler.example.vn); none by default, so no browser page of another origin may call the
API. Never `*`, and never with credentials (cookies): a tool from an allowed origin sends its own
Authorization header, as Camunda Modeler does."""
from __future__ import annotations

import os

from flask_cors import CORS

ENVIRONMENT = "LIENTHONG_CORS_ORIGINS"


def allowed_origins(text: str | None) -> list[str]:
    origins = [o.strip().rstrip("/") for o in (text or "").split(",") if o.strip()]
    if "*" in origins:
        raise ValueError(f"{ENVIRONMENT} must list origins; '*' would let any web page call the API")
    return origins


def install(app, origins: list[str] | None = None) -> None:
    origins = allowed_origins(os.environ.get(ENVIRONMENT)) if origins is None else origins
    if not origins:
        return
    CORS(app, resources={r"/engine-rest/*": {"origins": origins}}, supports_credentials=False,
         allow_headers=["Authorization", "Content-Type", "Accept"], max_age=600)
