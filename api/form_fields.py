"""A user task's form described for people and tools: each field's id, label, type, whether it is
required or read-only, its choices and constraints, and its current value. Built from the task's
`camunda:formData` (drawn in the Modeler) or from the marshmallow schema its
`camunda:formKey="schema:<name>"` names. The console renders it; /engine-rest serves it
(`GET /task/{id}/form-fields`, and Camunda's `GET /task/{id}/rendered-form`)."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import fields as ma_fields
from marshmallow import validate as ma_validate

from engine.form_registry import FormRegistry, schema_name

# A required field's marshmallow message names the field: "Vui lòng nhập họ và tên." (forms/common.py)
_ASKS = re.compile(r"^Vui lòng (?:nhập|chọn|khai) (.+?)\.?$")


def describe(form, values: dict, schemas: FormRegistry) -> list[dict]:
    """The fields of `form` (a task spec's form, or None), each with its current value from `values`."""
    if form is None:
        return []
    name = schema_name(getattr(form, "key", None))
    if name is not None:
        schema_class = schemas.get(name)
        return _from_schema(schema_class(), values) if schema_class is not None else []
    described = []
    for field in getattr(form, "fields", []):
        rules = {rule.name: rule.config for rule in field.validation}
        described.append({
            "id": field.id,
            "label": field.label or field.id,
            "type": field.type or "string",
            "required": "required" in rules,
            "readonly": "readonly" in rules,
            "options": [{"id": option.id, "name": option.name or option.id} for option in getattr(field, "options", [])],
            "constraints": {k: v for k, v in rules.items() if k not in ("required", "readonly")},
            "defaultValue": field.default_value,
            "value": values.get(field.id, field.default_value if field.default_value not in ("",) else None),
        })
    return described


def _from_schema(schema, values: dict) -> list[dict]:
    described = []
    for key, field in schema.fields.items():
        if field.dump_only:
            continue
        field_id = field.data_key or key
        options = []
        constraints: dict[str, Any] = {}
        for validator in _validators(field):
            if isinstance(validator, ma_validate.OneOf):
                labels = list(validator.labels) if validator.labels else [str(c) for c in validator.choices]
                options = [{"id": str(c), "name": str(label)} for c, label in zip(validator.choices, labels)]
            elif isinstance(validator, ma_validate.Length):
                if validator.min is not None:
                    constraints["minlength"] = validator.min
                if validator.max is not None:
                    constraints["maxlength"] = validator.max
            elif isinstance(validator, ma_validate.Range):
                if validator.min is not None:
                    constraints["min"] = validator.min
                if validator.max is not None:
                    constraints["max"] = validator.max
        described.append({
            "id": field_id,
            "label": field.metadata.get("label") or label_of(field) or field_id,
            "type": "enum" if options else _kind(field),
            "required": bool(field.required),
            "readonly": False,
            "options": options,
            "constraints": constraints,
            "defaultValue": None,
            "value": values.get(field_id),
        })
    return described


def label_of(field) -> str | None:
    """The label a field's own "required" message names (forms/common.py builds them from it)."""
    message = (getattr(field, "error_messages", None) or {}).get("required")
    match = _ASKS.match(message) if isinstance(message, str) else None
    return match.group(1)[:1].upper() + match.group(1)[1:] if match else None


def _validators(field) -> list:
    return list(getattr(field, "validators", []) or [])


def _kind(field) -> str:
    if isinstance(field, ma_fields.Boolean):
        return "boolean"
    if isinstance(field, ma_fields.Integer):
        return "long"
    if isinstance(field, (ma_fields.Date, ma_fields.DateTime)):
        return "date"
    if isinstance(field, (ma_fields.Nested, ma_fields.Dict, ma_fields.List)):
        return "json"
    return "string"


def task_form_fields(engine, task) -> list[dict]:
    """The described form of an open task (a row of engine.queries.tasks)."""
    return describe(engine.task_form(task.id), engine.form_variables(task.id), engine.forms)
