"""In-process service-task handlers: a registry keyed by the topic a diagram names (or by the Java
class or bean a Camunda 7 diagram names, engine/delegates.py).

    @handler("identity.check")
    def check_identity(task: TaskContext) -> dict:
        ...                      # read task.variables; return variables to merge
        raise BpmnError("IDENTITY_MISMATCH", "...")   # a business outcome the diagram catches

    @handler(java_class="org.example.CheckIdentityDelegate")   # camunda:class="org.example..."

Any other exception is a technical failure: in a job (camunda:asyncBefore) it is retried and
then becomes an incident; run inline, in the command that reached the task (the default), it
rolls that command back and its caller gets the error (engine/inline.py, InlineHandlers).
A topic that no handler serves is left to remote workers (the external-task API).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Callable, Mapping, Protocol

from sqlalchemy.orm import Session

from .clock import default_zone
from .delegates import bean_key, class_key
from .errors import EngineError


class BpmnError(EngineError):
    """A business error a handler or external worker raises; an error boundary event catches it."""

    def __init__(self, code: str, message: str | None = None, variables: dict | None = None):
        self.code = code
        self.message = message or code
        self.variables = variables or {}
        super().__init__(f"{code}: {self.message}")


class Sessions(Protocol):
    """Transactions on the engine's database (engine.db.Database): a handler's own tables."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reading(self) -> AbstractContextManager[Session]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class HandlerServices(Protocol):
    """What of the engine running a job its handler may use (ProcessEngine is one). In a job each
    call is its own transaction and the handler runs outside any; inline, every call joins the
    command's transaction (engine/inline.py, CommandServices)."""

    clock: Clock
    timezone: tzinfo
    db: Sessions

    def schedule_message(self, name: str, business_key: str, variables: dict | None = None, *,
                         delay: timedelta = ..., job_id: str | None = None) -> bool: ...

    def add_candidate_group(self, task_id: str, group_id: str, actor: str | None = None) -> bool: ...


@dataclass(frozen=True)
class TaskContext:
    """What a handler sees of the service task it serves, and what it may do beside returning
    variables: read the clock in the service's zone, open a transaction on its own tables,
    schedule a message, add a candidate group (like Camunda's DelegateExecution services)."""

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
    # camunda:resultVariable of a camunda:expression task: what the handler returns is that variable.
    result_variable: str | None = None
    # None only in unit tests of a handler that needs none of the methods below.
    services: HandlerServices | None = field(default=None, compare=False, repr=False)

    def _services(self) -> HandlerServices:
        if self.services is None:
            raise EngineError(f"{self.topic}: this task context has no engine services")
        return self.services

    def now(self) -> datetime:
        return self._services().clock.now()

    @property
    def timezone(self) -> tzinfo:
        """The service's zone (LIENTHONG_TIMEZONE); the default one for a context without services."""
        return self.services.timezone if self.services is not None else default_zone()

    def today(self) -> date:
        """The date now in the service's zone (LIENTHONG_TIMEZONE)."""
        return self.now().astimezone(self.timezone).date()

    @property
    def database(self) -> Sessions | None:
        """The database the task runs on, for handlers' own tables; None without services."""
        return self.services.db if self.services is not None else None

    def session(self) -> AbstractContextManager[Session]:
        return self._services().db.session()

    def reading(self) -> AbstractContextManager[Session]:
        return self._services().db.reading()

    def schedule_message(self, name: str, business_key: str, variables: dict | None = None, *,
                         delay: timedelta = timedelta(0), job_id: str | None = None) -> bool:
        return self._services().schedule_message(name, business_key, variables, delay=delay, job_id=job_id)

    def add_candidate_group(self, task_id: str, group_id: str, actor: str | None = None) -> bool:
        return self._services().add_candidate_group(task_id, group_id, actor=actor)


Handler = Callable[[TaskContext], "dict | None"]


def as_variables(result, context: TaskContext) -> dict | None:
    """The variables a handler's result sets: the dict it returns, or, for a camunda:expression
    task with camunda:resultVariable, whatever it returns as that one variable; None when a dict
    was due and something else came back."""
    if context.result_variable:
        return {context.result_variable: result}
    if result is None:
        return {}
    return result if isinstance(result, dict) else None


class HandlerRegistry:
    def __init__(self):
        self._handlers: dict[str, Handler] = {}

    def register(self, topic: str | None, function: Handler, *, java_class: str | None = None,
                 bean: str | None = None) -> Handler:
        """Serve a topic, and/or a Camunda 7 diagram's Java delegate: `java_class` for camunda:class,
        `bean` for camunda:delegateExpression="${bean}" and camunda:expression="${bean.method(...)}"."""
        keys = [k for k in (topic, java_class and class_key(java_class), bean and bean_key(bean)) if k]
        if not keys:
            raise ValueError("a handler needs a topic, a java_class or a bean")
        for key in keys:
            existing = self._handlers.get(key)
            if existing is not None and existing is not function:
                raise ValueError(f"'{key}' already has a handler: {existing.__module__}.{existing.__qualname__}")
        for key in keys:
            self._handlers[key] = function
        return function

    def handler(self, topic: str | None = None, *, java_class: str | None = None,
                bean: str | None = None) -> Callable[[Handler], Handler]:
        return lambda function: self.register(topic, function, java_class=java_class, bean=bean)

    def get(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    def __contains__(self, topic: str) -> bool:
        return topic in self._handlers


# The registry the service uses; handlers/ modules register into it with @handler.
registry = HandlerRegistry()
handler = registry.handler
