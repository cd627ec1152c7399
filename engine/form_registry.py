"""Validating what an officer submits when completing a user task.

Two sources of rules, as the diagram says:
- `camunda:formData` fields drawn in the Modeler: type (string, long, boolean, date, enum) and
  constraints (required, readonly, minlength, maxlength, min, max);
- `camunda:formKey="schema:<name>"`: a marshmallow schema registered under that name in forms/.
Every problem is reported per field, in one answer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError

from .errors import InvalidRequest

SCHEMA_PREFIX = "schema:"


class FormRegistry:
    def __init__(self):
        self._schemas: dict[str, type[Schema]] = {}

    def register(self, name: str, schema: type[Schema]) -> type[Schema]:
        self._schemas[name] = schema
        return schema

    def schema(self, name: str):
        return lambda schema_class: self.register(name, schema_class)

    def get(self, name: str) -> type[Schema] | None:
        return self._schemas.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._schemas


registry = FormRegistry()
form_schema = registry.schema


def schema_name(form_key: str | None) -> str | None:
    if form_key and form_key.startswith(SCHEMA_PREFIX):
        return form_key[len(SCHEMA_PREFIX):]
    return None


def defaults(form) -> dict[str, Any]:
    """The form's fields with their default values (Camunda's form-variables before any input)."""
    values = {}
    for field in getattr(form, "fields", []):
        values[field.id] = _convert(field, field.default_value) if field.default_value not in (None, "") else None
    return values


def validate(form, variables: dict, schemas: FormRegistry) -> dict:
    """The variables to store, converted; raises InvalidRequest naming every bad field."""
    name = schema_name(getattr(form, "key", None))
    if name is not None:
        schema_class = schemas.get(name)
        if schema_class is None:
            raise InvalidRequest(f"The form '{name}' this task names is not registered")
        try:
            return {**variables, **schema_class().load(variables)}
        except ValidationError as exc:
            raise InvalidRequest("Invalid form data", flatten_errors(exc.messages)) from None
    errors: dict[str, list[str]] = {}
    values = dict(variables)
    for field in getattr(form, "fields", []):
        problems = []
        present = field.id in variables and variables[field.id] not in (None, "")
        if _has(field, "readonly") and field.id in variables:
            problems.append("is read-only")
        elif not present:
            if _has(field, "required"):
                problems.append("is required")
        else:
            try:
                values[field.id] = _convert(field, variables[field.id])
                problems.extend(_constraints(field, values[field.id]))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            errors[field.id] = problems
    if errors:
        raise InvalidRequest("Invalid form data: " + "; ".join(f"{k} {', '.join(v)}" for k, v in errors.items()), errors)
    return values


def _has(field, constraint: str) -> bool:
    # Spiff's FormField.has_validation() looks at the config, which `required` and `readonly` lack.
    return any(rule.name == constraint for rule in field.validation)


def _convert(field, value):
    kind = field.type or "string"
    if kind == "long":
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise ValueError("must be a whole number")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError("must be true or false")
    if kind == "date":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("must be a date (ISO 8601)") from None
        return str(value)
    if kind == "enum":
        allowed = [option.id for option in field.options]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError("must be text")
        return value
    return value


def _constraints(field, value) -> list[str]:
    problems = []
    for rule in field.validation:
        config = rule.config
        if rule.name in ("minlength", "maxlength") and isinstance(value, str):
            limit = int(config)
            if rule.name == "minlength" and len(value) < limit:
                problems.append(f"must have at least {limit} characters")
            if rule.name == "maxlength" and len(value) > limit:
                problems.append(f"must have at most {limit} characters")
        elif rule.name in ("min", "max") and isinstance(value, (int, float)) and not isinstance(value, bool):
            limit = float(config)
            if rule.name == "min" and value < limit:
                problems.append(f"must be at least {config}")
            if rule.name == "max" and value > limit:
                problems.append(f"must be at most {config}")
    return problems


def flatten_errors(messages, prefix: str = "", root: str = "_schema") -> dict[str, list[str]]:
    """marshmallow's nested messages keyed by field path: {"mother": {"idNumber": [...]}} becomes
    {"mother.idNumber": [...]}, a list's items "members[0].sex". A schema-level message
    (`_schema`) belongs to the section it is about, or to `root` at the top."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            flat.update(flatten_errors(value, name, root))
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or root: list(messages)}
    if isinstance(messages, list):
        flat = {}
        for index, value in enumerate(messages):
            flat.update(flatten_errors(value, f"{prefix}[{index}]", root))
        return flat
    return {prefix or root: [str(messages)]}
