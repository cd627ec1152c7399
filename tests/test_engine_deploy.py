"""Deployment: what is refused (with file, element and reason, storing nothing) and versioning.

Runs on SQLite and PostgreSQL (the `engine` fixture). Fixtures: tests/fixtures/bpmn/invalid_*
(the Modeler-drawn refusals) and tests/fixtures/engine/ (focused diagrams, see its README).
"""
from __future__ import annotations

import time

import pytest

from engine import models as m
from engine.errors import DeploymentError, NotFound
from engine.service import ProcessEngine
from tests.engine_helpers import (
    BPMN_FIXTURES,
    ENGINE_FIXTURES,
    count,
    definition_id,
    deploy,
    external_tasks,
    fixture,
    instance,
    jobs,
    open_task_ids,
    the_task,
)

# file -> (element id the problem names, a fragment of the reason)
REFUSALS = {
    # tests/fixtures/bpmn: Modeler-drawn diagrams with one defect each
    "invalid_called_element.bpmn": ("Task_Call", "calledElement 'no_such_process' names no deployed process"),
    "invalid_condition.bpmn": ("Flow_Large", "${amount >>> 3}"),
    "invalid_decision_ref.bpmn": ("Task_Decide", "camunda:decisionRef 'no_such_decision' names no deployed decision"),
    "invalid_not_bpmn.bpmn": (None, "not a BPMN 2.0 file: the root element is <svg>"),
    "invalid_script_task.bpmn": ("Task_Script", "script tasks are not run by this engine"),
    "invalid_unknown_topic.bpmn": ("Task_JavaDelegate", "names Java code with no Python handler"),
    # tests/fixtures/engine
    "invalid_timer_literal.bpmn": ("Event_Wait", "timeDuration 'PT48X' is not valid ISO 8601"),
    "invalid_signal.bpmn": ("Event_Signal", "signal events are not supported"),
    "invalid_multi_instance.bpmn": ("Task_EachApplicant", "multi-instance needs loopCardinality or camunda:collection"),
    "invalid_not_xml.bpmn": (None, "not well-formed XML"),
    "invalid_billion_laughs.bpmn": (None, "DOCTYPE"),
    "invalid_external_entity.bpmn": (None, "DOCTYPE"),
    "invalid_unary_test.dmn": ("UnaryTests_Broken", "input entry '>> 5' does not compile"),
    "invalid_retry_cycle.bpmn": ("Task_Flaky", "failedJobRetryTimeCycle"),
}
INVALID_FILES = [
    pytest.param(path, id=path.name)
    for path in sorted(BPMN_FIXTURES.glob("invalid_*.bpmn")) + sorted(ENGINE_FIXTURES.glob("invalid_*"))
]


def nothing_stored(engine) -> None:
    for model in (m.Deployment, m.Resource, m.ProcessDefinition, m.DecisionDefinition, m.EventSubscription):
        assert count(engine, model) == 0, f"{model.__name__} rows were stored by a refused deployment"


def refusal(engine, files: dict[str, bytes]) -> DeploymentError:
    with pytest.raises(DeploymentError) as caught:
        engine.deploy(files, name="refused")
    nothing_stored(engine)
    return caught.value


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", INVALID_FILES)
def test_invalid_file_is_refused_naming_file_element_and_reason(engine, path):
    element_id, reason = REFUSALS[path.name]  # a new invalid_* fixture needs its expectation here

    error = refusal(engine, {path.name: path.read_bytes()})

    assert [(p.file, p.element_id) for p in error.problems] == [(path.name, element_id)]
    assert reason in error.problems[0].reason
    assert path.name in str(error)


def test_every_refused_file_of_a_deployment_is_reported_at_once(engine):
    names = ["invalid_signal.bpmn", "invalid_timer_literal.bpmn", "invalid_multi_instance.bpmn", "invalid_unary_test.dmn"]

    error = refusal(engine, {name: fixture(name) for name in names})

    assert sorted((p.file, p.element_id) for p in error.problems) == [
        ("invalid_multi_instance.bpmn", "Task_EachApplicant"),
        ("invalid_signal.bpmn", "Event_Signal"),
        ("invalid_timer_literal.bpmn", "Event_Wait"),
        ("invalid_unary_test.dmn", "UnaryTests_Broken"),
    ]


def test_a_valid_file_is_not_stored_when_another_file_of_its_deployment_is_refused(engine):
    error = refusal(engine, {"versioned.bpmn": fixture("versioned_v1.bpmn"), "invalid_signal.bpmn": fixture("invalid_signal.bpmn")})

    assert {p.file for p in error.problems} == {"invalid_signal.bpmn"}
    with pytest.raises(NotFound):
        engine.start_instance("engine_versioned")


def test_a_file_that_is_neither_bpmn_nor_dmn_is_refused(engine):
    error = refusal(engine, {"notes.txt": b"hello", "versioned.bpmn": fixture("versioned_v1.bpmn")})

    assert [(p.file, p.element_id) for p in error.problems] == [("notes.txt", None)]
    assert "not a BPMN (.bpmn) or DMN (.dmn) file" in error.problems[0].reason


def test_an_empty_deployment_is_refused(engine):
    error = refusal(engine, {})

    assert "no file was sent" in str(error)


@pytest.mark.parametrize("name", ["invalid_billion_laughs.bpmn", "invalid_external_entity.bpmn"])
def test_entity_tricks_are_refused_before_expansion(engine, name):
    started = time.perf_counter()
    error = refusal(engine, {name: fixture(name)})
    elapsed = time.perf_counter() - started

    [problem] = error.problems
    assert "DOCTYPE" in problem.reason
    assert "root:" not in str(error)  # nothing of /etc/passwd leaks into the answer
    assert elapsed < 5, f"refusing took {elapsed:.1f}s: the entities were expanded"


@pytest.mark.parametrize("name", ["invalid_billion_laughs.bpmn", "invalid_external_entity.bpmn"])
def test_entity_tricks_in_utf16_are_refused_too(engine, name):
    # The raw-bytes DOCTYPE check cannot see a UTF-16 file; the parser must still refuse it.
    text = fixture(name).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    started = time.perf_counter()
    error = refusal(engine, {name: text.encode("utf-16")})

    assert [p.file for p in error.problems] == [name]
    assert "root:" not in str(error)
    assert time.perf_counter() - started < 5


def test_a_second_process_starting_on_the_same_message_is_refused(engine):
    deploy(engine, "message_start.bpmn")

    with pytest.raises(DeploymentError) as refused:
        deploy(engine, "message_start_same_message.bpmn")

    assert "engine.apply" in str(refused.value)
    assert [p.file for p in refused.value.problems] == ["message_start_same_message.bpmn"]
    assert count(engine, m.ProcessDefinition) == 1


# --- service-task topics -----------------------------------------------------------------------


def test_a_topic_nobody_serves_is_refused(engine):
    error = refusal(engine, {"topic.bpmn": fixture("topic_unserved.bpmn")})

    [problem] = error.problems
    assert (problem.file, problem.element_id) == ("topic.bpmn", "Task_Notify")
    assert "no handler is registered for topic 'engine.notify'" in problem.reason
    assert "worker=external" in problem.reason


def test_a_topic_is_accepted_once_a_handler_is_registered_and_runs_in_process(engine, handlers):
    handlers.register("engine.notify", lambda task: {"notified": True})

    deploy(engine, "topic_unserved.bpmn")
    instance_id = engine.start_instance("engine_topic")

    [job] = jobs(engine, instance_id)
    assert (job.type, job.topic, job.activity_id) == ("service-task", "engine.notify", "Task_Notify")
    assert external_tasks(engine, instance_id) == []
    assert engine.run_due_jobs() == 1
    assert instance(engine, instance_id).state == "COMPLETED"


def test_a_topic_marked_worker_external_is_accepted_and_left_to_remote_workers(engine):
    deploy(engine, "topic_marked_external.bpmn")
    instance_id = engine.start_instance("engine_topic")

    [item] = external_tasks(engine, instance_id)
    assert (item.topic, item.activity_id) == ("engine.notify", "Task_Notify")
    assert jobs(engine, instance_id) == []


def test_a_topic_matching_the_engines_external_topics_is_accepted(engine, database, handlers, clock):
    remote = ProcessEngine(database, handlers=handlers, clock=clock, worker_id="w", external_topics=["engine.*"])

    remote.deploy({"topic.bpmn": fixture("topic_unserved.bpmn")})
    instance_id = remote.start_instance("engine_topic")

    assert [x.topic for x in external_tasks(remote, instance_id)] == ["engine.notify"]
    # A pattern that does not match serves nothing.
    other = ProcessEngine(database, handlers=handlers, clock=clock, worker_id="w", external_topics=["other.*"])
    with pytest.raises(DeploymentError, match="engine.notify"):
        other.deploy({"topic2.bpmn": fixture("topic_unserved.bpmn").replace(b'id="engine_topic"', b'id="engine_topic_2"')
                      .replace(b'bpmnElement="engine_topic"', b'bpmnElement="engine_topic_2"')})


# --- versioning --------------------------------------------------------------------------------


def test_an_identical_redeploy_is_unchanged_and_keeps_version_1(engine):
    first = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")}, name="first")
    again = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")}, name="first")

    assert first.unchanged is False
    assert again.unchanged is True
    assert again.id == first.id
    assert [(d.key, d.version, d.id) for d in again.definitions] == [("engine_versioned", 1, first.definitions[0].id)]
    assert count(engine, m.Deployment) == 1
    assert count(engine, m.ProcessDefinition) == 1


def test_an_identical_file_under_another_deployment_name_is_a_deployment_of_its_own_without_a_new_version(engine):
    # Camunda's duplicate filtering compares deployments of the same name only.
    first = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")}, name="first")
    other = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")}, name="other")

    assert (other.unchanged, other.name) == (True, "other")
    assert other.id != first.id
    assert [(d.key, d.version, d.id) for d in other.definitions] == [("engine_versioned", 1, first.definitions[0].id)]
    assert count(engine, m.Deployment) == 2
    assert count(engine, m.ProcessDefinition) == 1


def test_a_changed_file_becomes_version_2_and_running_instances_stay_on_version_1(engine):
    v1 = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")})
    old = engine.start_instance("engine_versioned", business_key="OLD")

    v2 = engine.deploy({"versioned.bpmn": fixture("versioned_v2.bpmn")})
    new = engine.start_instance("engine_versioned", business_key="NEW")

    assert v2.unchanged is False
    assert [(d.key, d.version) for d in v2.definitions] == [("engine_versioned", 2)]
    assert instance(engine, old).definition_id == definition_id(v1, "engine_versioned")
    assert instance(engine, new).definition_id == definition_id(v2, "engine_versioned")

    # v1 has no archive step: completing the review ends the old instance.
    engine.complete_task(the_task(engine, old, "Task_Review").id)
    assert instance(engine, old).state == "COMPLETED"
    # v2 goes on to the archive.
    engine.complete_task(the_task(engine, new, "Task_Review").id)
    assert open_task_ids(engine, new) == ["Task_Archive"]
    assert instance(engine, new).state == "ACTIVE"


def test_redeploying_the_old_content_after_v2_makes_version_3(engine):
    engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")})
    engine.deploy({"versioned.bpmn": fixture("versioned_v2.bpmn")})

    v3 = engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn")})

    assert (v3.unchanged, [d.version for d in v3.definitions]) == (False, [3])
    started = engine.start_instance("engine_versioned")
    engine.complete_task(the_task(engine, started, "Task_Review").id)
    assert instance(engine, started).state == "COMPLETED"  # the v1 shape again


def test_a_called_process_is_pinned_to_the_version_in_force_when_the_caller_started(engine):
    engine.deploy({"versioned.bpmn": fixture("versioned_v1.bpmn"), "caller.bpmn": fixture("call_versioned.bpmn")})
    before = engine.start_instance("engine_call_versioned")

    engine.deploy({"versioned.bpmn": fixture("versioned_v2.bpmn")})
    after = engine.start_instance("engine_call_versioned")

    # Both callers reach the call activity only now, after v2 of the called process exists.
    for caller in (before, after):
        engine.complete_task(the_task(engine, caller, "Task_Before").id)
        engine.complete_task(the_task(engine, caller, "Task_Review").id)
    assert instance(engine, before).state == "COMPLETED"  # v1: no archive step
    assert open_task_ids(engine, after) == ["Task_Archive"]


def test_a_changed_decision_applies_to_instances_started_after_it_only(engine):
    engine.deploy({"fee.dmn": fixture("fee_v1.dmn"), "caller.bpmn": fixture("decision_caller.bpmn")})
    before = engine.start_instance("engine_decision_caller", {"kind": "standard"})

    v2 = engine.deploy({"fee.dmn": fixture("fee_v2.dmn")})
    after = engine.start_instance("engine_decision_caller", {"kind": "standard"})

    assert [(d.key, d.version, d.kind) for d in v2.definitions] == [("engine_fee", 2, "decision")]
    # Both instances take the decision only now, after v2 exists.
    engine.complete_task(the_task(engine, before, "Task_Prepare").id)
    engine.complete_task(the_task(engine, after, "Task_Prepare").id)
    assert engine.instance_variables(before)["fee"] == 100
    assert engine.instance_variables(after)["fee"] == 200
    assert open_task_ids(engine, before) == open_task_ids(engine, after) == ["Task_Check"]


def test_an_unchanged_process_with_a_changed_decision_only_versions_the_decision(engine):
    engine.deploy({"fee.dmn": fixture("fee_v1.dmn"), "caller.bpmn": fixture("decision_caller.bpmn")})

    result = engine.deploy({"fee.dmn": fixture("fee_v2.dmn"), "caller.bpmn": fixture("decision_caller.bpmn")})

    assert result.unchanged is False
    assert [(d.key, d.version) for d in result.definitions] == [("engine_fee", 2)]
    assert count(engine, m.ProcessDefinition) == 1
    assert count(engine, m.DecisionDefinition) == 2


def test_a_process_with_a_long_key_deploys_and_runs(engine, database, request):
    # Camunda accepts keys up to 255 characters; its definition id falls back to a plain generated
    # id when "key:version:uuid" would not fit the 64-character id column.
    key = "engine_civil_registration_of_a_birth_abroad"

    result = deploy(engine, "long_process_key.bpmn")
    instance_id = engine.start_instance(key)

    assert [d.key for d in result.definitions] == [key]
    assert open_task_ids(engine, instance_id) == ["Task_Review"]
