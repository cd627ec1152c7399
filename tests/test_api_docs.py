"""The OpenAPI document, Swagger UI, and the Camunda endpoints clients probe first."""
from __future__ import annotations

from tests.test_api_support import rows_client, rows_engine  # noqa: F401 (fixtures)


def test_openapi_document_lists_the_engine_rest_and_dossier_paths(rows_client):
    response = rows_client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["info"]["title"] == "lienthong"
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/engine-rest/deployment/create",
        "/engine-rest/process-definition/key/{key}/start",
        "/engine-rest/process-instance/{instance_id}",
        "/engine-rest/task",
        "/engine-rest/task/count",
        "/engine-rest/task/{task_id}/complete",
        "/engine-rest/message",
        "/engine-rest/incident",
        "/engine-rest/job/{job_id}/retries",
        "/engine-rest/history/activity-instance",
        "/engine-rest/history/process-instance",
        "/engine-rest/history/user-operation",
        "/api/dossiers",
        "/api/dossiers/{code}",
        "/api/dossiers/{code}/declarations/{form}.pdf",
        "/api/dossiers/{code}/attachments",
        "/api/dossiers/{code}/supplements",
        "/api/audit",
        "/api/agencies",
        "/api/tracking",
    ):
        assert path in paths, path
    assert all(path.startswith(("/engine-rest/", "/api/dossiers", "/api/audit", "/api/agencies", "/api/tracking"))
               or path in ("/health/live", "/health/ready", "/metrics") for path in paths)
    assert "trackingSecret" in spec["components"]["schemas"]["FiledDossier"]["properties"]
    assert {"404", "429"} <= set(paths["/api/tracking"]["post"]["responses"])
    filing = paths["/api/dossiers"]["post"]
    assert set(filing["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "201" in filing["responses"] and "400" in filing["responses"]
    # Validation errors are documented as 400 (Camunda), not flask-smorest's default 422.
    assert "400" in paths["/engine-rest/task"]["get"]["responses"]
    assert "422" not in paths["/engine-rest/task"]["get"]["responses"]


def test_swagger_ui_and_root_redirect(rows_client):
    page = rows_client.get("/swagger-ui")
    assert page.status_code == 200
    assert b"swagger-ui" in page.data
    assert b"/swagger-ui-assets/swagger-ui-bundle.js" in page.data
    # The UI's assets are served locally, so it works with no network.
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        response = rows_client.get(f"/swagger-ui-assets/{asset}")
        assert response.status_code == 200 and len(response.data) > 10_000, asset
    root = rows_client.get("/")
    assert root.status_code == 302
    assert root.headers["Location"].endswith("/swagger-ui")


def test_engine_and_version(rows_client):
    assert rows_client.get("/engine-rest/engine").get_json() == [{"name": "default"}]
    assert rows_client.get("/engine-rest/version").get_json()["version"].startswith("7.")
