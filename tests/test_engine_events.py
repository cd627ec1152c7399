"""Event subprocesses, signals, escalations, conditional events, terminate and link events,
driven through the REST API as Camunda Modeler deploys them (POST /engine-rest/deployment/create),
asserting the path taken, the variables and the history rows Camunda writes."""
from __future__ import annotations

import io

API = "/engine-rest"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_{key}" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0">\n')


def diagram(key: str, body: str, extra: str = "") -> bytes:
    return (HEAD.format(key=key) + f'<bpmn:process id="{key}" isExecutable="true">\n{body}\n</bpmn:process>\n'
            + extra + "</bpmn:definitions>\n").encode()


def flows(*pairs: str) -> str:
    """'A>B' pairs as sequence flows F_A_B."""
    out = []
    for pair in pairs:
        source, target = pair.split(">")
        out.append(f'<bpmn:sequenceFlow id="F_{source}_{target}" sourceRef="{source}" targetRef="{target}" />')
    return "\n".join(out)


def deploy(client, **files: bytes):
    data = {name + ".bpmn": (io.BytesIO(content), name + ".bpmn") for name, content in files.items()}
    data["deployment-name"] = "events"
    response = client.post(f"{API}/deployment/create", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def start(client, key: str, business_key: str | None = None, **variables) -> str:
    body = {"variables": {k: {"value": v} for k, v in variables.items()}}
    if business_key:
        body["businessKey"] = business_key
    response = client.post(f"{API}/process-definition/key/{key}/start", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def tasks(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in client.get(f"{API}/task", query_string={"processInstanceId": instance_id}).get_json())


def complete(client, instance_id: str, activity_id: str, **variables) -> None:
    task = next(t for t in client.get(f"{API}/task", query_string={"processInstanceId": instance_id}).get_json()
                if t["taskDefinitionKey"] == activity_id)
    response = client.post(f"{API}/task/{task['id']}/complete",
                           json={"variables": {k: {"value": v} for k, v in variables.items()}})
    assert response.status_code == 204, response.get_json()


def state(client, instance_id: str) -> str:
    return client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"]


def history(client, instance_id: str) -> dict[str, tuple]:
    """activity id -> (type, ended, canceled) of its latest row."""
    rows = client.get(f"{API}/history/activity-instance",
                      query_string={"processInstanceId": instance_id, "sortBy": "startTime", "sortOrder": "asc"}).get_json()
    return {r["activityId"]: (r["activityType"], r["endTime"] is not None, r["canceled"]) for r in rows}


def variables(client, instance_id: str) -> dict:
    return {k: v["value"] for k, v in client.get(f"{API}/process-instance/{instance_id}/variables").get_json().items()}


def correlate(client, name: str, business_key: str | None = None, **variables):
    body = {"messageName": name, "processVariables": {k: {"value": v} for k, v in variables.items()}}
    if business_key:
        body["businessKey"] = business_key
    return client.post(f"{API}/message", json=body)


def signal(client, name: str, **body):
    return client.post(f"{API}/signal", json={"name": name, **body})


def user_task(task_id: str, name: str | None = None) -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name or task_id}" camunda:candidateGroups="staff" />'


# --- event subprocesses --------------------------------------------------------------------------

def event_subprocess(sub_id: str, start: str, inner: str, interrupting: bool = True) -> str:
    flag = '' if interrupting else ' isInterrupting="false"'
    return (f'<bpmn:subProcess id="{sub_id}" triggeredByEvent="true">'
            f'<bpmn:startEvent id="{sub_id}_Start"{flag}>{start}</bpmn:startEvent>'
            f'{user_task(sub_id + "_Task")}<bpmn:endEvent id="{sub_id}_End" />'
            + flows(f"{sub_id}_Start>{sub_id}_Task", f"{sub_id}_Task>{sub_id}_End") + inner + '</bpmn:subProcess>')


MESSAGE_ESP = diagram("esp_message", f"""
<bpmn:startEvent id="Begin" />{user_task("Work")}<bpmn:endEvent id="Finish" />
{flows("Begin>Work", "Work>Finish")}
{event_subprocess("Withdraw", '<bpmn:messageEventDefinition messageRef="Msg_W" />', "")}
""", '<bpmn:message id="Msg_W" name="case.withdrawn" />\n')


def test_interrupting_message_event_subprocess_cancels_the_scope_and_ends_with_it(client):
    deploy(client, esp_message=MESSAGE_ESP)
    pi = start(client, "esp_message", "K-1")
    assert tasks(client, pi) == ["Work"]

    assert correlate(client, "case.withdrawn", "K-1", reason="moved").status_code == 204

    assert tasks(client, pi) == ["Withdraw_Task"]
    assert variables(client, pi) == {"reason": "moved"}
    rows = history(client, pi)
    assert rows["Work"] == ("userTask", True, True)
    assert rows["Withdraw"] == ("subProcess", False, False)
    assert rows["Withdraw_Start"] == ("messageStartEvent", True, False)
    complete(client, pi, "Withdraw_Task")
    assert state(client, pi) == "COMPLETED"
    assert "Finish" not in history(client, pi)


def test_a_scope_ends_without_waiting_for_an_event_subprocess_that_never_fired(client):
    deploy(client, esp_message=MESSAGE_ESP)
    pi = start(client, "esp_message", "K-2")
    complete(client, pi, "Work")
    assert state(client, pi) == "COMPLETED"
    assert correlate(client, "case.withdrawn", "K-2").status_code == 400


NON_INTERRUPTING = diagram("esp_note", f"""
<bpmn:startEvent id="Begin" />{user_task("Work")}<bpmn:endEvent id="Finish" />
{flows("Begin>Work", "Work>Finish")}
{event_subprocess("Note", '<bpmn:messageEventDefinition messageRef="Msg_N" />', "", interrupting=False)}
""", '<bpmn:message id="Msg_N" name="case.note" />\n')


def test_non_interrupting_event_subprocess_runs_beside_the_scope_each_time(client):
    deploy(client, esp_note=NON_INTERRUPTING)
    pi = start(client, "esp_note", "K-3")
    correlate(client, "case.note", "K-3", n=1)
    correlate(client, "case.note", "K-3", n=2)
    assert tasks(client, pi) == ["Note_Task", "Note_Task", "Work"]
    complete(client, pi, "Work")
    assert state(client, pi) == "ACTIVE"  # the scope waits for the event subprocesses that started
    complete(client, pi, "Note_Task")
    complete(client, pi, "Note_Task")
    assert state(client, pi) == "COMPLETED"
    assert history(client, pi)["Work"] == ("userTask", True, False)


TIMER_ESP_IN_SUBPROCESS = diagram("esp_timer", f"""
<bpmn:startEvent id="Begin" />
<bpmn:subProcess id="Sub"><bpmn:startEvent id="SubStart" />{user_task("Work")}<bpmn:endEvent id="SubEnd" />
{flows("SubStart>Work", "Work>SubEnd")}
{event_subprocess("Late", '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H'
                  '</bpmn:timeDuration></bpmn:timerEventDefinition>', "")}
</bpmn:subProcess>
{user_task("After")}<bpmn:endEvent id="Finish" />
{flows("Begin>Sub", "Sub>After", "After>Finish")}
""")


def test_timer_event_subprocess_inside_an_embedded_subprocess_interrupts_only_that_scope(client, engine, clock):
    deploy(client, esp_timer=TIMER_ESP_IN_SUBPROCESS)
    pi = start(client, "esp_timer")
    timers = client.get(f"{API}/job", query_string={"processInstanceId": pi, "activityId": "Late_Start", "timers": True})
    assert len(timers.get_json()) == 1
    clock.advance(hours=2)
    engine.run_due_jobs()
    assert tasks(client, pi) == ["Late_Task"]
    assert history(client, pi)["Work"] == ("userTask", True, True)
    complete(client, pi, "Late_Task")
    assert tasks(client, pi) == ["After"]  # the subprocess ended normally; the process goes on
    assert history(client, pi)["Sub"] == ("subProcess", True, False)


ERROR_ESP = diagram("esp_error", f"""
<bpmn:startEvent id="Begin" />
<bpmn:subProcess id="Sub"><bpmn:startEvent id="SubStart" />
  <bpmn:exclusiveGateway id="Check" default="F_Check_SubEnd" />
  <bpmn:endEvent id="Fail"><bpmn:errorEventDefinition errorRef="Err_Bad" /></bpmn:endEvent>
  <bpmn:endEvent id="SubEnd" />
  {flows("SubStart>Check", "Check>SubEnd")}
  <bpmn:sequenceFlow id="F_Check_Fail" sourceRef="Check" targetRef="Fail">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{bad}}</bpmn:conditionExpression></bpmn:sequenceFlow>
  {event_subprocess("OnError", '<bpmn:errorEventDefinition errorRef="Err_Bad" camunda:errorCodeVariable="code" />', "")}
</bpmn:subProcess>
{user_task("After")}<bpmn:endEvent id="Finish" />
{flows("Begin>Sub", "Sub>After", "After>Finish")}
""", '<bpmn:error id="Err_Bad" name="Bad" errorCode="BAD" />\n')


def test_error_end_event_is_caught_by_the_error_event_subprocess_of_its_scope(client):
    deploy(client, esp_error=ERROR_ESP)
    pi = start(client, "esp_error", bad=True)
    assert tasks(client, pi) == ["OnError_Task"]
    rows = history(client, pi)
    assert rows["Fail"] == ("errorEndEvent", True, False)
    assert rows["OnError_Start"] == ("errorStartEvent", True, False)
    complete(client, pi, "OnError_Task")
    assert tasks(client, pi) == ["After"]

    fine = start(client, "esp_error", bad=False)
    assert tasks(client, fine) == ["After"]
    assert "OnError_Start" not in history(client, fine)  # as in Camunda: never started, no history row
    assert "OnError" not in history(client, fine)


# --- escalation ----------------------------------------------------------------------------------

def escalation_diagram(key: str, interrupting: bool, ref: str | None) -> bytes:
    """Sub throws escalation LATE (intermediate), then waits at Inner; a boundary on Sub catches `ref`."""
    cancel = "" if interrupting else ' cancelActivity="false"'
    definition = f'<bpmn:escalationEventDefinition escalationRef="{ref}" />' if ref else "<bpmn:escalationEventDefinition />"
    return diagram(key, f"""
<bpmn:startEvent id="Begin" />
<bpmn:subProcess id="Sub"><bpmn:startEvent id="SubStart" />
  <bpmn:intermediateThrowEvent id="Raise"><bpmn:escalationEventDefinition escalationRef="Esc_Late" /></bpmn:intermediateThrowEvent>
  {user_task("Inner")}<bpmn:endEvent id="SubEnd" />{flows("SubStart>Raise", "Raise>Inner", "Inner>SubEnd")}
</bpmn:subProcess>
<bpmn:boundaryEvent id="Caught" attachedToRef="Sub"{cancel}>{definition}</bpmn:boundaryEvent>
{user_task("Handle")}{user_task("After")}<bpmn:endEvent id="Finish" /><bpmn:endEvent id="HandledEnd" />
{flows("Begin>Sub", "Sub>After", "After>Finish", "Caught>Handle", "Handle>HandledEnd")}
""", '<bpmn:escalation id="Esc_Late" name="Late" escalationCode="LATE" />\n'
     '<bpmn:escalation id="Esc_Other" name="Other" escalationCode="OTHER" />\n')


def test_non_interrupting_escalation_boundary_lets_the_subprocess_go_on(client):
    deploy(client, esc=escalation_diagram("esc", False, "Esc_Late"))
    pi = start(client, "esc")
    assert tasks(client, pi) == ["Handle", "Inner"]
    rows = history(client, pi)
    assert rows["Raise"] == ("intermediateEscalationThrow", True, False)
    assert rows["Caught"] == ("boundaryEscalation", True, False)
    complete(client, pi, "Inner")
    assert tasks(client, pi) == ["After", "Handle"]


def test_interrupting_escalation_boundary_without_code_catches_every_escalation(client):
    deploy(client, esc_all=escalation_diagram("esc_all", True, None))
    pi = start(client, "esc_all")
    assert tasks(client, pi) == ["Handle"]
    assert history(client, pi)["Caught"] == ("boundaryEscalation", True, False)
    assert state(client, pi) == "ACTIVE"


def test_escalation_of_another_code_is_not_caught_and_the_path_goes_on(client):
    deploy(client, esc_other=escalation_diagram("esc_other", True, "Esc_Other"))
    pi = start(client, "esc_other")
    assert tasks(client, pi) == ["Inner"]


def test_escalation_end_event_in_a_called_process_reaches_the_call_activity_boundary(client):
    called = diagram("esc_called", f"""
<bpmn:startEvent id="CalledStart" /><bpmn:endEvent id="Raise"><bpmn:escalationEventDefinition escalationRef="Esc_Late" /></bpmn:endEvent>
{flows("CalledStart>Raise")}""", '<bpmn:escalation id="Esc_Late" name="Late" escalationCode="LATE" />\n')
    caller = diagram("esc_caller", f"""
<bpmn:startEvent id="Begin" /><bpmn:callActivity id="Call" calledElement="esc_called" />
<bpmn:boundaryEvent id="Caught" attachedToRef="Call" cancelActivity="false">
  <bpmn:escalationEventDefinition escalationRef="Esc_Late" /></bpmn:boundaryEvent>
{user_task("Handle")}{user_task("After")}<bpmn:endEvent id="Finish" /><bpmn:endEvent id="HandledEnd" />
{flows("Begin>Call", "Call>After", "After>Finish", "Caught>Handle", "Handle>HandledEnd")}
""", '<bpmn:escalation id="Esc_Late" name="Late" escalationCode="LATE" />\n')
    deploy(client, esc_called=called, esc_caller=caller)
    pi = start(client, "esc_caller")
    assert tasks(client, pi) == ["After", "Handle"]


ESCALATION_ESP = diagram("esc_esp", f"""
<bpmn:startEvent id="Begin" />
<bpmn:intermediateThrowEvent id="Raise"><bpmn:escalationEventDefinition escalationRef="Esc_Late" /></bpmn:intermediateThrowEvent>
{user_task("Work")}<bpmn:endEvent id="Finish" />
{flows("Begin>Raise", "Raise>Work", "Work>Finish")}
{event_subprocess("Notify", '<bpmn:escalationEventDefinition escalationRef="Esc_Late" />', "", interrupting=False)}
""", '<bpmn:escalation id="Esc_Late" name="Late" escalationCode="LATE" />\n')


def test_escalation_event_subprocess_non_interrupting(client):
    deploy(client, esc_esp=ESCALATION_ESP)
    pi = start(client, "esc_esp")
    assert tasks(client, pi) == ["Notify_Task", "Work"]
    assert history(client, pi)["Notify_Start"] == ("escalationStartEvent", True, False)
    rows = client.get(f"{API}/history/activity-instance", query_string={"processInstanceId": pi, "activityId": "Notify"})
    assert [r["endTime"] for r in rows.get_json()] == [None]  # the one that started; the next waits unrecorded


# --- signals -------------------------------------------------------------------------------------

SIGNAL_CATCH = diagram("sig_catch", f"""
<bpmn:startEvent id="Begin" /><bpmn:intermediateCatchEvent id="Wait"><bpmn:signalEventDefinition signalRef="Sig_Law" /></bpmn:intermediateCatchEvent>
{user_task("After")}<bpmn:endEvent id="Finish" />
{flows("Begin>Wait", "Wait>After", "After>Finish")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" />\n')

SIGNAL_BOUNDARY = diagram("sig_boundary", f"""
<bpmn:startEvent id="Begin" />{user_task("Work")}
<bpmn:boundaryEvent id="Note" attachedToRef="Work" cancelActivity="false"><bpmn:signalEventDefinition signalRef="Sig_Law" /></bpmn:boundaryEvent>
<bpmn:boundaryEvent id="Stop" attachedToRef="Work"><bpmn:signalEventDefinition signalRef="Sig_Halt" /></bpmn:boundaryEvent>
{user_task("Review")}{user_task("Halted")}<bpmn:endEvent id="Finish" /><bpmn:endEvent id="E2" /><bpmn:endEvent id="E3" />
{flows("Begin>Work", "Work>Finish", "Note>Review", "Review>E2", "Stop>Halted", "Halted>E3")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" /><bpmn:signal id="Sig_Halt" name="all.halt" />\n')

SIGNAL_START = diagram("sig_start", f"""
<bpmn:startEvent id="SigStart"><bpmn:signalEventDefinition signalRef="Sig_Law" /></bpmn:startEvent>
{user_task("Recheck")}<bpmn:endEvent id="Finish" />
{flows("SigStart>Recheck", "Recheck>Finish")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" />\n')

SIGNAL_THROW = diagram("sig_throw", f"""
<bpmn:startEvent id="Begin" />{user_task("Decide")}
<bpmn:intermediateThrowEvent id="Announce"><bpmn:signalEventDefinition signalRef="Sig_Law" /></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="Finish"><bpmn:signalEventDefinition signalRef="Sig_Done" /></bpmn:endEvent>
{flows("Begin>Decide", "Decide>Announce", "Announce>Finish")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" /><bpmn:signal id="Sig_Done" name="all.halt" />\n')


def test_rest_signal_reaches_every_waiting_instance_and_starts_signal_start_processes(client):
    deploy(client, sig_catch=SIGNAL_CATCH, sig_boundary=SIGNAL_BOUNDARY, sig_start=SIGNAL_START)
    first, second = start(client, "sig_catch"), start(client, "sig_catch")
    guarded = start(client, "sig_boundary")

    response = signal(client, "law.changed", variables={"decree": {"value": "100/2026"}})

    assert response.status_code == 204, response.get_json()
    assert tasks(client, first) == tasks(client, second) == ["After"]
    assert variables(client, first) == {"decree": "100/2026"}
    assert tasks(client, guarded) == ["Review", "Work"]  # non-interrupting: the work goes on
    assert history(client, first)["Wait"] == ("intermediateSignalCatch", True, False)
    assert history(client, guarded)["Note"] == ("boundarySignal", True, False)
    started = client.get(f"{API}/process-instance", query_string={"processDefinitionKey": "sig_start"}).get_json()
    assert len(started) == 1
    assert tasks(client, started[0]["id"]) == ["Recheck"]
    assert history(client, started[0]["id"])["SigStart"] == ("signalStartEvent", True, False)

    # Interrupting boundary; executionId narrows the signal to one instance.
    other = start(client, "sig_boundary")
    assert signal(client, "all.halt", executionId=guarded).status_code == 204
    assert tasks(client, guarded) == ["Halted", "Review"]
    assert history(client, guarded)["Work"] == ("userTask", True, True)
    assert tasks(client, other) == ["Work"]
    refused = signal(client, "all.halt", executionId=guarded)
    assert refused.status_code == 400


def test_signal_thrown_by_an_instance_reaches_the_others(client):
    deploy(client, sig_catch=SIGNAL_CATCH, sig_throw=SIGNAL_THROW, sig_boundary=SIGNAL_BOUNDARY)
    waiting = start(client, "sig_catch")
    halted = start(client, "sig_boundary")
    thrower = start(client, "sig_throw", secret="not passed on")
    complete(client, thrower, "Decide")
    assert state(client, thrower) == "COMPLETED"
    assert history(client, thrower)["Announce"] == ("intermediateSignalThrow", True, False)
    assert tasks(client, waiting) == ["After"]
    assert variables(client, waiting) == {}  # Camunda passes no variables with a thrown signal
    assert tasks(client, halted) == ["Halted", "Review"]  # law.changed, then the end event's all.halt
    assert history(client, thrower)["Finish"] == ("signalEndEvent", True, False)


def test_signal_permission_operators_and_listed_service_accounts(client, app, engine):
    from tests.auth import as_user

    deploy(client, sig_catch=SIGNAL_CATCH)
    pi = start(client, "sig_catch")
    officer = as_user(client, "officer-sig", roles=("officer",))
    service = as_user(client, "svc-sig", roles=("service",), messages=("signal:law.changed",))
    operator = as_user(client, "operator-sig", roles=("operator",))
    assert client.post(f"{API}/signal", json={"name": "law.changed"}, headers=officer).status_code == 403
    assert client.post(f"{API}/signal", json={"name": "other"}, headers=service).status_code == 403
    assert client.post(f"{API}/signal", json={"name": "law.changed"}, headers=service).status_code == 204
    assert tasks(client, pi) == ["After"]
    assert client.post(f"{API}/signal", json={"name": "anything"}, headers=operator).status_code == 204
    assert client.post(f"{API}/signal", json={}, headers=operator).status_code == 400


# --- conditional events --------------------------------------------------------------------------

def condition(text: str) -> str:
    return (f'<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">{text}'
            '</bpmn:condition></bpmn:conditionalEventDefinition>')


CONDITIONAL = diagram("cond", f"""
<bpmn:startEvent id="Begin" /><bpmn:parallelGateway id="Fork" />
{user_task("Fill")}<bpmn:endEvent id="FillEnd" />
<bpmn:intermediateCatchEvent id="WhenPaid">{condition("${paid == true}")}</bpmn:intermediateCatchEvent>
{user_task("Issue")}<bpmn:endEvent id="Finish" />
{user_task("Review")}
<bpmn:boundaryEvent id="TooBig" attachedToRef="Review">{condition("${amount &gt; 1000}")}</bpmn:boundaryEvent>
{user_task("Supervise")}<bpmn:endEvent id="E2" /><bpmn:endEvent id="E3" />
{flows("Begin>Fork", "Fork>Fill", "Fill>FillEnd", "Fork>WhenPaid", "WhenPaid>Issue", "Issue>Finish",
       "Fork>Review", "Review>E2", "TooBig>Supervise", "Supervise>E3")}
{event_subprocess("Urgent", condition("${urgent == true}"), "", interrupting=False)}
""")


def test_conditional_events_fire_when_variables_change(client):
    deploy(client, cond=CONDITIONAL)
    pi = start(client, "cond", paid=False, amount=10, urgent=False)
    assert tasks(client, pi) == ["Fill", "Review"]
    assert history(client, pi)["WhenPaid"] == ("intermediateConditional", False, False)

    complete(client, pi, "Fill", paid=True, amount=5000, urgent=True)

    assert tasks(client, pi) == ["Issue", "Supervise", "Urgent_Task"]
    rows = history(client, pi)
    assert rows["WhenPaid"] == ("intermediateConditional", True, False)
    assert rows["TooBig"] == ("boundaryConditional", True, False)
    assert rows["Review"] == ("userTask", True, True)
    assert rows["Urgent_Start"] == ("conditionalStartEvent", True, False)


def test_a_condition_already_true_fires_on_entry(client):
    deploy(client, cond=CONDITIONAL)
    pi = start(client, "cond", paid=True, amount=10, urgent=False)
    assert tasks(client, pi) == ["Fill", "Issue", "Review"]


# --- terminate and link --------------------------------------------------------------------------

TERMINATE = diagram("term", f"""
<bpmn:startEvent id="Begin" />
<bpmn:subProcess id="Sub"><bpmn:startEvent id="SubStart" /><bpmn:parallelGateway id="SubFork" />
  {user_task("Slow")}<bpmn:endEvent id="SubStop"><bpmn:terminateEventDefinition /></bpmn:endEvent>
  {user_task("Quick")}<bpmn:endEvent id="SlowEnd" />
  {flows("SubStart>SubFork", "SubFork>Slow", "Slow>SlowEnd", "SubFork>Quick", "Quick>SubStop")}
</bpmn:subProcess>
<bpmn:parallelGateway id="Fork" />{user_task("Other")}
<bpmn:endEvent id="Stop"><bpmn:terminateEventDefinition /></bpmn:endEvent><bpmn:endEvent id="Finish" />
{flows("Begin>Fork", "Fork>Sub", "Sub>Finish", "Fork>Other", "Other>Stop")}
""")


def test_terminate_end_event_ends_only_its_subprocess_then_the_whole_process(client):
    deploy(client, term=TERMINATE)
    pi = start(client, "term")
    assert tasks(client, pi) == ["Other", "Quick", "Slow"]
    complete(client, pi, "Quick")
    assert tasks(client, pi) == ["Other"]  # the subprocess was terminated, the process goes on
    rows = history(client, pi)
    assert rows["Slow"] == ("userTask", True, True)
    assert rows["SubStop"] == ("terminateEndEvent", True, False)
    assert rows["Sub"] == ("subProcess", True, False)
    assert state(client, pi) == "ACTIVE"

    again = start(client, "term")
    complete(client, again, "Other")
    assert state(client, again) == "COMPLETED"
    assert tasks(client, again) == []
    assert history(client, again)["Quick"] == ("userTask", True, True)


LINK = diagram("link", f"""
<bpmn:startEvent id="Begin" />{user_task("First")}
<bpmn:intermediateThrowEvent id="GoOn"><bpmn:linkEventDefinition name="page2" /></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="Page2"><bpmn:linkEventDefinition name="page2" /></bpmn:intermediateCatchEvent>
{user_task("Second")}<bpmn:endEvent id="Finish" />
{flows("Begin>First", "First>GoOn", "Page2>Second", "Second>Finish")}
""")


def test_link_events_carry_the_token_to_the_catch_of_the_same_name(client):
    deploy(client, link=LINK)
    pi = start(client, "link")
    complete(client, pi, "First")
    assert tasks(client, pi) == ["Second"]
    rows = history(client, pi)
    assert rows["GoOn"] == ("intermediateLinkThrow", True, False)
    assert rows["Page2"] == ("intermediateLinkCatch", True, False)


def test_refusals_name_the_element(client):
    broken = diagram("broken", f"""
<bpmn:startEvent id="Begin" />
<bpmn:intermediateThrowEvent id="GoOn"><bpmn:linkEventDefinition name="nowhere" /></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="WaitSig"><bpmn:signalEventDefinition signalRef="Missing" /></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="Finish" />
<bpmn:subProcess id="Esp" triggeredByEvent="true"><bpmn:startEvent id="EspStart" /><bpmn:endEvent id="EspEnd" />
{flows("EspStart>EspEnd")}</bpmn:subProcess>
{flows("Begin>GoOn", "WaitSig>Finish")}
""")
    data = {"broken.bpmn": (io.BytesIO(broken), "broken.bpmn"), "deployment-name": "x"}
    response = client.post(f"{API}/deployment/create", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    problems = {p["elementId"]: p["reason"] for p in response.get_json()["problems"]}
    assert "exactly one catch event" in problems["GoOn"]
    assert "Missing" in problems["WaitSig"]
    assert "needs an event" in problems["EspStart"]


def test_a_handlers_bpmn_error_is_caught_by_the_error_event_subprocess(client, handlers):
    from engine.handler_registry import BpmnError

    def refuse(task):
        raise BpmnError("NOT_FOUND", "không tìm thấy")

    handlers.register("events.lookup", refuse)
    deploy(client, esp_handler=diagram("esp_handler", f"""
<bpmn:startEvent id="Begin" /><bpmn:serviceTask id="Lookup" camunda:type="external" camunda:topic="events.lookup" />
<bpmn:endEvent id="Finish" />{flows("Begin>Lookup", "Lookup>Finish")}
{event_subprocess("OnError", '<bpmn:errorEventDefinition errorRef="Err" camunda:errorCodeVariable="code" />', "")}
""", '<bpmn:error id="Err" name="Not found" errorCode="NOT_FOUND" />\n'))
    pi = start(client, "esp_handler")
    assert tasks(client, pi) == ["OnError_Task"]
    assert variables(client, pi) == {"code": "NOT_FOUND"}
    assert history(client, pi)["OnError_Start"] == ("errorStartEvent", True, False)


def test_setting_variables_through_rest_fires_a_waiting_condition(client):
    deploy(client, cond=CONDITIONAL)
    pi = start(client, "cond", paid=False, amount=10, urgent=False)
    response = client.post(f"{API}/process-instance/{pi}/variables",
                           json={"modifications": {"amount": {"value": 2000}}, "deletions": ["urgent"]})
    assert response.status_code == 204, response.get_json()
    assert tasks(client, pi) == ["Fill", "Supervise"]
    assert variables(client, pi) == {"paid": False, "amount": 2000}


def test_a_condition_naming_a_variable_waits_for_a_change_of_that_variable(client):
    deploy(client, cond_named=diagram("cond_named", f"""
<bpmn:startEvent id="Begin" />
<bpmn:intermediateCatchEvent id="WhenReady"><bpmn:conditionalEventDefinition camunda:variableName="status"
  camunda:variableEvents="update"><bpmn:condition xsi:type="bpmn:tFormalExpression">${{score &gt; 5}}</bpmn:condition>
</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
{user_task("After")}<bpmn:endEvent id="Finish" />{flows("Begin>WhenReady", "WhenReady>After", "After>Finish")}
"""))
    pi = start(client, "cond_named", score=0, status="new")
    modify = lambda **values: client.post(f"{API}/process-instance/{pi}/variables",  # noqa: E731
                                          json={"modifications": {k: {"value": v} for k, v in values.items()}})
    modify(score=10)  # the condition is true, but `status` did not change
    assert tasks(client, pi) == []
    modify(status="checked")
    assert tasks(client, pi) == ["After"]


def test_signal_event_subprocess_in_an_embedded_subprocess_and_escalation_interrupting_it(client):
    deploy(client, esp_nested=diagram("esp_nested", f"""
<bpmn:startEvent id="Begin" />
<bpmn:subProcess id="Sub"><bpmn:startEvent id="SubStart" />{user_task("Work")}
  <bpmn:endEvent id="Escalate"><bpmn:escalationEventDefinition escalationRef="Esc_Up" /></bpmn:endEvent>
  {flows("SubStart>Work", "Work>Escalate")}
  {event_subprocess("Recheck", '<bpmn:signalEventDefinition signalRef="Sig_Law" />', "", interrupting=False)}
  {event_subprocess("Upward", '<bpmn:escalationEventDefinition escalationRef="Esc_Up" />', "")}
</bpmn:subProcess>
{user_task("After")}<bpmn:endEvent id="Finish" />{flows("Begin>Sub", "Sub>After", "After>Finish")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" /><bpmn:escalation id="Esc_Up" name="Up" escalationCode="UP" />\n'))
    pi = start(client, "esp_nested")
    assert signal(client, "law.changed").status_code == 204
    assert tasks(client, pi) == ["Recheck_Task", "Work"]
    assert history(client, pi)["Recheck_Start"] == ("signalStartEvent", True, False)
    complete(client, pi, "Recheck_Task")
    complete(client, pi, "Work")  # its escalation end event: the interrupting escalation event subprocess
    assert tasks(client, pi) == ["Upward_Task"]
    complete(client, pi, "Upward_Task")
    assert tasks(client, pi) == ["After"]


def test_a_thrown_signal_carries_the_variables_its_camunda_in_names(client):
    passing = diagram("sig_pass", f"""
<bpmn:startEvent id="Begin" />
<bpmn:intermediateThrowEvent id="Announce"><bpmn:signalEventDefinition signalRef="Sig_Law"><bpmn:extensionElements>
  <camunda:in source="decree" target="decreeNumber" /><camunda:in sourceExpression="${{fee * 2}}" target="newFee" />
</bpmn:extensionElements></bpmn:signalEventDefinition></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="Finish" />{flows("Begin>Announce", "Announce>Finish")}
""", '<bpmn:signal id="Sig_Law" name="law.changed" />\n')
    deploy(client, sig_catch=SIGNAL_CATCH, sig_pass=passing)
    waiting = start(client, "sig_catch")
    start(client, "sig_pass", decree="100/2026", fee=5000, secret="kept")
    assert tasks(client, waiting) == ["After"]
    assert variables(client, waiting) == {"decreeNumber": "100/2026", "newFee": 10000}
