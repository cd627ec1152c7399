"""`now()` and `dateTime()` in due dates, timers and conditions, as Camunda 7's JUEL has them
(dateTime() is a Joda DateTime: plusDays/Hours/Minutes/Weeks/Months, minus..., toDate, toString), on
the engine's clock (a ManualClock here) and in the service's zone (Vietnam, UTC+7)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.constructs import API, chain, complete, deploy, deployed, diagram, start, tasks

DATES = diagram("dates", """
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Review" camunda:candidateGroups="ho-tich"
        camunda:dueDate="${dateTime().plusDays(2).toDate()}" camunda:followUpDate="${dateTime().plusHours(4)}" />
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:timerEventDefinition id="TD_1">
        <bpmn:timeDate>${dateTime().plusWeeks(1).plusMinutes(30).toDate()}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="InTime" default="F_Late" />
    <bpmn:userTask id="OnTime" camunda:candidateGroups="ho-tich" camunda:dueDate="${dateTime().plusMonths(1).toString()}" />
    <bpmn:userTask id="Late" camunda:candidateGroups="ho-tich" camunda:dueDate="${now()}" />
    <bpmn:endEvent id="Finish" />
    <bpmn:sequenceFlow id="F_OnTime" sourceRef="InTime" targetRef="OnTime">
      <bpmn:conditionExpression>${dateTime().plusDays(graceDays).toDate() &gt; now()}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_Late" sourceRef="InTime" targetRef="Late" />
    """ + chain("Begin", "Review", "Wait", "InTime") + chain("OnTime", "Finish"))


def _camunda(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _through_the_timer(client, engine, clock, grace: int) -> tuple[str, dict]:
    pi = start(client, "dates", graceDays=grace)
    [review] = tasks(client, pi)
    complete(client, review["id"])
    [job] = client.get(f"{API}/job", query_string={"processInstanceId": pi, "activityId": "Wait"}).get_json()
    assert job["dueDate"] == _camunda(clock.now() + timedelta(weeks=1, minutes=30))
    clock.advance(weeks=1, minutes=30)
    engine.run_due_jobs()
    [task] = tasks(client, pi)
    return pi, task


def test_due_dates_and_timers_read_the_engine_clock(client, engine, clock):
    clock.set(datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc))  # 10:00 in Hà Nội
    deployed(client, {"dates.bpmn": DATES})
    pi = start(client, "dates", graceDays=1)
    [review] = tasks(client, pi)
    assert review["due"] == "2026-12-06T03:00:00.000+0000"
    assert review["followUp"] == "2026-12-04T07:00:00.000+0000"
    clock.advance(hours=1)
    pi, on_time = _through_the_timer(client, engine, clock, 1)
    assert on_time["taskDefinitionKey"] == "OnTime"
    # dateTime().plusMonths(1).toString(): 2026-12-11T11:30:00.000+07:00 -> one month on, same wall clock
    assert on_time["due"] == "2027-01-11T04:30:00.000+0000"


def test_a_condition_with_now_takes_the_other_flow_when_false(client, engine, clock):
    deployed(client, {"dates.bpmn": DATES})
    pi, late = _through_the_timer(client, engine, clock, -1)
    assert late["taskDefinitionKey"] == "Late"
    assert late["due"] == _camunda(clock.now())


def test_only_dates_have_methods_and_only_now_and_datetime_are_functions(client):
    bad = DATES.replace(b"${now()}", b"${today()}").replace(b"plusMonths(1).toString()", b"plusFortnights(1)")
    answer = deploy(client, {"dates.bpmn": bad})
    assert answer.status_code == 400
    reasons = {p["elementId"]: p["reason"] for p in answer.get_json()["problems"]}
    assert "unknown function 'today()'" in reasons["Late"]
    assert "unknown method 'plusFortnights()'" in reasons["OnTime"]
