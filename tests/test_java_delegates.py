"""A Camunda 7 diagram naming Java delegates runs unchanged with Python handlers registered for its
class or bean names (engine/delegates.py); a name with no handler is refused at deploy."""
from __future__ import annotations

from tests.constructs import activity_history, chain, deploy, deployed, diagram, start, state, tasks, variables

DELEGATES = diagram("delegates", """
    <bpmn:startEvent id="Begin" />
    <bpmn:serviceTask id="CheckClass" name="Kiểm tra" camunda:class="org.example.CheckIdentityDelegate" />
    <bpmn:serviceTask id="CheckBean" camunda:delegateExpression="${checkIdentity}" />
    <bpmn:serviceTask id="Score" camunda:expression="${scoring.score(execution, age)}" camunda:resultVariable="score" />
    <bpmn:serviceTask id="Later" camunda:class="org.example.Archive" camunda:asyncBefore="true" />
    <bpmn:userTask id="Review" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "CheckClass", "CheckBean", "Score", "Later", "Review", "Finish"))


def test_java_class_bean_and_expression_run_their_python_handlers(client, handlers, engine):
    seen = []
    handlers.register(None, lambda task: seen.append(("class", task.activity_id)) or {"checked": True},
                      java_class="org.example.CheckIdentityDelegate")
    handlers.register(None, lambda task: seen.append(("bean", task.activity_id)) or {"beanRan": True}, bean="checkIdentity")
    handlers.register(None, lambda task: 100 - task.variables["age"], bean="scoring")
    handlers.register(None, lambda task: {"archived": task.variables["score"]}, java_class="org.example.Archive")
    deployed(client, {"delegates.bpmn": DELEGATES})
    pi = start(client, "delegates", age=30)
    assert seen == [("class", "CheckClass"), ("bean", "CheckBean")]
    values = variables(client, pi)
    assert values["checked"] is True and values["beanRan"] is True and values["score"] == 70
    assert "archived" not in values  # asyncBefore: a job, after the start committed
    assert engine.run_due_jobs() >= 1
    assert variables(client, pi)["archived"] == 70
    [review] = tasks(client, pi)
    assert review["taskDefinitionKey"] == "Review"
    rows = [(r["activityId"], r["activityType"]) for r in activity_history(client, pi)]
    assert rows[1:5] == [("CheckClass", "serviceTask"), ("CheckBean", "serviceTask"), ("Score", "serviceTask"),
                         ("Later", "serviceTask")]
    assert state(client, pi) == "ACTIVE"


def test_a_delegate_without_a_python_handler_is_refused_naming_it(client, handlers):
    handlers.register(None, lambda task: {}, bean="checkIdentity")
    answer = deploy(client, {"delegates.bpmn": DELEGATES})
    assert answer.status_code == 400
    problems = {p["elementId"]: p["reason"] for p in answer.get_json()["problems"]}
    assert set(problems) == {"CheckClass", "Score", "Later"}
    assert "org.example.CheckIdentityDelegate" in problems["CheckClass"]
    assert '@handler(java_class="org.example.CheckIdentityDelegate")' in problems["CheckClass"]
    assert '@handler(bean="scoring")' in problems["Score"]


def test_the_registry_refuses_a_second_handler_for_the_same_class(handlers):
    import pytest

    handlers.register("identity.check", lambda task: {}, java_class="org.example.Check")
    with pytest.raises(ValueError, match="class:org.example.Check"):
        handlers.register(None, lambda task: {}, java_class="org.example.Check")
