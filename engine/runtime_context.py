"""What a Runtime is given by the engine that runs it, what it tells its observers, and the small
helpers the engine's modules share with it."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .resolution import SpecResolver
from .retries import RetryPolicy


@dataclass(frozen=True)
class RuntimeContext:
    """What a Runtime needs of the engine that runs it, passed in rather than called back for."""

    resolver: SpecResolver
    clock: Clock
    timezone: tzinfo
    handles: Callable[[str], bool]  # a topic served by an in-process handler (a job), else an external task
    retry_policy: RetryPolicy
    # Called inside every save, after the rows are written: observer(runtime, transitions).
    observers: list = field(default_factory=list)
    # Runs an in-process handler's service task inside the command that reached it (Camunda's
    # transaction boundary): run_inline(runtime, task). None: every handler's task is a job.
    run_inline: Callable | None = None
    # Delivers a signal an instance threw to the other instances and the processes it starts,
    # in the same transaction: throw_signal(session, name, throwing_instance_id, variables).
    throw_signal: Callable | None = None


@dataclass(frozen=True)
class ActivityTransition:
    """An activity that began and/or ended in the command being saved (what observers see)."""

    spec: object  # the task spec: bpmn_id, bpmn_name, extensions (properties...)
    task_id: str
    opened: bool
    closed: bool
    canceled: bool


# In a task's internal data: the handler's result of a camunda:asyncAfter service task, kept
# until the job that continues after it completes the task.
ASYNC_AFTER = "_asyncAfter"


def is_true(value) -> bool:
    return str(value or "").strip().lower() == "true"


def new_id() -> str:
    return str(uuid.uuid4())


class Clock(Protocol):
    def now(self) -> datetime: ...


def stored_variables(session: Session, instance_id: str) -> dict:
    """An instance's variables as of its last committed wait state (rows, no workflow loaded)."""
    rows = session.scalars(select(m.Variable).where(m.Variable.instance_id == instance_id))
    return {row.name: json.loads(row.value_json) for row in rows}
