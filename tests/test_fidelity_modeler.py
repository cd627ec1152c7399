"""Camunda Modeler's round trip (issue 13): its Start instance button (POST
/process-definition/{id}/start), the tenant-id it deploys with (kept and queryable, apart from an
instance's agency), a CORS allow-list, and deploy-changed-only answered as Camunda answers it."""
from __future__ import annotations

import pytest

from engine import models as m
from tests.auth import as_user
from tests.engine_helpers import instance as instance_row
from tests.fidelity import deployed, diagram

ONE_TASK = ('<bpmn:startEvent id="S" /><bpmn:userTask id="Review" camunda:candidateGroups="clerks" />'
            '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Review" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="E" />')


def _process(key: str, name: str = "v1") -> bytes:
    return diagram(key, ONE_TASK).replace(f'id="{key}" isExecutable'.encode(), f'id="{key}" name="{name}" isExecutable'.encode())


def _definition_id(answer: dict, key: str) -> str:
    return next(d["id"] for d in answer["deployedProcessDefinitions"].values() if d["key"] == key)


def test_start_instance_by_definition_id_starts_that_version(client):
    first = _definition_id(deployed(client, {"p.bpmn": _process("modeled")}), "modeled")
    second = _definition_id(deployed(client, {"p.bpmn": _process("modeled", "v2")}), "modeled")
    assert first != second
    response = client.post(f"/engine-rest/process-definition/{first}/start", json={
        "businessKey": "HS-1", "variables": {"amount": {"value": 5, "type": "Integer"}}, "withVariablesInReturn": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    started = response.get_json()
    assert (started["definitionId"], started["businessKey"]) == (first, "HS-1")
    assert started["variables"]["amount"]["value"] == 5
    missing = client.post("/engine-rest/process-definition/no-such-definition/start", json={})
    assert missing.status_code == 404


def test_tenant_id_is_kept_queryable_and_apart_from_the_instance_agency(client, engine):
    answer = deployed(client, {"p.bpmn": _process("tenanted")}, **{"tenant-id": "sandbox"})
    definition = _definition_id(answer, "tenanted")
    assert answer["tenantId"] == "sandbox"
    assert answer["deployedProcessDefinitions"][definition]["tenantId"] == "sandbox"
    deployed(client, {"q.bpmn": _process("shared")})

    def keys(query: str) -> list[str]:
        return sorted(d["key"] for d in client.get(f"/engine-rest/process-definition?{query}").get_json())

    assert keys("tenantIdIn=sandbox") == ["tenanted"]
    assert keys("withoutTenantId=true") == ["shared"]
    assert keys("tenantIdIn=sandbox&withoutTenantId=true") == ["shared", "tenanted"]
    assert client.get(f"/engine-rest/process-definition/{definition}").get_json()["tenantId"] == "sandbox"
    assert [d["tenantId"] for d in client.get("/engine-rest/deployment?tenantIdIn=sandbox").get_json()] == ["sandbox"]
    assert client.get("/engine-rest/deployment/count?withoutTenantId=true").get_json() == {"count": 1}
    # By key means a definition of no tenant, as in Camunda.
    assert client.post("/engine-rest/process-definition/key/tenanted/start", json={}).status_code == 404

    # An officer starts it: the instance belongs to the officer's agency (jurisdiction), whatever
    # the definition's tenant.
    officer = as_user(client, "officer-hn", roles=("officer",), agency="ubnd-hn", groups=("clerks",))
    started = client.post(f"/engine-rest/process-definition/{definition}/start", json={}, headers=officer)
    assert started.status_code == 200, started.get_data(as_text=True)
    instance_id = started.get_json()["id"]
    assert instance_row(engine, instance_id).tenant_id == "ubnd-hn"
    other = as_user(client, "officer-hcm", roles=("officer",), agency="ubnd-hcm", groups=("clerks",))
    assert client.get("/engine-rest/process-instance", headers=other).get_json() == []
    assert [i["id"] for i in client.get("/engine-rest/process-instance", headers=officer).get_json()] == [instance_id]


def test_deploy_changed_only_answers_the_previous_deployment_when_nothing_changed(client, engine):
    files = {"a.bpmn": _process("part_a"), "b.bpmn": _process("part_b")}
    first = deployed(client, files, name="modeler", **{"deploy-changed-only": "true"})
    again = deployed(client, files, name="modeler", **{"deploy-changed-only": "true"})
    assert again["id"] == first["id"]
    assert again["deployedProcessDefinitions"] is None
    assert client.get("/engine-rest/deployment/count").get_json() == {"count": 1}

    changed = deployed(client, {**files, "b.bpmn": _process("part_b", "v2")}, name="modeler",
                       **{"deploy-changed-only": "true"})
    assert changed["id"] != first["id"]
    assert [(d["key"], d["version"]) for d in changed["deployedProcessDefinitions"].values()] == [("part_b", 2)]
    from sqlalchemy import select
    with engine.db.session() as session:
        stored = session.scalars(select(m.Resource.name).where(m.Resource.deployment_id == changed["id"])).all()
    assert stored == ["b.bpmn"], "only the changed resource is deployed"


@pytest.fixture
def cors_client(engine):
    from api.app import create_app
    from tests.auth import SETTINGS

    app = create_app(engine, {"TESTING": True, "CORS_ORIGINS": "https://modeler.example.vn"}, identity=SETTINGS)
    return app.test_client()


def test_a_preflight_from_an_allowed_origin_is_answered_without_credentials(cors_client):
    preflight = cors_client.options("/engine-rest/deployment/create", headers={
        "Origin": "https://modeler.example.vn", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://modeler.example.vn"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    stranger = cors_client.options("/engine-rest/deployment/create", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_no_origin_is_allowed_by_default(client):
    preflight = client.options("/engine-rest/deployment/create", headers={
        "Origin": "https://modeler.example.vn", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_wildcard_allow_list_is_refused():
    from api.cors import allowed_origins

    with pytest.raises(ValueError, match="must list origins"):
        allowed_origins("https://a.example, *")
