"""What the dossier service needs of an agency's software: take a hand-off, answer the result or refuse.

The gateway each agency uses is chosen in agencies/gateways.py: the HTTP adapter (agencies/http.py)
when the agency's URL is configured, else a local stand-in (agencies/local.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from engine.handler_registry import BpmnError, TaskContext

REFUSED = "AGENCY_REFUSED"


class AgencyUnavailable(Exception):
    """The agency could not answer (technical failure: the job is retried, then an incident)."""


@runtime_checkable
class AgencyGateway(Protocol):
    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        """Hand `request` over under `task.idempotency_key`; the result variables, or raise."""
        ...


def refusal_variable(part: str) -> str:
    """The variable carrying an agency's reason for refusing: "residence-deletion" -> residenceDeletionRefusalReason."""
    first, *rest = part.split("-")
    return first + "".join(word.capitalize() for word in rest) + "RefusalReason"


def refused(part: str, reason: str) -> BpmnError:
    return BpmnError(REFUSED, reason, {refusal_variable(part): reason})


def citizen_declaration(task: TaskContext) -> Mapping[str, Any]:
    """The process variable ``declaration``: the declaration the citizen filed."""
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError(f"{task.topic} needs the process variable 'declaration' (the citizen's declaration)")
    return declaration
