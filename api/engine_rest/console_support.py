"""The routes a console needs beyond the inbox, in Camunda's shapes so other tools can use them:
a task's form with its fields' metadata (labels, types, required, choices), Camunda's generated
HTML form, and the activity instance tree of a running process instance (for diagram markers)."""
from __future__ import annotations

import marshmallow as ma
from flask import Response, render_template_string
from marshmallow import fields

from engine import queries
from identity import audit, scope
from identity.permissions import requires

from ..common import Blueprint, caller, engine, found, reading
from ..form_fields import task_form_fields
from .task import _visible

blp = Blueprint("console-support", __name__, description="Task forms with their metadata, activity instance trees")


class FormOptionSchema(ma.Schema):
    id = fields.String()
    name = fields.String()


class FormFieldSchema(ma.Schema):
    id = fields.String()
    label = fields.String()
    type = fields.String(metadata={"description": "string, long, boolean, date, enum (Camunda's form field types), json"})
    required = fields.Boolean()
    readonly = fields.Boolean()
    options = fields.List(fields.Nested(FormOptionSchema), metadata={"description": "enum fields: the choices"})
    constraints = fields.Dict(metadata={"description": "minlength, maxlength, min, max"})
    defaultValue = fields.Raw(allow_none=True)
    value = fields.Raw(allow_none=True, metadata={"description": "The current value (the process variable), else the default"})


@blp.route("/task/<task_id>/form-fields", methods=["GET"])
@requires("task.read")
@blp.response(200, FormFieldSchema(many=True))
def get_form_fields(task_id):
    """The task form's fields with their metadata and current values (lienthong's extension; Camunda's
    form-variables answers the values only). Built from `camunda:formData` or the `schema:` formKey."""
    task = _visible(task_id)
    audit.read("task-variables", task_id, task.business_key)
    return task_form_fields(engine(), task)


_RENDERED = """<form name="generatedForm" role="form">
{%- for f in fields %}
  <div class="form-group">
  {%- if f.type == "enum" %}
    <fieldset><legend>{{ f.label }}{% if f.required %} *{% endif %}</legend>
    {%- for o in f.options %}
      <label><input type="radio" name="{{ f.id }}" value="{{ o.id }}" cam-variable-name="{{ f.id }}" cam-variable-type="String"
        {%- if f.value == o.id %} checked{% endif %}{% if f.required %} required{% endif %}> {{ o.name }}</label>
    {%- endfor %}
    </fieldset>
  {%- elif f.type == "boolean" %}
    <label><input type="checkbox" name="{{ f.id }}" cam-variable-name="{{ f.id }}" cam-variable-type="Boolean"
      {%- if f.value %} checked{% endif %}> {{ f.label }}</label>
  {%- else %}
    <label for="{{ f.id }}">{{ f.label }}{% if f.required %} *{% endif %}</label>
    <input class="form-control" id="{{ f.id }}" name="{{ f.id }}" cam-variable-name="{{ f.id }}"
      cam-variable-type="{{ {'long': 'Long', 'date': 'Date'}.get(f.type, 'String') }}"
      type="{{ {'long': 'number', 'date': 'date'}.get(f.type, 'text') }}" value="{{ f.value if f.value is not none else '' }}"
      {%- if f.required %} required{% endif %}{% if f.readonly %} readonly{% endif %}
      {%- if f.constraints.maxlength %} maxlength="{{ f.constraints.maxlength }}"{% endif %}>
  {%- endif %}
  </div>
{%- endfor %}
</form>
"""


@blp.route("/task/<task_id>/rendered-form", methods=["GET"])
@requires("task.read")
@blp.response(200, {"type": "string"}, content_type="application/xhtml+xml",
              description="The generated HTML form, as Camunda answers it")
def get_rendered_form(task_id):
    """Camunda's generated task form: one input per form field, `cam-variable-name` naming the variable."""
    task = _visible(task_id)
    audit.read("task-variables", task_id, task.business_key)
    html = render_template_string(_RENDERED, fields=task_form_fields(engine(), task))
    return Response(html, mimetype="application/xhtml+xml")


class IncidentRefSchema(ma.Schema):
    id = fields.String()
    activityId = fields.String()


class ActivityInstanceSchema(ma.Schema):
    id = fields.String()
    parentActivityInstanceId = fields.String(allow_none=True)
    activityId = fields.String()
    activityType = fields.String()
    activityName = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    processInstanceId = fields.String()
    processDefinitionId = fields.String()
    childActivityInstances = fields.List(fields.Nested(lambda: ActivityInstanceSchema()))
    childTransitionInstances = fields.List(fields.Dict())
    executionIds = fields.List(fields.String())
    incidentIds = fields.List(fields.String())
    incidents = fields.List(fields.Nested(IncidentRefSchema))


@blp.route("/process-instance/<instance_id>/activity-instances", methods=["GET"])
@requires("instance.read")
@blp.response(200, ActivityInstanceSchema)
def get_activity_instances(instance_id):
    """The running activities of an instance as Camunda's activity instance tree: the process
    instance at the root, one child per activity that has started and not ended."""
    return activity_tree(instance_id, scope.instances(caller()))


def activity_tree(instance_id: str, filters: dict) -> dict:
    with reading() as session:
        instance = found(queries.instances.first(session, instance_ids=[instance_id], **filters),
                         f"Process instance with id {instance_id} does not exist")
        running = queries.activity_instances.list(session, instance_id=instance_id, unfinished=True)
        incidents = queries.incidents.list(session, instance_id=instance_id)

    def child(row) -> dict:
        mine = [i for i in incidents if i.activity_id == row.activity_id]
        return {
            "id": f"{row.activity_id}:{row.id}", "parentActivityInstanceId": instance_id,
            "activityId": row.activity_id, "activityType": row.activity_type, "activityName": row.activity_name,
            "name": row.activity_name, "processInstanceId": instance_id, "processDefinitionId": row.definition_id,
            "childActivityInstances": [], "childTransitionInstances": [], "executionIds": [instance_id],
            "incidentIds": [i.id for i in mine], "incidents": [{"id": i.id, "activityId": i.activity_id} for i in mine],
        }

    return {
        "id": instance_id, "parentActivityInstanceId": None, "activityId": instance.definition_id,
        "activityType": "processDefinition", "activityName": None, "name": None, "processInstanceId": instance_id,
        "processDefinitionId": instance.definition_id, "childActivityInstances": [child(r) for r in running],
        "childTransitionInstances": [], "executionIds": [instance_id], "incidentIds": [], "incidents": [],
    }
