"""Cron timer cycles as Camunda 7 writes them (Quartz: seconds minutes hours day-of-month month
day-of-week), on a timer start event and a repeating non-interrupting boundary event, read in the
service's time zone (Vietnam, UTC+7) on the engine's clock; bad ones are refused at deploy in plain
words (it used to be "not valid ISO 8601")."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.constructs import API, chain, complete, deploy, deployed, diagram, tasks


def _timer_start(cycle: str) -> bytes:
    return diagram("cron_start", f"""
    <bpmn:startEvent id="Every">
      <bpmn:timerEventDefinition id="TD_1"><bpmn:timeCycle xsi:type="bpmn:tFormalExpression"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="Report" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Every", "Report", "Finish"))


REMINDER = diagram("cron_boundary", """
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Review" camunda:candidateGroups="ho-tich" />
    <bpmn:boundaryEvent id="Remind" attachedToRef="Review" cancelActivity="false">
      <bpmn:timerEventDefinition id="TD_2"><bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="SendReminder" camunda:type="external" camunda:topic="remind" />
    <bpmn:endEvent id="Reminded" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Review", "Finish") + chain("Remind", "SendReminder", "Reminded"))


def _due(client, activity: str) -> list[str]:
    return sorted(j["dueDate"] for j in client.get(f"{API}/job", query_string={"activityId": activity}).get_json())


def test_a_weekday_cron_start_event_starts_an_instance_at_8_in_vietnam(client, engine, clock):
    clock.set(datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc))  # Friday 10:00 in Hà Nội
    deployed(client, {"start.bpmn": _timer_start("0 0 8 ? * MON-FRI")})
    assert _due(client, "Every") == ["2026-12-07T01:00:00.000+0000"]  # Monday 08:00 +07:00
    clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc))
    engine.run_due_jobs()
    assert [t["taskDefinitionKey"] for t in client.get(f"{API}/task").get_json()] == ["Report"]
    assert _due(client, "Every") == ["2026-12-08T01:00:00.000+0000"]  # Tuesday


def test_quartz_numbers_for_the_day_of_week_count_from_sunday(client, clock):
    clock.set(datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc))  # Friday
    deployed(client, {"start.bpmn": _timer_start("0 30 7 ? * 2")})  # Quartz 2 = Monday
    assert _due(client, "Every") == ["2026-12-07T00:30:00.000+0000"]


def test_a_cron_boundary_cycle_repeats_every_five_minutes_while_the_task_waits(client, engine, clock, handlers):
    reminded = []
    handlers.register("remind", lambda task: reminded.append(clock.now()) or {})
    clock.set(datetime(2026, 12, 4, 3, 1, 30, tzinfo=timezone.utc))
    deployed(client, {"remind.bpmn": REMINDER})
    pi = client.post(f"{API}/process-definition/key/cron_boundary/start", json={}).get_json()["id"]
    assert _due(client, "Remind") == ["2026-12-04T03:05:00.000+0000"]
    clock.set(datetime(2026, 12, 4, 3, 5, tzinfo=timezone.utc))
    engine.run_due_jobs()
    assert _due(client, "Remind") == ["2026-12-04T03:10:00.000+0000"]
    clock.set(datetime(2026, 12, 4, 3, 10, tzinfo=timezone.utc))
    engine.run_due_jobs()
    assert len(reminded) == 2
    [review] = tasks(client, pi)
    complete(client, review["id"])
    assert _due(client, "Remind") == []


@pytest.mark.parametrize("cycle, words", [
    ("0 0/5 * * *", "six fields"),
    ("0 0 8 * * MON", "must be ?"),
    ("0 0 8 ? * FUNDAY", "not a valid cron expression"),
    ("0 0 0 30 2 ?", "never fires"),
    ("R3/PT0S", "repeats without time passing"),
])
def test_a_bad_cycle_is_refused_in_plain_words(client, cycle, words):
    answer = deploy(client, {"start.bpmn": _timer_start(cycle)})
    assert answer.status_code == 400
    [problem] = answer.get_json()["problems"]
    assert problem["elementId"] == "Every" and words in problem["reason"], problem
    assert "ISO 8601 (" not in problem["reason"]
