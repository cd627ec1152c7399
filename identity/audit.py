"""The audit trail: every change, every refused call and every read of personal data, with who,
when, what and from where. Routes that answer personal data call `read(...)`; the rest is
recorded for every request by `record(...)` (identity.web calls it after each request)."""
from __future__ import annotations

import logging
import re

from flask import current_app, g, request

from .models import AuditEntry
from .permissions import PUBLIC, required

log = logging.getLogger("lienthong.audit")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_VIEW_ARG_IDS = ("code", "task_id", "instance_id", "job_id", "incident_id", "definition_id", "deployment_id", "key")


def read(resource: str, resource_id: str | None = None, dossier_code: str | None = None) -> None:
    """Notes that this request answers personal data (recorded once the answer is a success)."""
    g.setdefault("audit_reads", []).append((resource, resource_id, dossier_code))


def concerns(resource_id: str | None = None, dossier_code: str | None = None) -> None:
    """Names what this request changes when its URL does not: the dossier a filing created, the
    dossier (business key) whose task a task route works on. An auditor then finds the change by
    the dossier's code."""
    if resource_id is not None:
        g.audit_created = resource_id
    if dossier_code is not None:
        g.audit_dossier = dossier_code


def record(db, clock, principal, response) -> None:
    """Writes what this request did, in its own transaction (the answer is already decided)."""
    reads = g.get("audit_reads", [])
    status = response.status_code
    entries = []
    base = dict(
        at=clock.now(), actor=principal.id if principal else None, roles=sorted(principal.roles) if principal else [],
        agency_code=principal.agency if principal else None, remote_addr=request.remote_addr,
        method=request.method, endpoint=request.endpoint, status=status,
    )
    view_args = request.view_args or {}
    resource_id = next((str(view_args[k]) for k in _VIEW_ARG_IDS if k in view_args), None)
    dossier = view_args.get("code")
    if status in (401, 403):
        entries.append(AuditEntry(action="denied", resource=_resource(), resource_id=resource_id, dossier_code=dossier,
                                  detail=request.path[:1000], **base))
    elif request.endpoint in _LOGINS and status < 400:
        entries.append(AuditEntry(action="login", resource="session", resource_id=principal.id if principal else None,
                                  detail=request.path[:1000], **base))
    elif request.method not in _SAFE and status < 500 and request.endpoint and not _public(request.endpoint):
        entries.append(AuditEntry(action="change" if status < 400 else "refused", resource=_resource(),
                                  resource_id=resource_id or g.get("audit_created"), dossier_code=dossier or g.get("audit_dossier"),
                                  detail=request.path[:1000], **base))
    if status < 400:
        for resource, rid, code in reads:
            entries.append(AuditEntry(action="read", resource=resource, resource_id=rid, dossier_code=code,
                                      detail=request.path[:1000], **base))
    if not entries:
        return
    try:
        with db.session() as session:
            session.add_all(entries)
    except Exception:  # noqa: BLE001 - the trail must not turn a done change into an error; it is logged loudly
        log.exception("audit entry could not be written", extra={"endpoint": request.endpoint})


# Logging in is recorded as such; the other public posts (tracking with a code and its secret)
# change nothing and answer no personal data, and a flood of them must not be a flood of writes.
_LOGINS = frozenset({"auth.login", "auth.oidc_callback"})


def _public(endpoint: str) -> bool:
    return required(current_app.view_functions.get(endpoint)) == PUBLIC


def _resource() -> str | None:
    endpoint = request.endpoint or ""
    return endpoint.split(".", 1)[0] or None


def mask_id_numbers(text: str) -> str:
    """A personal ID number (12 digits) or an old ID card number (9 digits), kept to its last 4."""
    return _ID_NUMBER.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)


_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
