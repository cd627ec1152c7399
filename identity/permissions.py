"""What each route needs. Every view declares one permission with `@requires(...)`; a view that
declares none is refused to everyone (and fails tests/test_authorization_matrix.py).

The table below is the whole policy by role, in the spirit of Camunda 7's authorizations. What a
role may see *inside* a permission (its agency's dossiers, its groups' tasks, its own dossiers as
a citizen, its topics as a service account) is applied by the routes as query filters."""
from __future__ import annotations

from typing import Callable

PUBLIC = "public"  # no login: the OpenAPI document, the login pages, tracking with code and secret
AUTHENTICATED = "authenticated"  # any logged-in caller: the engine's version, who am I

_STAFF = ("officer", "supervisor", "analyst", "operator", "auditor")

GRANTS: dict[str, tuple[str, ...]] = {
    # models and decisions
    "definition.read": _STAFF,
    "deployment.create": ("analyst",),
    "deployment.delete": ("analyst",),
    "definition.suspend": ("operator",),  # no instance starts on it; its running ones may be held too
    "decision.evaluate": ("analyst", "officer", "supervisor"),
    # instances
    "instance.start": ("officer", "analyst"),
    "instance.read": ("officer", "supervisor", "operator"),
    "instance.variables": ("officer", "supervisor"),  # personal data: audited, agency-bound
    "instance.delete": ("operator",),
    "instance.suspend": ("operator",),  # hold running instances (while a new version is checked)
    "instance.migrate": ("operator",),  # move running instances to another version
    "instance.variables.update": ("operator",),  # repairs a stuck instance, as deleting one
    "history.read": ("officer", "supervisor", "operator", "auditor"),
    "audit.read": ("auditor",),
    # tasks (which ones: candidate groups or users, assignee; supervisors: all of their agency)
    "task.read": ("officer", "supervisor"),
    "task.work": ("officer", "supervisor"),
    "task.assign": ("supervisor",),
    "report.read": ("supervisor", "analyst"),  # the console's monthly report (counts, no personal data)
    # operations
    "incident.read": ("operator",),
    "metrics.read": ("operator",),  # Prometheus scrapes /metrics with an operator's credentials
    "job.read": ("operator",),
    "job.manage": ("operator",),
    "history.cleanup": ("operator",),  # removes history and erases personal data past their periods
    "external-task.read": ("operator", "service"),
    "external-task.work": ("service",),  # only the service account's topics
    "external-task.manage": ("operator",),
    "message.correlate": ("service",),  # only the service account's messages
    # any signal for operators (a signal reaches every instance); a service account only its own
    "signal.throw": ("service", "operator"),
    # dossiers (citizens: their own; officers and supervisors: their agency's)
    "dossier.file": ("citizen", "officer"),
    "dossier.list": ("citizen", "officer", "supervisor"),
    "dossier.read": ("citizen", "officer", "supervisor"),
    "dossier.update": ("citizen", "officer"),
    "dossier.draft": ("citizen", "officer"),  # a filing to review before confirming: the account's own drafts
    "dossier.prefill": ("citizen",),  # what the population register knows of the citizen logged in
    "dossier.results": ("citizen",),  # the electronic copies of the results: the owner citizen's
    "account.read": ("operator",),
}

_ATTRIBUTE = "required_permission"


def requires(permission: str) -> Callable:
    """Declares what a view needs. Put it under `@blp.route` (flask-smorest's decorators copy it up)."""
    if permission not in GRANTS and permission not in (PUBLIC, AUTHENTICATED):
        raise ValueError(f"Unknown permission {permission!r}")

    def mark(view):
        setattr(view, _ATTRIBUTE, permission)
        return view

    return mark


def required(view) -> str | None:
    return getattr(view, _ATTRIBUTE, None)


def allows(principal, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    if principal is None:
        return False
    if permission == AUTHENTICATED or principal.is_admin:
        return True
    return any(role in principal.roles for role in GRANTS.get(permission, ()))
