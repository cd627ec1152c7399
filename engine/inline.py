"""In-process handlers run inside the command that reaches their service task, as Camunda 7
runs a Java delegate without camunda:asyncBefore: what the handler writes commits with the step,
or not at all, and a failure rolls the command back to the last wait state (HandlerFailed)."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import timedelta
from types import MappingProxyType

from .bpmn.script_engine import variables_for
from .errors import EngineError
from .handler_registry import BpmnError, TaskContext, as_variables
from .jobs import HandlerFailed, throw_bpmn_error
from .redaction import hide_credentials
from .runtime import ASYNC_AFTER, Runtime, is_true

log = logging.getLogger("lienthong.jobs")


class InlineHandlers:
    """Runs an in-process handler inside the command that reaches its service task (the engine's
    RuntimeContext.run_inline). The handler's services share the command's transaction: what it
    writes commits with the step, or not at all."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, runtime: Runtime, task) -> None:
        engine = self.engine
        spec = task.task_spec
        topic = spec.extensions["topic"]
        row = runtime.row
        context = TaskContext(
            topic=topic, variables=MappingProxyType(variables_for(task)),
            properties=MappingProxyType(dict(spec.extensions.get("properties") or {})),
            instance_id=row.id, business_key=row.business_key, activity_id=spec.bpmn_id,
            definition_key=row.definition_key, idempotency_key=str(task.id), attempt=1,
            result_variable=spec.extensions.get("resultVariable") if spec.extensions.get("expression") else None,
            services=CommandServices(engine, runtime.session))
        started = time.perf_counter()
        try:
            returned = engine.handlers.get(topic)(context)
        except BpmnError as error:
            throw_bpmn_error(runtime, task, error)
            return
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure fails the command, named
            raise HandlerFailed(f"{spec.bpmn_id} ({topic}): {hide_credentials(str(exc))}") from exc
        result = as_variables(returned, context)
        if result is None:
            raise HandlerFailed(f"the handler of '{topic}' returned {type(returned).__name__}; it must return a dict of variables")
        log.debug("handler ran inline", extra={"instance": row.id, "activity": spec.bpmn_id, "topic": topic,
                                               "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        if is_true(spec.extensions.get("asyncAfter")):
            task.internal_data[ASYNC_AFTER] = result  # a job completes the task after this command commits
        else:
            runtime.run_task(task, result)


class _CommandSessions:
    """A handler's `session()` / `reading()` inside a command: the command's own session."""

    def __init__(self, session):
        self._session = session

    @contextmanager
    def session(self):
        yield self._session

    @contextmanager
    def reading(self):
        yield self._session


class CommandServices:
    """The HandlerServices of a handler run inside a command: the same as a job's, each in the
    command's transaction instead of one of its own."""

    def __init__(self, engine, session):
        self.engine = engine
        self.clock = engine.clock
        self.timezone = engine.timezone
        self.db = _CommandSessions(session)
        self._session = session

    def schedule_message(self, name: str, business_key: str, variables: dict | None = None, *,
                         delay: timedelta = timedelta(0), job_id: str | None = None) -> bool:
        return self.engine.messages.schedule_message_in(self._session, name, business_key, variables, delay=delay,
                                                        job_id=job_id)

    def add_candidate_group(self, task_id: str, group_id: str, actor: str | None = None) -> bool:
        return self.engine.add_candidate_group_in(self._session, task_id, group_id, actor)
