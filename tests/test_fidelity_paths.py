"""The paths a token takes, as Camunda 7 takes them, in diagrams the Modeler can draw that the
engine used to run differently without an error (issue 13, "No silent mis-execution")."""
from __future__ import annotations

import pytest

from tests.fidelity import activities, complete, condition, deployed, diagram, ran, start, state, task_keys, tasks


def _user(*ids: str) -> str:
    return "".join(f'<bpmn:userTask id="{i}" name="{i}" />' for i in ids)


def _flow(source: str, target: str, flow_id: str | None = "", body: str = "") -> str:
    fid = f' id="{flow_id or f"F_{source}_{target}"}"' if flow_id is not None else ""
    return f'<bpmn:sequenceFlow{fid} sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'


def test_a_flow_without_an_id_is_followed_to_the_end(client):
    xml = diagram("no_ids", '<bpmn:startEvent id="S" />' + _user("A") + '<bpmn:endEvent id="E" />'
                  + _flow("S", "A", None) + _flow("A", "E", None))
    deployed(client, {"no_ids.bpmn": xml})
    instance = start(client, "no_ids")
    assert task_keys(client, instance) == ["A"]
    complete(client, instance, "A")
    assert state(client, instance) == "COMPLETED"
    assert ran(client, instance) == ["A", "E", "S"]


def test_comments_and_processing_instructions_anywhere_deploy_and_run(client):
    body = ('<!-- the start --><bpmn:startEvent id="S"><!-- inside an element --></bpmn:startEvent>\n'
            '<?lienthong note?>' + _user("A") + '<bpmn:endEvent id="E" />'
            + _flow("S", "A", body="<!-- on a flow -->") + _flow("A", "E"))
    xml = diagram("commented", body, before="<!-- before the process -->\n")
    deployed(client, {"commented.bpmn": xml})
    instance = start(client, "commented")
    complete(client, instance, "A")
    assert state(client, instance) == "COMPLETED"


CONDITIONAL = ('<bpmn:startEvent id="S" />' + _user("A", "Big", "Small", "Other")
               + '<bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" /><bpmn:endEvent id="E3" />'
               + _flow("S", "A")
               + _flow("A", "Big", body=condition("${amount &gt; 100}"))
               + _flow("A", "Small", body=condition("${amount &lt; 1000}"))
               + _flow("Big", "E1") + _flow("Small", "E2"))


@pytest.mark.parametrize("amount, expected", [(50, ["Small"]), (500, ["Big", "Small"]), (5000, ["Big"])])
def test_conditional_flows_leaving_a_task_take_every_true_one(client, amount, expected):
    deployed(client, {"conditional.bpmn": diagram("conditional", CONDITIONAL)})
    instance = start(client, "conditional")
    complete(client, instance, "A", amount=amount)
    assert task_keys(client, instance) == expected
    for key in expected:
        complete(client, instance, key)
    assert state(client, instance) == "COMPLETED"
    assert not any("__" in a["activityId"] for a in activities(client, instance)), "no implicit element in history"


def test_the_default_flow_of_a_task_is_taken_when_no_condition_is_true(client):
    body = ('<bpmn:startEvent id="S" /><bpmn:userTask id="A" default="F_A_Other" />' + _user("Big", "Other")
            + '<bpmn:endEvent id="E" />' + _flow("S", "A")
            + _flow("A", "Big", body=condition("${amount &gt; 100}")) + _flow("A", "Other")
            + _flow("Big", "E") + _flow("Other", "E"))
    deployed(client, {"default.bpmn": diagram("with_default", body)})
    low, high = start(client, "with_default"), start(client, "with_default")
    complete(client, low, "A", amount=5)
    complete(client, high, "A", amount=500)
    assert task_keys(client, low) == ["Other"]
    assert task_keys(client, high) == ["Big"], "the default flow is not taken when a condition is true"


def test_a_single_false_condition_leaving_a_task_does_not_move_on(client):
    body = ('<bpmn:startEvent id="S" />' + _user("A", "B") + '<bpmn:endEvent id="E" />' + _flow("S", "A")
            + _flow("A", "B", body=condition("${approved}")) + _flow("B", "E"))
    deployed(client, {"single.bpmn": diagram("single_condition", body)})
    instance = start(client, "single_condition")
    [task] = tasks(client, instance)
    refused = client.post(f"/engine-rest/task/{task['id']}/complete",
                          json={"variables": {"approved": {"value": False}}})
    # Camunda: "No conditional sequence flow leaving the Flow Node 'A' could be selected"; the
    # command is rolled back and the task stays open.
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert "A" in refused.get_json()["message"] and "no outgoing sequence flow" in refused.get_json()["message"]
    assert task_keys(client, instance) == ["A"]
    complete(client, instance, "A", approved=True)
    assert task_keys(client, instance) == ["B"]


def test_several_unconditional_flows_leaving_a_task_are_all_taken(client):
    body = ('<bpmn:startEvent id="S" />' + _user("A", "B", "C") + '<bpmn:endEvent id="E" />'
            + _flow("S", "A") + _flow("A", "B") + _flow("A", "C") + _flow("B", "E") + _flow("C", "E"))
    deployed(client, {"fork.bpmn": diagram("implicit_fork", body)})
    instance = start(client, "implicit_fork")
    complete(client, instance, "A")
    assert task_keys(client, instance) == ["B", "C"]
    complete(client, instance, "B")
    assert state(client, instance) == "ACTIVE"
    complete(client, instance, "C")
    assert state(client, instance) == "COMPLETED"


def test_a_path_ending_at_a_task_or_gateway_is_an_implicit_end(client):
    body = ('<bpmn:startEvent id="S" /><bpmn:parallelGateway id="Fork" />' + _user("A", "B")
            + '<bpmn:exclusiveGateway id="Done" />'
            + _flow("S", "Fork") + _flow("Fork", "A") + _flow("Fork", "B") + _flow("B", "Done"))
    deployed(client, {"implicit_end.bpmn": diagram("implicit_end", body)})
    instance = start(client, "implicit_end")
    complete(client, instance, "A")
    assert state(client, instance) == "ACTIVE", "the other path is still running"
    complete(client, instance, "B")
    assert state(client, instance) == "COMPLETED"
    assert ran(client, instance) == ["A", "B", "Done", "Fork", "S"]


def test_an_embedded_subprocess_without_an_end_event_completes_implicitly(client):
    inner = '<bpmn:startEvent id="SubStart" />' + _user("Inner") + _flow("SubStart", "Inner")
    body = (f'<bpmn:startEvent id="S" /><bpmn:subProcess id="Sub">{inner}</bpmn:subProcess>' + _user("After")
            + '<bpmn:endEvent id="E" />' + _flow("S", "Sub") + _flow("Sub", "After") + _flow("After", "E"))
    deployed(client, {"sub.bpmn": diagram("sub_implicit", body)})
    instance = start(client, "sub_implicit")
    complete(client, instance, "Inner")
    assert task_keys(client, instance) == ["After"]


def test_an_exclusive_gateway_takes_the_first_true_condition_in_xml_order(client):
    # "Second" is drawn higher (smaller y) than "First", but "First"'s flow comes first in the XML.
    shapes = ('<bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="P" bpmnElement="xml_order">'
              '<bpmndi:BPMNShape id="First_di" bpmnElement="First"><dc:Bounds x="300" y="400" width="100" height="80" />'
              '</bpmndi:BPMNShape><bpmndi:BPMNShape id="Second_di" bpmnElement="Second">'
              '<dc:Bounds x="300" y="50" width="100" height="80" /></bpmndi:BPMNShape></bpmndi:BPMNPlane>'
              '</bpmndi:BPMNDiagram>')
    body = ('<bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" />' + _user("First", "Second")
            + _flow("S", "G") + _flow("G", "First", body=condition("${true}"))
            + _flow("G", "Second", body=condition("${true}")))
    xml = diagram("xml_order", body).replace(b"</bpmn:definitions>", shapes.encode() + b"</bpmn:definitions>")
    xml = xml.replace(b'id="Defs"', b'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
                                    b'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="Defs"')
    deployed(client, {"order.bpmn": xml})
    instance = start(client, "xml_order")
    assert task_keys(client, instance) == ["First"]


def test_an_unconditional_flow_leaving_an_exclusive_gateway_is_taken_in_xml_order(client):
    # Camunda takes a flow without a condition as true; here it comes after a false one.
    body = ('<bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" />' + _user("Never", "Always")
            + _flow("S", "G") + _flow("G", "Never", body=condition("${false}")) + _flow("G", "Always"))
    deployed(client, {"plain.bpmn": diagram("plain_xor", body)})
    assert task_keys(client, start(client, "plain_xor")) == ["Always"]
