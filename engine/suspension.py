"""Holding running instances (Camunda's suspension): an operator suspends an instance while a
new version is checked, and activates it again.

A suspended instance runs nothing: its tasks cannot be claimed or completed, its jobs are not
claimed by workers, its external tasks are not fetched, no message correlates to it
(engine/runtime.py, jobs.py, external_tasks.py, correlation.py read the flag). It can still be
cancelled and migrated. The flag is copied to its task, job and external-task rows, so each of
those queries filters its own table. A suspended definition starts no instance (by key, message
or its timer-start job); with `include_instances` its running instances are held too.
"""
from __future__ import annotations

from sqlalchemy import select, update

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
        _flag_rows(session, [instance_id], suspended)
        if not suspended:
            queued(session)  # its due jobs wait for a worker again
        engine.record_operation(session, "Suspend" if suspended else "Activate", "ProcessInstance", actor,
                                instance_id=instance_id, suspended=suspended)


def set_definition_suspended(engine, definition_id: str, suspended: bool, include_instances: bool = False,
                             actor: str | None = None) -> None:
    with engine.command() as session:
        definition = session.get(m.ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"Process definition with id {definition_id} does not exist")
        definition.suspended = suspended
        session.execute(update(m.Job).where(m.Job.type == "timer-start", m.Job.definition_id == definition_id)
                        .values(suspended=suspended).execution_options(synchronize_session=False))
        if include_instances:
            table = m.ProcessInstance.__table__
            running = session.scalars(select(table.c.id).where(
                table.c.definition_id == definition_id, table.c.workflow.is_not(None), table.c.suspended != suspended)).all()
            for chunk in range(0, len(running), 500):
                ids = running[chunk:chunk + 500]
                session.execute(table.update().where(table.c.id.in_(ids))
                                .values(suspended=suspended, revision=table.c.revision + 1))
                _flag_rows(session, ids, suspended)
            for instance_id in running:
                engine.record_operation(session, "Suspend" if suspended else "Activate", "ProcessInstance", actor,
                                        instance_id=instance_id, suspended=suspended, processDefinitionId=definition_id)
        if not suspended:
            queued(session)
        engine.record_operation(session, "SuspendProcessDefinition" if suspended else "ActivateProcessDefinition",
                                "ProcessDefinition", actor, processDefinitionId=definition_id,
                                includeProcessInstances=include_instances)


def _flag_rows(session, instance_ids: list[str], suspended: bool) -> None:
    for model in (m.Task, m.Job, m.ExternalTask):
        session.execute(update(model).where(model.instance_id.in_(instance_ids)).values(suspended=suspended)
                        .execution_options(synchronize_session=False))
