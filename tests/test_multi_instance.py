"""Multi-instance activities through the REST API, with Camunda 7's semantics (docs: "Multiple
Instance"): one instance per element or per loopCardinality, parallel or sequential, the local
variables loopCounter / element variable / nrOf*, completionCondition cancelling the rest, and the
history rows (`X#multiInstanceBody` around the instances `X`)."""
from __future__ import annotations

import json

from tests.constructs import (
    activity_history,
    chain,
    complete,
    deploy,
    deployed,
    diagram,
    start,
    state,
    tasks,
    variables,
)

API = "/engine-rest"


def _user_mi(key: str, loop: str, due: str = "") -> bytes:
    return diagram(key, f"""
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Review" name="Xét duyệt" camunda:candidateGroups="ho-tich"{due}>
      {loop}
    </bpmn:userTask>
    <bpmn:userTask id="After" name="Sau" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    {chain("Begin", "Review", "After", "Finish")}""")


PARALLEL_COLLECTION = _user_mi("parallel_collection", """
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${children}" camunda:elementVariable="child" />""",
                               due=' camunda:dueDate="${child.due}"')

PARALLEL_CONDITION = _user_mi("parallel_condition", """
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="children" camunda:elementVariable="child">
        <bpmn:completionCondition>${nrOfCompletedInstances / nrOfInstances &gt;= 0.5}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>""")

SEQUENTIAL_CARDINALITY = _user_mi("sequential_cardinality", """
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>${rounds}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>""")

CHILDREN = [{"name": "An", "due": "2026-12-01T08:00:00+07:00"}, {"name": "Binh", "due": "2026-12-02T08:00:00+07:00"}]


def _task_locals(client, task_id: str) -> dict:
    answer = client.get(f"{API}/task/{task_id}/form-variables").get_json()
    return {name: json.loads(entry["value"]) if entry["type"] == "Json" else entry["value"] for name, entry in answer.items()}


def test_parallel_collection_opens_one_task_per_element_with_its_own_element(client):
    deployed(client, {"parallel.bpmn": PARALLEL_COLLECTION})
    pi = start(client, "parallel_collection", children=CHILDREN)
    open_tasks = sorted(tasks(client, pi), key=lambda t: t["due"])
    assert [t["taskDefinitionKey"] for t in open_tasks] == ["Review", "Review"]
    # each instance's due date read its own element variable
    assert [t["due"] for t in open_tasks] == ["2026-12-01T01:00:00.000+0000", "2026-12-02T01:00:00.000+0000"]
    seen = [_task_locals(client, t["id"]) for t in open_tasks]
    assert [s["child"] for s in seen] == CHILDREN
    assert sorted(s["loopCounter"] for s in seen) == [0, 1]
    assert all(s["nrOfInstances"] == 2 and s["nrOfActiveInstances"] == 2 and s["nrOfCompletedInstances"] == 0 for s in seen)

    complete(client, open_tasks[0]["id"], approvedAn=True)
    [left] = tasks(client, pi)
    assert left["taskDefinitionKey"] == "Review"
    after_one = _task_locals(client, left["id"])
    assert (after_one["nrOfActiveInstances"], after_one["nrOfCompletedInstances"]) == (1, 1)
    complete(client, left["id"], approvedBinh=True)
    [after] = tasks(client, pi)
    assert after["taskDefinitionKey"] == "After"
    # what the instances set reaches the process; their local variables do not
    values = variables(client, pi)
    assert values["approvedAn"] is True and values["approvedBinh"] is True
    assert not {"child", "loopCounter", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances"} & set(values)
    rows = activity_history(client, pi)
    assert [(r["activityId"], r["activityType"]) for r in rows if r["activityId"].startswith("Review")] == [
        ("Review#multiInstanceBody", "multiInstanceBody"), ("Review", "userTask"), ("Review", "userTask")]
    assert all(r["endTime"] and not r["canceled"] for r in rows if r["activityId"].startswith("Review"))
    user_rows = [r for r in rows if r["activityId"] == "Review"]
    assert {r["taskId"] for r in user_rows} == {t["id"] for t in open_tasks}


def test_completion_condition_cancels_the_remaining_instances(client):
    deployed(client, {"condition.bpmn": PARALLEL_CONDITION})
    pi = start(client, "parallel_condition", children=[{"name": "An"}, {"name": "Binh"}, {"name": "Chi"}, {"name": "Dung"}])
    open_tasks = tasks(client, pi)
    assert len(open_tasks) == 4
    complete(client, open_tasks[0]["id"])
    assert len(tasks(client, pi)) == 3  # 1/4 < 0.5
    complete(client, open_tasks[1]["id"])  # 2/4 >= 0.5: the other two are cancelled
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["After"]
    rows = [r for r in activity_history(client, pi) if r["activityId"] == "Review"]
    assert sorted(r["canceled"] for r in rows) == [False, False, True, True]
    assert all(r["endTime"] for r in rows)


def test_sequential_cardinality_runs_one_instance_after_the_other(client):
    deployed(client, {"sequential.bpmn": SEQUENTIAL_CARDINALITY})
    pi = start(client, "sequential_cardinality", rounds=3)
    for counter in range(3):
        [task] = tasks(client, pi)
        assert task["taskDefinitionKey"] == "Review"
        seen = _task_locals(client, task["id"])
        assert (seen["loopCounter"], seen["nrOfInstances"], seen["nrOfActiveInstances"],
                seen["nrOfCompletedInstances"]) == (counter, 3, 1, counter)
        complete(client, task["id"])
    [task] = tasks(client, pi)
    assert task["taskDefinitionKey"] == "After"
    rows = activity_history(client, pi)
    assert [r["activityId"] for r in rows].count("Review") == 3


def test_an_empty_collection_passes_straight_on(client):
    deployed(client, {"parallel.bpmn": PARALLEL_COLLECTION})
    pi = start(client, "parallel_collection", children=[])
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["After"]


SERVICE_MI = diagram("service_mi", """
    <bpmn:startEvent id="Begin" />
    <bpmn:serviceTask id="Issue" camunda:type="external" camunda:topic="ids.issue">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${names}" camunda:elementVariable="name" />
    </bpmn:serviceTask>
    <bpmn:serviceTask id="Card" camunda:type="external" camunda:topic="cards.issue">
      <bpmn:extensionElements><camunda:properties><camunda:property name="worker" value="external" /></camunda:properties></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${names}" camunda:elementVariable="name" />
    </bpmn:serviceTask>
    <bpmn:userTask id="Done" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Issue", "Card", "Done", "Finish"))


def test_service_tasks_run_once_per_element_in_process_and_by_remote_workers(client, handlers):
    calls = []

    def issue(task):
        calls.append((task.variables["name"], task.variables["loopCounter"], task.variables["nrOfCompletedInstances"]))
        return {"issued": [*task.variables.get("issued", []), task.variables["name"]]}

    handlers.register("ids.issue", issue)
    deployed(client, {"service.bpmn": SERVICE_MI})
    pi = start(client, "service_mi", names=["An", "Binh", "Chi"])
    assert calls == [("An", 0, 0), ("Binh", 1, 1), ("Chi", 2, 2)]
    assert variables(client, pi)["issued"] == ["An", "Binh", "Chi"]
    locked = client.post(f"{API}/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 10, "topics": [{"topicName": "cards.issue", "lockDuration": 60000}]}).get_json()
    assert sorted(t["variables"]["name"]["value"] for t in locked) == ["An", "Binh", "Chi"]
    assert sorted(t["variables"]["loopCounter"]["value"] for t in locked) == [0, 1, 2]
    for task in locked:
        answer = client.post(f"{API}/external-task/{task['id']}/complete", json={"workerId": "w1", "variables": {}})
        assert answer.status_code == 204, answer.get_data(as_text=True)
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["Done"]
    rows = activity_history(client, pi)
    assert [r["activityId"] for r in rows].count("Card") == 3 and [r["activityId"] for r in rows].count("Issue") == 3


SUBPROCESS_MI = diagram("subprocess_mi", """
    <bpmn:startEvent id="Begin" />
    <bpmn:subProcess id="PerChild">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${children}" camunda:elementVariable="child" />
      <bpmn:startEvent id="SubStart" />
      <bpmn:userTask id="Register" camunda:candidateGroups="ho-tich" camunda:dueDate="${child.due}" />
      <bpmn:endEvent id="SubEnd" />
      """ + chain("SubStart", "Register", "SubEnd") + """
    </bpmn:subProcess>
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "PerChild", "Finish"))

CALLED = diagram("called_child", """
    <bpmn:startEvent id="CStart" />
    <bpmn:userTask id="Card" camunda:candidateGroups="bhxh" camunda:dueDate="${child.due}" />
    <bpmn:endEvent id="CEnd" />
    """ + chain("CStart", "Card", "CEnd"))

CALLER_MI = diagram("caller_mi", """
    <bpmn:startEvent id="Begin" />
    <bpmn:callActivity id="CallCard" calledElement="called_child">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${children}" camunda:elementVariable="child" />
    </bpmn:callActivity>
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "CallCard", "Finish"))


def test_an_embedded_subprocess_runs_once_per_element(client):
    deployed(client, {"sub.bpmn": SUBPROCESS_MI})
    pi = start(client, "subprocess_mi", children=CHILDREN)
    open_tasks = sorted(tasks(client, pi), key=lambda t: t["due"])
    assert [t["due"] for t in open_tasks] == ["2026-12-01T01:00:00.000+0000", "2026-12-02T01:00:00.000+0000"]
    for task in open_tasks:
        complete(client, task["id"])
    assert state(client, pi) == "COMPLETED"
    ids = [r["activityId"] for r in activity_history(client, pi)]
    assert ids.count("PerChild#multiInstanceBody") == 1 and ids.count("PerChild") == 2 and ids.count("Register") == 2


def test_a_call_activity_is_called_once_per_element(client):
    deployed(client, {"called.bpmn": CALLED, "caller.bpmn": CALLER_MI})
    pi = start(client, "caller_mi", children=CHILDREN)
    open_tasks = client.get(f"{API}/task", query_string={"taskDefinitionKey": "Card"}).get_json()
    assert sorted(t["due"] for t in open_tasks) == ["2026-12-01T01:00:00.000+0000", "2026-12-02T01:00:00.000+0000"]
    for task in open_tasks:
        complete(client, task["id"])
    assert state(client, pi) == "COMPLETED"


def test_refusals_name_the_element_and_what_to_write(client):
    no_count = _user_mi("no_count", "<bpmn:multiInstanceLoopCharacteristics />")
    bad_expression = _user_mi("bad_expression", """
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${n +}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>""")
    problems = deploy(client, {"a.bpmn": no_count, "b.bpmn": bad_expression}).get_json()["problems"]
    assert {(p["file"], p["elementId"]) for p in problems} == {("a.bpmn", "Review"), ("b.bpmn", "Review")}
    assert any("loopCardinality or camunda:collection" in p["reason"] for p in problems)
    assert any("loopCardinality" in p["reason"] and "${n +}" in p["reason"] for p in problems), problems


BOUNDARIES = diagram("mi_boundaries", """
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Review" camunda:candidateGroups="ho-tich">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item" />
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Late" attachedToRef="Review">
      <bpmn:timerEventDefinition id="TD_Late"><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Escalated" camunda:candidateGroups="ho-tich" />
    <bpmn:serviceTask id="Check" camunda:type="external" camunda:topic="items.check">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item" />
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="Bad" attachedToRef="Check">
      <bpmn:errorEventDefinition id="ED_Bad" errorRef="Error_Bad" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Fix" camunda:candidateGroups="ho-tich" />
    <bpmn:userTask id="Ok" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Review", "Check", "Ok", "Finish") + chain("Late", "Escalated") + chain("Bad", "Fix"),
    '  <bpmn:error id="Error_Bad" errorCode="BAD_ITEM" />\n')


def _check_items(task):
    from engine.handler_registry import BpmnError

    if task.variables["item"] == "bad":
        raise BpmnError("BAD_ITEM", f"item {task.variables['loopCounter']} is bad")
    return {}


def test_an_interrupting_timer_on_the_body_cancels_every_instance(client, engine, clock, handlers):
    from datetime import timedelta

    handlers.register("items.check", _check_items)
    deployed(client, {"b.bpmn": BOUNDARIES})
    pi = start(client, "mi_boundaries", items=["a", "b"])
    assert len(tasks(client, pi)) == 2
    clock.advance(timedelta(hours=1))
    engine.run_due_jobs()
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["Escalated"]
    rows = [(r["activityId"], r["canceled"]) for r in activity_history(client, pi) if r["activityId"].startswith("Review")]
    assert rows == [("Review#multiInstanceBody", True), ("Review", True), ("Review", True)]


def test_a_bpmn_error_in_one_instance_is_caught_by_the_boundary_of_the_body(client, handlers):
    handlers.register("items.check", _check_items)
    deployed(client, {"b.bpmn": BOUNDARIES})
    pi = start(client, "mi_boundaries", items=["fine", "bad"])
    for task in tasks(client, pi):
        complete(client, task["id"])
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["Fix"]
    pi = start(client, "mi_boundaries", items=["fine", "good"])
    for task in tasks(client, pi):
        complete(client, task["id"])
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["Ok"]


ASYNC_INSTANCES = diagram("async_instances", """
    <bpmn:startEvent id="Begin" />
    <bpmn:serviceTask id="Issue" camunda:type="external" camunda:topic="ids.issue">
      <bpmn:multiInstanceLoopCharacteristics camunda:asyncBefore="true" camunda:collection="${names}" camunda:elementVariable="name" />
    </bpmn:serviceTask>
    <bpmn:userTask id="Done" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Issue", "Done", "Finish"))


def test_multi_instance_asynchronous_before_runs_each_instance_in_its_own_job(client, engine, handlers):
    calls = []
    handlers.register("ids.issue", lambda task: calls.append(task.variables["name"]) or {})
    deployed(client, {"async.bpmn": ASYNC_INSTANCES})
    pi = start(client, "async_instances", names=["An", "Binh"])
    assert calls == []  # nothing ran in the command that started the instance
    jobs = client.get(f"{API}/job", query_string={"processInstanceId": pi}).get_json()
    assert len(jobs) == 2
    engine.run_due_jobs()
    assert sorted(calls) == ["An", "Binh"]
    assert [t["taskDefinitionKey"] for t in tasks(client, pi)] == ["Done"]
