"""Data stores and data objects are documentation in Camunda 7: a diagram drawn with them deploys
and runs as without them, its variables untouched by the associations (SpiffWorkflow wanted an
implementation for each store, and moves variables into and out of data objects)."""
from __future__ import annotations

from tests.constructs import chain, complete, deployed, diagram, start, state, tasks, variables

WITH_DATA = diagram("with_data", """
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Record" camunda:candidateGroups="ho-tich">
      <bpmn:property id="Property_0" name="__targetRef_placeholder" />
      <bpmn:dataInputAssociation id="In_1">
        <bpmn:sourceRef>DeclarationRef</bpmn:sourceRef><bpmn:targetRef>Property_0</bpmn:targetRef>
      </bpmn:dataInputAssociation>
      <bpmn:dataOutputAssociation id="Out_1"><bpmn:targetRef>RegisterRef</bpmn:targetRef></bpmn:dataOutputAssociation>
      <bpmn:dataOutputAssociation id="Out_2"><bpmn:targetRef>DeclarationRef</bpmn:targetRef></bpmn:dataOutputAssociation>
    </bpmn:userTask>
    <bpmn:dataObjectReference id="DeclarationRef" name="Tờ khai" dataObjectRef="Declaration" />
    <bpmn:dataObject id="Declaration" />
    <bpmn:dataStoreReference id="RegisterRef" name="Sổ hộ tịch" dataStoreRef="Register" />
    <bpmn:userTask id="Check" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Record", "Check", "Finish"), '  <bpmn:dataStore id="Register" name="Cơ sở dữ liệu hộ tịch" />\n')


def test_a_diagram_with_data_stores_and_objects_deploys_and_runs_as_without_them(client):
    deployed(client, {"with_data.bpmn": WITH_DATA})
    pi = start(client, "with_data", Declaration="filed")
    [record] = tasks(client, pi)
    assert record["taskDefinitionKey"] == "Record"
    complete(client, record["id"], Declaration="corrected", recorded=True)
    [check] = tasks(client, pi)
    assert check["taskDefinitionKey"] == "Check"
    assert variables(client, pi) == {"Declaration": "corrected", "recorded": True}
    complete(client, check["id"])
    assert state(client, pi) == "COMPLETED"
