"""What /openapi.json says beyond the routes' own schemas: the declarations a dossier carries and
the forms an officer's task can name (`camunda:formKey="schema:<name>"`), each generated from the
marshmallow schema that validates it, with its field descriptions and the example in examples/.

Integrators generate their clients from this document (tests/test_generated_client.py does), so a
name here is part of the contract: schemas are named after their class, prefixed by their form's
module where two forms share a section's name (`BirthRequester`, `DeathRequester`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as default_resolver
from apispec.ext.marshmallow.common import resolve_schema_cls

import forms  # noqa: F401 - registers the forms' schemas
from engine.form_registry import registry as form_registry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The declarations the dossier API files, by procedure: (component name, registered form, example file).
DECLARATIONS = {
    "birth": ("BirthDeclaration", "birth-declaration", "birth_declaration.json"),
    "death": ("DeathDeclaration", "death-declaration", "death_declaration.json"),
}
# The official declarations extracted from the citizen's, which officers' tasks can show as forms.
OFFICIAL_FORMS = ("birth-registration", "residence-declaration", "bhyt-declaration", "death-registration", "funeral-support")


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def schema_name(schema) -> str:
    """`forms.death.RequesterSchema` -> `DeathRequester`; other schemas as apispec names them."""
    resolved = resolve_schema_cls(schema)
    schema_class = resolved[0] if isinstance(resolved, list) else resolved
    name = default_resolver(schema)
    module = schema_class.__module__
    if module.startswith("forms.") and module != "forms.common":
        prefix = "".join(word.title() for word in module.split(".")[-1].split("_"))
        if not name.startswith(prefix):
            name = prefix + name
    return name


def marshmallow_plugin() -> MarshmallowPlugin:
    return MarshmallowPlugin(schema_name_resolver=schema_name)


def example(filename: str) -> dict:
    path = EXAMPLES / filename
    return {"example": json.loads(path.read_text(encoding="utf-8"))} if path.exists() else {}


def _summary(schema) -> str:
    return (sys.modules[schema.__module__].__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def document(spec: APISpec) -> None:
    """Adds the declarations and the officers' task forms to the document's components."""
    from .dossiers import FilingSchema  # the dossier routes import this module

    spec.components.schema("DossierFiling", schema=FilingSchema)
    for name, form, filename in DECLARATIONS.values():
        schema = form_registry.get(form)
        spec.components.schema(name, {"description": _summary(schema), **example(filename)}, schema=schema)
    for form in OFFICIAL_FORMS:
        schema = form_registry.get(form)
        spec.components.schema(schema_name(schema), {
            "description": f'{_summary(schema)} The form `camunda:formKey="schema:{form}"` names.'}, schema=schema)
