"""In-process service-task handlers: a registry keyed by the topic a diagram names.

    @handler("identity.check")
    def check_identity(task: TaskContext) -> dict:
        ...                      # read task.variables; return variables to merge
        raise BpmnError("IDENTITY_MISMATCH", "...")   # a business outcome the diagram catches

Any other exception is a technical failure: the job is retried and then becomes an incident.
A topic that no handler serves is left to remote workers (the external-task API).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import EngineError


class BpmnError(EngineError):
    """A business error a handler or external worker raises; an error boundary event catches it."""

    def __init__(self, code: str, message: str | None = None, variables: dict | None = None):
        self.code = code
        self.message = message or code
        self.variables = variables or {}
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class TaskContext:
    """What a handler sees of the service task it serves."""

    topic: str
    variables: Mapping[str, Any]
    properties: Mapping[str, str]
    instance_id: str
    business_key: str | None
    activity_id: str
    definition_key: str
    # Stable across retries of the same job: receivers use it to recognise a redo.
    idempotency_key: str
    attempt: int = 1
    # The ProcessEngine running the job, for handlers that must act on the engine itself (like
    # Camunda's DelegateExecution.getProcessEngineServices()): schedule a message, add a candidate
    # group. Each engine call is its own transaction; the handler still runs outside any.
    engine: Any = field(default=None, compare=False, repr=False)


Handler = Callable[[TaskContext], "dict | None"]


class HandlerRegistry:
    def __init__(self):
        self._handlers: dict[str, Handler] = {}

    def register(self, topic: str, function: Handler) -> Handler:
        existing = self._handlers.get(topic)
        if existing is not None and existing is not function:
            raise ValueError(f"topic '{topic}' already has a handler: {existing.__module__}.{existing.__qualname__}")
        self._handlers[topic] = function
        return function

    def handler(self, topic: str) -> Callable[[Handler], Handler]:
        return lambda function: self.register(topic, function)

    def get(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    def __contains__(self, topic: str) -> bool:
        return topic in self._handlers


# The registry the service uses; handlers/ modules register into it with @handler.
registry = HandlerRegistry()
handler = registry.handler
