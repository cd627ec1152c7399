"""Errors the engine raises, each carrying what a caller needs to answer well.

The API maps them to HTTP statuses (see api/errors.py); nothing here knows about HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    kind = "ProcessEngineException"


@dataclass(frozen=True)
class Problem:
    """One reason a resource cannot be deployed: which file, which element, why."""

    file: str
    element_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" (element '{self.element_id}')" if self.element_id else "")
        return f"{where}: {self.reason}"


class DeploymentError(EngineError):
    """A deployment was refused; nothing of it was stored."""

    kind = "ParseException"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class ExpressionError(EngineError):
    """An expression does not parse (deploy time) or cannot be evaluated (run time)."""

    kind = "ExpressionEvaluationException"

    def __init__(self, message: str, expression: str | None = None):
        self.expression = expression
        super().__init__(message)


class ExecutionError(EngineError):
    """The diagram could not run on these data (a condition on a missing variable, a DMN with no
    unique answer...). The command is rolled back; the message names the element (HTTP 400)."""

    kind = "ProcessEngineException"


class NotFound(EngineError):
    kind = "RestException"


class Forbidden(EngineError):
    """The caller is known but may not do this (Camunda's AuthorizationException, HTTP 403)."""

    kind = "AuthorizationException"


class InvalidRequest(EngineError):
    """The caller asked for something that cannot be done as asked (HTTP 400)."""

    kind = "InvalidRequestException"

    def __init__(self, message: str, field_errors: dict | None = None):
        self.field_errors = field_errors or {}
        super().__init__(message)


class ConcurrentModification(EngineError):
    """Someone else changed the same instance first (HTTP 409)."""

    kind = "OptimisticLockingException"


class LostRace(ConcurrentModification):
    """Another command committed a change to the same rows first. Nothing was written; the
    command can simply be run again on the fresh state (ProcessEngine.retrying does)."""


class TaskAlreadyClaimed(ConcurrentModification):
    kind = "TaskAlreadyClaimedException"


class Suspended(InvalidRequest):
    """The instance is suspended by an operator: nothing of it runs until it is activated
    (Camunda's SuspendedEntityInteractionException, a bad user request: HTTP 400)."""

    kind = "SuspendedEntityInteractionException"


class MigrationRefused(InvalidRequest):
    """A migration plan, or an instance it is applied to, does not pass validation; nothing was
    migrated. `report` is Camunda's validation report (HTTP 400)."""

    def __init__(self, kind: str, message: str, report: dict):
        self.kind = kind
        self.report = report
        super().__init__(message)
