"""Fields and base schemas every resource uses: Camunda dates, typed variables, paging, sorting."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import marshmallow as ma
from marshmallow import fields, pre_dump, validate, validates_schema
from sqlalchemy import Row
from webargs.fields import DelimitedList

from engine.clock import as_utc
from engine.errors import InvalidRequest
from engine.variables import from_typed_map, to_typed_map


def camunda_date(moment: datetime | None) -> str | None:
    """Camunda's default date format, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, always in UTC."""
    if moment is None:
        return None
    moment = as_utc(moment).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class CamundaDate(fields.DateTime):
    """Dumps as Camunda does; loads Camunda's format and any ISO 8601 form (UTC when no zone).
    Null where the moment is unset (a task's followUp, a running instance's endTime), as documented."""

    # Camunda's yyyy-MM-dd'T'HH:mm:ss.SSSZ ("+0000", no colon) is not OpenAPI's date-time (RFC 3339):
    # documented by its pattern, which also admits the ISO 8601 forms it loads.
    PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        kwargs["metadata"] = {"format": "camunda-date-time", "pattern": self.PATTERN,
                              "example": "2026-11-30T09:00:00.000+0700", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return camunda_date(value)

    def _deserialize(self, value, attr, data, **kwargs):
        # An unencoded "+0000" in a query string arrives as " 0000"; read it as the client meant it.
        text = re.sub(r" (\d\d:?\d\d)$", r"+\1", str(value))
        try:
            # In UTC, as stored: SQLite compares the text of the dates, without their offsets.
            return as_utc(datetime.fromisoformat(text)).astimezone(timezone.utc)
        except ValueError:
            raise ma.ValidationError("Not a date; use yyyy-MM-dd'T'HH:mm:ss.SSSZ") from None


class TypedValueSchema(ma.Schema):
    """Documents one Camunda typed variable."""

    value = fields.Raw(allow_none=True)
    type = fields.String(metadata={"example": "String"})
    valueInfo = fields.Dict()


# Camunda's `links` of a resource (common.self_link builds them).
LINKS_DOC = {"type": "array", "items": {"type": "object", "properties": {
    "method": {"type": "string"}, "href": {"type": "string"}, "rel": {"type": "string"}}}}

# For routes that answer with a bare variables map (documented, built by common.typed_variables).
TYPED_VARIABLES_DOC = {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/TypedValue"}}


class TypedVariables(fields.Dict):
    """A Camunda variables map in the body, plain values in the route (and back when dumped).

    Bad entries raise the engine's InvalidRequest, so each one is named in `fieldErrors`.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("load_default", dict)
        super().__init__(keys=fields.String(), values=fields.Nested(TypedValueSchema), **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        # `"variables": null` means none, as in Camunda.
        return {} if value is None else super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(f"'{attr}' must be an object", {attr: ["must be an object"]})
        return from_typed_map(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else to_typed_map(value)


class Body(ma.Schema):
    """A JSON body: fields Camunda clients send that we do not use are ignored, as Camunda does."""

    class Meta:
        unknown = ma.EXCLUDE


class RowSchema(ma.Schema):
    """Dumps query rows: Method fields then read `obj["column"]` whatever the row type."""

    @pre_dump
    def _as_mapping(self, obj, **kwargs):
        return dict(obj._mapping) if isinstance(obj, Row) else obj


def null_field() -> fields.Constant:
    """A Camunda property lienthong has no counterpart for (tenants, cases, suspension...)."""
    return fields.Constant(None, metadata={"description": "Not supported by lienthong; always null"})


def millis_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((as_utc(end) - as_utc(start)).total_seconds() * 1000)


MAX_PAGE = 2 ** 31 - 1


class ListArgs(ma.Schema):
    """firstResult/maxResults paging and sortBy/sortOrder sorting, as Camunda spells them.

    A subclass sets `sort_by = sort_field(query)` to offer the sort keys that query knows.
    """

    # Bounded by what a database's LIMIT/OFFSET takes (a bigger one answered 500 on PostgreSQL).
    first_result = fields.Integer(data_key="firstResult", load_default=0, validate=validate.Range(min=0, max=MAX_PAGE))
    max_results = fields.Integer(data_key="maxResults", validate=validate.Range(min=0, max=MAX_PAGE))
    sort_order = fields.String(data_key="sortOrder", validate=validate.OneOf(["asc", "desc"]))

    @validates_schema
    def _sort_pair(self, data, **kwargs):
        if (data.get("sort_by") is None) != (data.get("sort_order") is None):
            raise ma.ValidationError(
                "Only a single sorting parameter specified. sortBy and sortOrder required", "sortBy"
            )


def sort_field(query) -> fields.String:
    return fields.String(data_key="sortBy", validate=validate.OneOf(sorted(query.sort_keys)))


def csv_list(**kwargs) -> DelimitedList:
    """Camunda's comma-separated list parameters (`processInstanceIds=a,b`)."""
    return DelimitedList(fields.String(), **kwargs)


class CountSchema(ma.Schema):
    count = fields.Integer()
