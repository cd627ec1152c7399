"""The small answers an integrator meets first (issue 18): each is what the caller needs to fix
their call, not a puzzle."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.clock import ManualClock
from tests.birth_examples import birth_declaration
from tests.portal import MONDAY_9AM, running_service
from tests.test_api_engine import API, deploy
from tests.test_api_support import rows_client, rows_engine  # noqa: F401 (fixtures)

FEE = (Path(__file__).parent / "fixtures" / "engine" / "fee_v1.dmn").read_bytes()


@pytest.fixture
def service(database):
    with running_service(database, ManualClock(MONDAY_9AM), "birth") as portal:
        yield portal


def test_swagger_ui_with_a_trailing_slash_is_the_swagger_ui(rows_client):
    page = rows_client.get("/swagger-ui/", follow_redirects=True)
    assert page.status_code == 200
    assert b"swagger-ui" in page.data


def test_a_filing_without_content_type_names_the_missing_header(service):
    # `curl -d '{...}'` without -H 'Content-Type: application/json' labels the JSON as a form.
    body = json.dumps({"procedure": "birth", "declaration": birth_declaration()})
    response = service.http.post(f"{service.base}/api/dossiers", data=body.encode(), timeout=30,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    answer = response.json()
    assert "Content-Type: application/json" in answer["message"]
    assert list(answer["fieldErrors"]) == ["Content-Type"]


def test_a_form_the_procedure_does_not_have_is_404_with_the_forms_it_has(service):
    code = service.file(birth_declaration(parts=["birth", "bhyt"]))["code"]
    response = service.http.get(f"{service.base}/api/dossiers/{code}/declarations/death.pdf", timeout=30)
    assert response.status_code == 404
    message = response.json()["message"]
    assert "birth, bhyt" in message
    assert "thử lại" not in message  # it will never exist: waiting would not help
    # A form of the procedure the citizen did not choose is not theirs either.
    assert "birth, bhyt" in service.http.get(f"{service.base}/api/dossiers/{code}/declarations/residence.pdf",
                                             timeout=30).json()["message"]


def test_an_unchanged_decision_under_a_new_deployment_name_answers_with_its_own_deployment(client):
    first = deploy(client, {"fee.dmn": FEE}, **{"deployment-name": "fees-2026"}).get_json()
    again = deploy(client, {"fee.dmn": FEE}, **{"deployment-name": "fees-2027", "deploy-changed-only": "true"})
    assert again.status_code == 200
    answer = again.get_json()
    assert answer["name"] == "fees-2027"
    assert answer["id"] != first["id"]
    assert answer["deployedDecisionDefinitions"] is None  # unchanged: no new version
    assert client.get(f"{API}/deployment/{answer['id']}").get_json()["name"] == "fees-2027"
    assert client.get(f"{API}/deployment/count").get_json() == {"count": 2}
    # Under the same name it is Camunda's filtered duplicate: the existing deployment.
    same = deploy(client, {"fee.dmn": FEE}, **{"deployment-name": "fees-2027"}).get_json()
    assert same["id"] == answer["id"]
