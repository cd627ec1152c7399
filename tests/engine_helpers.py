"""Small helpers shared by the tests/test_engine_*.py files: deploy fixtures, read rows back.

Every reader opens its own short session, so a test sees what the engine committed, nothing else.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree
from sqlalchemy import func, select

from engine import models as m

ENGINE_FIXTURES = Path(__file__).parent / "fixtures" / "engine"
BPMN_FIXTURES = Path(__file__).parent / "fixtures" / "bpmn"


def fixture(name: str) -> bytes:
    return (ENGINE_FIXTURES / name).read_bytes()


def deploy(engine, *names: str, name: str = "tests"):
    """Deploy fixture files of tests/fixtures/engine under their own file names."""
    return engine.deploy({n: fixture(n) for n in names}, name=name)


def definition_id(result, key: str) -> str:
    return next(d.id for d in result.definitions if d.key == key)


def rows(engine, model, *criteria, order_by=None) -> list:
    with engine.db.session() as session:
        query = select(model).where(*criteria)
        if order_by is not None:
            query = query.order_by(order_by)
        return list(session.scalars(query))


def count(engine, model, *criteria) -> int:
    with engine.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*criteria))


def instance(engine, instance_id: str) -> m.ProcessInstance:
    with engine.db.session() as session:
        return session.get(m.ProcessInstance, instance_id)


def open_tasks(engine, instance_id: str) -> list[m.Task]:
    return rows(engine, m.Task, m.Task.instance_id == instance_id, order_by=m.Task.activity_id)


def open_task_ids(engine, instance_id: str) -> list[str]:
    """The activity ids of the instance's open user tasks, sorted."""
    return sorted(t.activity_id for t in open_tasks(engine, instance_id))


def the_task(engine, instance_id: str, activity_id: str) -> m.Task:
    [task] = [t for t in open_tasks(engine, instance_id) if t.activity_id == activity_id]
    return task


def history(engine, instance_id: str) -> list[m.ActivityInstance]:
    return rows(engine, m.ActivityInstance, m.ActivityInstance.instance_id == instance_id,
                order_by=m.ActivityInstance.seq)


def activity(engine, instance_id: str, activity_id: str) -> m.ActivityInstance:
    """The one history row of an activity that ran once in the instance."""
    [row] = [a for a in history(engine, instance_id) if a.activity_id == activity_id]
    return row


def jobs(engine, instance_id: str, type: str | None = None) -> list[m.Job]:
    criteria = [m.Job.instance_id == instance_id] + ([m.Job.type == type] if type else [])
    return rows(engine, m.Job, *criteria, order_by=m.Job.created)


def incidents(engine, instance_id: str) -> list[m.Incident]:
    return rows(engine, m.Incident, m.Incident.instance_id == instance_id, order_by=m.Incident.created)


def subscriptions(engine, instance_id: str) -> list[m.EventSubscription]:
    return rows(engine, m.EventSubscription, m.EventSubscription.instance_id == instance_id,
                order_by=m.EventSubscription.activity_id)


def external_tasks(engine, instance_id: str) -> list[m.ExternalTask]:
    return rows(engine, m.ExternalTask, m.ExternalTask.instance_id == instance_id, order_by=m.ExternalTask.activity_id)


def user_operations(engine, instance_id: str) -> list[m.UserOperation]:
    return rows(engine, m.UserOperation, m.UserOperation.instance_id == instance_id, order_by=m.UserOperation.id)


def spiff_workflow(name: str, process: str):
    """A fixture's process as a bare SpiffWorkflow instance with the engine's parser and expression
    engine, for tests of what the engine does to SpiffWorkflow's own objects."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    from engine.bpmn.parser import EngineParser
    from engine.bpmn.script_engine import ExpressionScriptEngine
    from engine.clock import ManualClock

    parser = EngineParser()
    parser.add_bpmn_xml(etree.fromstring(fixture(name)), name)
    return BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process),
                        script_engine=ExpressionScriptEngine(ManualClock(), "Asia/Ho_Chi_Minh", None))
