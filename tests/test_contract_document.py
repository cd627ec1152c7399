"""/openapi.json as a contract (issue 18): it validates as OpenAPI 3, every body has its schema, and
the dossier's declaration is typed by the very marshmallow schemas that validate it."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from openapi_spec_validator import validate

from engine.form_registry import registry
from tests.test_api_support import rows_client, rows_engine  # noqa: F401 (fixtures)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_validates_as_openapi_3(rows_client):
    validate(document(rows_client))


def test_every_request_and_response_body_has_its_schema(rows_client):
    spec = document(rows_client)
    untyped = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            bodies = list(operation.get("requestBody", {}).get("content", {}).items())
            for status, response in operation["responses"].items():
                if status.startswith("2") and status != "204":
                    content = response.get("content")
                    if not content:
                        untyped.append(f"{method} {path} {status}: no content")
                    bodies += list((content or {}).items())
            untyped += [f"{method} {path} {media}" for media, body in bodies if not body.get("schema")]
    assert untyped == []


def test_the_declaration_is_typed_by_the_schemas_that_validate_it(rows_client):
    spec = document(rows_client)
    schemas = spec["components"]["schemas"]
    filing = spec["paths"]["/api/dossiers"]["post"]["requestBody"]["content"]["application/json"]
    assert filing["schema"] == {"$ref": "#/components/schemas/DossierFiling"}
    declaration = schemas["DossierFiling"]["properties"]["declaration"]
    assert declaration["oneOf"] == [{"$ref": "#/components/schemas/BirthDeclaration"},
                                    {"$ref": "#/components/schemas/DeathDeclaration"}]
    for name, form in (("BirthDeclaration", "birth-declaration"), ("DeathDeclaration", "death-declaration")):
        documented = schemas[name]
        loaded_fields = registry.get(form)().fields
        assert set(documented["properties"]) == set(loaded_fields), name
        assert set(documented["required"]) == {k for k, f in loaded_fields.items() if f.required}, name
        # Its example is the file in examples/, and it passes the validation it documents.
        example = json.loads((EXAMPLES / f"{name[:-len('Declaration')].lower()}_declaration.json").read_text())
        assert documented["example"] == example
        registry.get(form)(today=date(2026, 11, 30)).load(example)
    # Sections are components of their own, with the citizen's labels as descriptions.
    mother = schemas["BirthDeclaration"]["properties"]["mother"]
    assert mother["allOf"][0] == {"$ref": "#/components/schemas/BirthParent"} or mother.get("$ref")
    parent = schemas["BirthParent"]["properties"]
    assert parent["fullName"]["description"] == "Họ, chữ đệm và tên"
    assert parent["idNumber"]["example"] == "087084000999"
    child = schemas["BirthChild"]["properties"]
    assert child["sex"]["enum"] == ["male", "female"]
    assert child["dateOfBirth"]["format"] == "date"
    assert schemas["BirthDeclaration"]["properties"]["parts"]["items"]["enum"] == ["birth", "residence", "bhyt"]
    assert schemas["DeathRequester"]["properties"]["phone"]["example"] == "0912345678"


def test_the_officers_forms_status_tracking_and_audit_are_documented(rows_client):
    spec = document(rows_client)
    schemas = spec["components"]["schemas"]
    for name in ("BirthRegistration", "ResidenceDeclaration", "BhytDeclaration", "DeathRegistration", "FuneralSupport"):
        assert "formKey" in schemas[name]["description"] and schemas[name]["properties"], name
    paths = spec["paths"]
    assert paths["/api/dossiers/{code}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/DossierStatus"}
    assert paths["/api/tracking"]["post"]["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Tracking"}
    audit = paths["/api/audit"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert audit["items"] == {"$ref": "#/components/schemas/AuditEntry"}
    pdf = paths["/api/dossiers/{code}/declarations/{form}.pdf"]["get"]["responses"]["200"]["content"]
    assert pdf["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
