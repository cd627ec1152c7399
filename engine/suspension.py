"""Holding running instances (Camunda's suspension): an operator suspends an instance while a
new version is checked, and activates it again.

A suspended instance runs nothing: its tasks cannot be claimed or completed, its jobs are not
claimed by workers, its external tasks are not fetched, no message correlates to it
(engine/runtime.py, jobs.py, external_tasks.py, correlation.py read the flag). It can still be
cancelled and migrated. The flag is copied to its task, job and external-task rows, so each of
those queries filters its own table.
"""
from __future__ import annotations

from sqlalchemy import update

from . import models as m
from .errors import NotFound
from .wakeup import queued


def set_suspended(engine, instance_id: str, suspended: bool, actor: str | None = None) -> None:
    with engine.command() as session:
        row = session.get(m.ProcessInstance, instance_id)
        if row is None or row.workflow is None:
            raise NotFound(f"Process instance with id {instance_id} does not exist or has ended")
        if row.suspended == suspended:
            return
        row.suspended = suspended  # a new revision: a command that loaded the instance before loses (409)
        for model in (m.Task, m.Job, m.ExternalTask):
            session.execute(update(model).where(model.instance_id == instance_id).values(suspended=suspended)
                            .execution_options(synchronize_session=False))
        if not suspended:
            queued(session)  # its due jobs wait for a worker again
        engine.record_operation(session, "Suspend" if suspended else "Activate", "ProcessInstance", actor,
                                instance_id=instance_id, suspended=suspended)
