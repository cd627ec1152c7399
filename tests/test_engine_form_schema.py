"""camunda:formKey="schema:<name>": the task is validated by the marshmallow schema forms/ registers."""
from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from engine.errors import DeploymentError, InvalidRequest
from engine.form_registry import FormRegistry
from engine.service import ProcessEngine
from tests.engine_helpers import fixture, open_task_ids, the_task

DIAGRAM = fixture("versioned_v1.bpmn").replace(b'id="engine_versioned"', b'id="engine_schema_form"').replace(
    b'camunda:candidateGroups="officers"', b'camunda:candidateGroups="officers" camunda:formKey="schema:officer-decision"')


class OfficerDecision(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "refuse", "supplement"]))
    note = fields.String(load_default="", validate=validate.Length(max=200))


@pytest.fixture
def schema_engine(database, handlers, clock):
    forms = FormRegistry()
    forms.register("officer-decision", OfficerDecision)
    return ProcessEngine(database, handlers=handlers, forms_registry=forms, clock=clock)


def test_the_registered_schema_validates_and_converts_the_submission(schema_engine):
    schema_engine.deploy({"schema_form.bpmn": DIAGRAM})
    instance_id = schema_engine.start_instance("engine_schema_form")
    task = the_task(schema_engine, instance_id, "Task_Review")
    assert task.form_key == "schema:officer-decision"

    with pytest.raises(InvalidRequest) as refused:
        schema_engine.complete_task(task.id, {"decision": "maybe", "note": "x" * 201})
    assert set(refused.value.field_errors) == {"decision", "note"}
    assert open_task_ids(schema_engine, instance_id) == ["Task_Review"]  # nothing changed

    variables = schema_engine.complete_task(task.id, {"decision": "approve"})
    assert variables["decision"] == "approve"
    assert variables["note"] == ""  # the schema's default was stored
    assert open_task_ids(schema_engine, instance_id) == []


def test_a_form_key_naming_no_registered_schema_is_refused_at_deploy(engine):
    with pytest.raises(DeploymentError) as refused:
        engine.deploy({"schema_form.bpmn": DIAGRAM})
    [problem] = refused.value.problems
    assert (problem.file, problem.element_id) == ("schema_form.bpmn", "Task_Review")
    assert "officer-decision" in problem.reason


class DatedDecision(Schema):
    decision = fields.String(required=True)
    decidedOn = fields.Date(required=True)  # loads as a datetime.date


def test_a_schema_that_loads_dates_completes_and_is_audited(database, handlers, clock):
    forms = FormRegistry()
    forms.register("officer-decision", DatedDecision)
    engine = ProcessEngine(database, handlers=handlers, forms_registry=forms, clock=clock)
    engine.deploy({"schema_form.bpmn": DIAGRAM})
    instance_id = engine.start_instance("engine_schema_form")

    variables = engine.complete_task(the_task(engine, instance_id, "Task_Review").id,
                                     {"decision": "approve", "decidedOn": "2026-11-23"})

    assert str(variables["decidedOn"]) == "2026-11-23"
    assert engine.instance_variables(instance_id)["decidedOn"] == "2026-11-23"
