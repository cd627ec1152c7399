"""The web console: officers' inbox and task pages, the diagram viewer, supervisors' deadlines and
monthly report, operators' deployments, incidents and jobs, and the citizens' tracking page.

Server-rendered (Jinja2, htmx and a little plain JavaScript from console/static), Vietnamese by
default with gettext catalogues under console/translations. Every page calls the same queries and
engine commands the REST routes call, with the same identity.scope filters."""
from __future__ import annotations

from flask import Flask


def install(app: Flask, engine, tracking_limits=None) -> None:
    """Register the console's blueprint and its translations on the API's app; `tracking_limits`
    puts the API's tracking rate limits on the console's tracking page too."""
    from . import i18n
    from .views import bp

    i18n.install(app)
    app.register_blueprint(bp)
    if tracking_limits is not None:
        app.view_functions["console.track"] = tracking_limits(app.view_functions["console.track"])
