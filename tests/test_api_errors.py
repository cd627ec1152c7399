"""Bad input and engine errors answer in Camunda's error shape, with the right status.

An engine stand-in raises the error under test, so the mapping is checked without BPMN.
"""
from __future__ import annotations

import io

import pytest

from tests.auth import SETTINGS, logged_in

from api.app import create_app
from engine.errors import (
    ConcurrentModification,
    DeploymentError,
    EngineError,
    ExpressionError,
    InvalidRequest,
    NotFound,
    Problem,
    TaskAlreadyClaimed,
)
from tests.test_api_support import RowsOnlyEngine, rows_client, rows_engine  # noqa: F401 (fixtures)


@pytest.fixture
def failing(database, clock):
    """A client whose engine commands all raise `error`; returns (client, engine)."""

    def make(error: Exception):
        engine = RowsOnlyEngine(database, clock, error)
        app = create_app(engine, identity=SETTINGS)
        app.config["TESTING"] = True
        return logged_in(app, database), engine

    return make


# --- input the API refuses before any command runs --------------------------------------------


def test_malformed_json_is_400_not_500(rows_client):
    response = rows_client.post(
        "/engine-rest/task/t1/claim", data='{"userId": ', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "InvalidRequestException"
    assert body["message"].startswith("Malformed JSON body")


def test_malformed_json_without_content_type_is_still_refused(rows_client):
    response = rows_client.post("/engine-rest/task/t1/complete", data="{variables: 1}")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("Malformed JSON body")


def test_body_that_is_not_an_object(rows_client):
    response = rows_client.post("/engine-rest/message", json=["hello"])
    assert response.status_code == 400
    assert response.get_json()["type"] == "InvalidRequestException"


def test_missing_field_is_named(rows_client):
    response = rows_client.post("/engine-rest/task/t1/claim", json={})
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "InvalidRequestException"
    assert list(body["fieldErrors"]) == ["userId"]
    assert "userId" in body["message"]


def test_bad_typed_variable_is_named(rows_client):
    response = rows_client.post(
        "/engine-rest/task/t1/complete",
        json={"variables": {"age": {"value": "old", "type": "Integer"}, "name": {"value": "An", "type": "String"}}},
    )
    assert response.status_code == 400
    assert list(response.get_json()["fieldErrors"]) == ["age"]


def test_wrong_type_in_body(rows_client):
    response = rows_client.put("/engine-rest/job/j1/retries", json={"retries": "many"})
    assert response.status_code == 400
    assert "retries" in response.get_json()["fieldErrors"]
    assert rows_client.put("/engine-rest/job/j1/retries", json={"retries": -1}).status_code == 400


def test_deployment_without_resources(rows_client):
    response = rows_client.post("/engine-rest/deployment/create", data={"deployment-name": "empty"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "No deployment resources contained in the form upload."


def test_unknown_path_and_method(rows_client):
    missing = rows_client.get("/engine-rest/no-such-thing")
    assert missing.status_code == 404
    assert set(missing.get_json()) == {"type", "message"}
    wrong = rows_client.delete("/engine-rest/task")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]
    assert wrong.get_json()["type"] == "RestException"


# --- engine errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, status, kind",
    [
        (NotFound("No matching task with id t1"), 404, "RestException"),
        (InvalidRequest("Cannot claim"), 400, "InvalidRequestException"),
        (ExpressionError("unknown name 'x'", "x > 1"), 400, "ExpressionEvaluationException"),
        (ConcurrentModification("changed meanwhile"), 409, "OptimisticLockingException"),
        (TaskAlreadyClaimed("Task 't1' is already claimed by someone else."), 409, "TaskAlreadyClaimedException"),
        (EngineError("the engine broke"), 500, "ProcessEngineException"),
    ],
)
def test_engine_errors_map_to_status_and_camunda_type(failing, error, status, kind):
    client, _engine = failing(error)
    response = client.post("/engine-rest/task/t1/claim", json={"userId": "an"})
    assert response.status_code == status
    assert response.get_json() == {"type": kind, "message": str(error)}


def test_form_validation_errors_carry_field_errors(failing):
    client, _engine = failing(InvalidRequest("Invalid form", {"birthDate": ["must be a date"]}))
    response = client.post("/engine-rest/task/t1/complete", json={"variables": {}})
    assert response.status_code == 400
    assert response.get_json() == {
        "type": "InvalidRequestException",
        "message": "Invalid form",
        "fieldErrors": {"birthDate": ["must be a date"]},
    }


def test_deployment_error_has_camunda_details_and_problems(failing):
    error = DeploymentError([
        Problem("birth.bpmn", "review", "candidateGroups expression does not parse"),
        Problem("birth.bpmn", None, "no executable process"),
    ])
    client, _engine = failing(error)
    response = client.post(
        "/engine-rest/deployment/create",
        data={"deployment-name": "civil", "data": (io.BytesIO(b"<xml/>"), "birth.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "ParseException"
    assert body["details"] == {
        "birth.bpmn": {
            "errors": [
                {"message": "candidateGroups expression does not parse", "line": None, "mainElementId": "review",
                 "elementIds": ["review"]},
                {"message": "no executable process", "line": None, "mainElementId": None, "elementIds": []},
            ],
            "warnings": [],
        }
    }
    assert body["problems"] == [
        {"file": "birth.bpmn", "elementId": "review", "line": None, "reason": "candidateGroups expression does not parse"},
        {"file": "birth.bpmn", "elementId": None, "line": None, "reason": "no executable process"},
    ]


def test_unexpected_errors_hide_internals(failing):
    client, _engine = failing(RuntimeError("password=hunter2 in /etc/secret"))
    response = client.post("/engine-rest/task/t1/unclaim")
    assert response.status_code == 500
    body = response.get_json()
    assert body["type"] == "RuntimeError"
    assert "hunter2" not in body["message"]


def test_cancel_with_fail_if_not_exists_false(failing):
    client, engine = failing(NotFound("Process instance with id p1 does not exist"))
    assert client.delete("/engine-rest/process-instance/p1").status_code == 404
    assert client.delete("/engine-rest/process-instance/p1?failIfNotExists=false").status_code == 204


# --- what reaches the engine -------------------------------------------------------------------


def test_correlation_arguments_are_plain_values(failing):
    client, engine = failing(InvalidRequest("Cannot correlate message 'paid': No process definition or execution "
                                            "matches the parameters"))
    response = client.post("/engine-rest/message", json={
        "messageName": "paid",
        "businessKey": "HS-1",
        "correlationKeys": {"caseNo": {"value": 42, "type": "Long"}},
        "processVariables": {"amount": {"value": "15000.5", "type": "Double"}},
    })
    assert response.status_code == 400
    assert engine.calls == [(
        "correlate_message", ("paid",),
        {"business_key": "HS-1", "process_instance_id": None, "correlation_keys": {"caseNo": 42},
         "variables": {"amount": 15000.5}, "all": False},
    )]


def test_bodies_may_be_left_out_where_nothing_is_required(failing):
    client, engine = failing(NotFound("x"))
    assert client.post("/engine-rest/task/t1/complete").status_code == 404
    assert client.post("/engine-rest/task/t1/claim").status_code == 400
    assert engine.calls == [("complete_task", ("t1", {}), {"actor": "admin"})]
