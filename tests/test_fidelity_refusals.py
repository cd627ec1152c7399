"""Deploy refusals an analyst can act on (issue 13): every problem of a deployment in one answer,
each naming the file, the element (or the line when it has no id) and a reason in the diagram's
words, never SpiffWorkflow's internals."""
from __future__ import annotations

import pytest

from tests.fidelity import deploy, diagram

SIMPLE_END = '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="F_out" sourceRef="Task_A" targetRef="E" />'


def _with_task(task: str, extra: str = "", before: str = "") -> bytes:
    return diagram("refused", '<bpmn:startEvent id="S" />' + task + extra
                   + '<bpmn:sequenceFlow id="F_in" sourceRef="S" targetRef="Task_A" />' + SIMPLE_END, before=before)


TWO_STARTS = ('<bpmn:subProcess id="Sub"><bpmn:startEvent id="In1" /><bpmn:startEvent id="In2" />'
              '<bpmn:endEvent id="InEnd" /><bpmn:sequenceFlow id="Fi1" sourceRef="In1" targetRef="InEnd" />'
              '<bpmn:sequenceFlow id="Fi2" sourceRef="In2" targetRef="InEnd" /></bpmn:subProcess>')

REFUSALS = [
    # (what, the file's content, element id named (None: a line instead), words the reason must contain)
    ("targetRef typo", diagram("refused", '<bpmn:startEvent id="S" /><bpmn:userTask id="Task_A" />'
                                          '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Taks_A" />'),
     "F1", "targetRef 'Taks_A' names no element of this process; did you mean 'Task_A'?"),
    ("flow without id, typo", diagram("refused", '<bpmn:startEvent id="S" /><bpmn:userTask id="Task_A" />'
                                                 '<bpmn:sequenceFlow sourceRef="S" targetRef="Task_B" />'),
     None, "targetRef 'Task_B' names no element"),
    ("missing message", _with_task('<bpmn:receiveTask id="Task_A" messageRef="Msg_Missing" />'),
     "Task_A", "messageRef 'Msg_Missing' names no bpmn:message"),
    ("misspelt attribute", _with_task('<bpmn:userTask id="Task_A" camunda:candidateGroup="clerks" />'),
     "Task_A", "camunda:candidateGroup is not a Camunda attribute; did you mean camunda:candidateGroups?"),
    ("misspelt element", _with_task('<bpmn:userTask id="Task_A"><bpmn:extensionElements><camunda:propertie>'
                                    '<camunda:property name="a" value="b" /></camunda:propertie>'
                                    '</bpmn:extensionElements></bpmn:userTask>'),
     "Task_A", "camunda:propertie is not a Camunda element; did you mean camunda:properties?"),
    ("unsupported Camunda attribute", diagram("refused", '<bpmn:startEvent id="S" camunda:initiator="who" />'),
     "S", "camunda:initiator"),
    ("message start named by an expression", diagram("refused", '<bpmn:startEvent id="S">'
                                                     '<bpmn:messageEventDefinition id="MD" messageRef="M" /></bpmn:startEvent>',
                                                     before='<bpmn:message id="M" name="go-${x}" />'),
     "S", "a message start event needs a literal message name"),
    ("duplicate id", _with_task('<bpmn:userTask id="Task_A" /><bpmn:manualTask id="Task_A" />'),
     "Task_A", "also used on line"),
    ("default flow of another element", _with_task('<bpmn:userTask id="Task_A" default="F_in" />'),
     "Task_A", "the default flow 'F_in' is not a sequence flow leaving this element"),
    ("subprocess with two starts", diagram("refused", '<bpmn:startEvent id="S" />' + TWO_STARTS
                                           + '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Sub" />'),
     "Sub", "an embedded subprocess needs exactly one start event; it has 2"),
    ("schema", _with_task('<bpmn:userTask id="Task_A" colour="red" />'),
     "Task_A", "not valid BPMN 2.0: Element 'bpmn:userTask', attribute 'colour'"),
]
INTERNALS = ("NodeParser", "SubWorkflow", "perhaps a form", "tasks of type", "unexpected keyword", "Traceback")


def _problems(client, files: dict[str, bytes]) -> list[dict]:
    response = deploy(client, files)
    assert response.status_code == 400, response.get_data(as_text=True)
    problems = response.get_json()["problems"]
    for problem in problems:
        assert problem["elementId"] or problem["line"], problem
        assert not any(word in problem["reason"] for word in INTERNALS), problem
    return problems


@pytest.mark.parametrize("what, content, element, reason", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refusal_names_file_element_and_a_reason_an_analyst_can_act_on(client, what, content, element, reason):
    problems = _problems(client, {"refused.bpmn": content})
    matching = [p for p in problems if reason in p["reason"]]
    assert matching, problems
    assert all(p["file"] == "refused.bpmn" for p in matching)
    if element is None:
        assert matching[0]["elementId"] is None and matching[0]["line"] > 1
    else:
        assert matching[0]["elementId"] == element, matching
    assert client.get("/engine-rest/process-definition").get_json() == []


def test_every_problem_of_every_file_and_layer_comes_in_one_answer(client):
    first = _with_task('<bpmn:userTask id="Task_A" camunda:asignee="anna" colour="red" />')
    second = diagram("other", '<bpmn:startEvent id="S" />' + TWO_STARTS
                     + '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Sub" />')
    problems = _problems(client, {"first.bpmn": first, "second.bpmn": second})
    found = {(p["file"], p["elementId"], p["reason"].split(":")[0]) for p in problems}
    assert ("first.bpmn", "Task_A", "camunda") in found, problems  # the engine's checks
    assert ("first.bpmn", "Task_A", "not valid BPMN 2.0") in found, problems  # the schema
    assert any(p["file"] == "second.bpmn" and p["elementId"] == "Sub" for p in problems), problems  # the parser
    assert any("did you mean camunda:assignee?" in p["reason"] for p in problems)
