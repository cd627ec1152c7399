"""User tasks: the inbox (candidate and assignee queries), claiming, and completing."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine import queries
from engine.errors import Forbidden

from identity.permissions import requires

from identity import audit, scope
from identity.principal import Principal

from ..common import Blueprint, caller, engine, found, no_content, reading, typed_variables
from ..errors import ErrorSchema
from ..schemas import (
    TYPED_VARIABLES_DOC,
    Body,
    CamundaDate,
    CountSchema,
    ListArgs,
    RowSchema,
    TypedVariables,
    csv_list,
    null_field,
    sort_field,
)

blp = Blueprint("task", __name__, description="User tasks")


class TaskSchema(RowSchema):
    id = fields.String()
    name = fields.String()
    assignee = fields.String()
    owner = fields.String()
    created = CamundaDate()
    lastUpdated = null_field()
    due = CamundaDate()
    followUp = CamundaDate(attribute="follow_up")
    delegationState = null_field()
    description = fields.String()
    # One execution per instance as far as a client can tell: the instance is the execution.
    executionId = fields.String(attribute="instance_id", dump_only=True)
    parentTaskId = null_field()
    priority = fields.Integer()
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="instance_id")
    caseExecutionId = null_field()
    caseInstanceId = null_field()
    caseDefinitionId = null_field()
    suspended = fields.Boolean()
    formKey = fields.String(attribute="form_key")
    camundaFormRef = null_field()
    tenantId = null_field()
    taskDefinitionKey = fields.String(attribute="activity_id")


class TaskFilter(ma.Schema):
    task_id = fields.String(data_key="taskId")
    instance_id = fields.String(data_key="processInstanceId")
    business_key = fields.String(data_key="processInstanceBusinessKey")
    definition_id = fields.String(data_key="processDefinitionId")
    definition_key = fields.String(data_key="processDefinitionKey")
    task_definition_key = fields.String(data_key="taskDefinitionKey")
    name = fields.String()
    assignee = fields.String()
    owner = fields.String()
    unassigned = fields.Boolean()
    assigned = fields.Boolean()
    candidate_group = fields.String(data_key="candidateGroup")
    candidate_groups = csv_list(data_key="candidateGroups")
    candidate_user = fields.String(data_key="candidateUser")
    include_assigned_tasks = fields.Boolean(
        data_key="includeAssignedTasks",
        metadata={"description": "With a candidate filter, also list tasks someone has claimed"},
    )
    due_before = CamundaDate(data_key="dueBefore")
    due_after = CamundaDate(data_key="dueAfter")
    active = fields.Boolean(metadata={"description": "Only tasks of instances not suspended"})
    suspended = fields.Boolean(metadata={"description": "Only tasks of suspended instances"})


class TaskListArgs(TaskFilter, ListArgs):
    sort_by = sort_field(queries.tasks)


class IdentityLinkSchema(ma.Schema):
    userId = fields.String(attribute="user_id")
    groupId = fields.String(attribute="group_id")
    type = fields.String()


class IdentityLinkArgs(ma.Schema):
    type = fields.String(load_default=None)


class FormVariablesArgs(ma.Schema):
    names = csv_list(data_key="variableNames")


class ClaimBody(Body):
    userId = fields.String(required=True, validate=validate.Length(min=1))


class AssigneeBody(Body):
    userId = fields.String(required=True, allow_none=True, metadata={"description": "null unassigns"})


class TaskCompleteBody(Body):
    variables = TypedVariables()
    with_variables_in_return = fields.Boolean(data_key="withVariablesInReturn", load_default=False)


def _missing(task_id: str) -> str:
    return f"No matching task with id {task_id}"


@blp.route("/task", methods=["GET"])
@requires("task.read")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskSchema(many=True))
def list_tasks(args):
    """Candidate filters (candidateGroup, candidateUser) list unclaimed tasks unless includeAssignedTasks."""
    with reading() as session:
        return queries.tasks.list(session, **args, **scope.tasks(caller()))


@blp.route("/task/count", methods=["GET"])
@requires("task.read")
@blp.arguments(TaskFilter, location="query")
@blp.response(200, CountSchema)
def count_tasks(args):
    with reading() as session:
        return {"count": queries.tasks.count(session, **args, **scope.tasks(caller()))}


@blp.route("/task/<task_id>", methods=["GET"])
@requires("task.read")
@blp.response(200, TaskSchema)
def get_task(task_id):
    return _visible(task_id)


@blp.route("/task/<task_id>/identity-links", methods=["GET"])
@requires("task.read")
@blp.arguments(IdentityLinkArgs, location="query")
@blp.response(200, IdentityLinkSchema(many=True))
def get_identity_links(args, task_id):
    """Candidate users and groups, plus the assignee and owner as Camunda lists them."""
    _visible(task_id)
    with reading() as session:
        links = queries.task_identity_links(session, task_id, args["type"])
    return found(links, _missing(task_id))


@blp.route("/task/<task_id>/form-variables", methods=["GET"])
@requires("task.read")
@blp.arguments(FormVariablesArgs, location="query")
@blp.response(200, TYPED_VARIABLES_DOC)
def get_form_variables(args, task_id):
    """The task form's fields with their current or default values (all variables if it has no form)."""
    task = _visible(task_id)
    audit.read("task-variables", task_id, task.business_key)
    values = engine().form_variables(task_id)
    if "names" in args:
        values = {name: value for name, value in values.items() if name in args["names"]}
    return typed_variables(values)


@blp.route("/task/<task_id>/claim", methods=["POST"])
@requires("task.work")
@blp.arguments(ClaimBody)
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="Claimed by someone else (TaskAlreadyClaimedException)")
def claim(body, task_id):
    """An officer claims for themselves; a supervisor may claim for any officer."""
    who = caller()
    _visible(task_id, gone_ok=True)
    if body["userId"] != who.id and not who.has("supervisor"):
        _forbid(who, f"may claim a task only for themselves, not for '{body['userId']}'")
    engine().claim(task_id, body["userId"], actor=who.id)
    return no_content()


@blp.route("/task/<task_id>/unclaim", methods=["POST"])
@requires("task.work")
@blp.response(204)
def unclaim(task_id):
    who = caller()
    task = _visible(task_id, gone_ok=True)
    if task is not None and task.assignee not in (None, who.id) and not who.has("supervisor"):
        _forbid(who, f"cannot release a task claimed by '{task.assignee}'")
    engine().unclaim(task_id, actor=who.id)
    return no_content()


@blp.route("/task/<task_id>/assignee", methods=["POST"])
@requires("task.assign")
@blp.arguments(AssigneeBody)
@blp.response(204)
def set_assignee(body, task_id):
    """A supervisor (re)assigns a task of their agency."""
    _visible(task_id, gone_ok=True)
    engine().set_assignee(task_id, body["userId"], actor=caller().id)
    return no_content()


@blp.route("/task/<task_id>/complete", methods=["POST"])
@requires("task.work")
@blp.arguments(TaskCompleteBody)
@blp.response(204)
@blp.alt_response(200, schema=TYPED_VARIABLES_DOC, description="With withVariablesInReturn: the process variables")
@blp.alt_response(409, schema=ErrorSchema, description="Completed or changed by someone else first")
def complete(body, task_id):
    """Complete with variables; form fields are validated and refused ones named in fieldErrors."""
    return _complete(task_id, body)


@blp.route("/task/<task_id>/submit-form", methods=["POST"])
@requires("task.work")
@blp.arguments(TaskCompleteBody)
@blp.response(204)
@blp.alt_response(200, schema=TYPED_VARIABLES_DOC, description="With withVariablesInReturn: the process variables")
def submit_form(body, task_id):
    """Camunda Tasklist's way to complete: the same as /complete."""
    return _complete(task_id, body)


def _complete(task_id: str, body: dict):
    who = caller()
    task = _visible(task_id, gone_ok=True)
    if task is not None and task.assignee not in (None, who.id) and not who.is_admin:
        _forbid(who, f"cannot complete a task claimed by '{task.assignee}'; only its assignee can "
                     "(a supervisor may reassign it)")
    variables = engine().complete_task(task_id, body["variables"], actor=who.id)
    if not body["with_variables_in_return"]:
        return no_content()
    if task is not None:
        audit.read("instance-variables", task.instance_id, task.business_key)
    return typed_variables(variables)


def _visible(task_id: str, gone_ok: bool = False):
    """The task if the caller may see it (the same filters as the inbox), else 404. With `gone_ok`,
    None for a task that is not open at all: the engine's command then answers as Camunda does
    (404, or 409 for one completed meanwhile)."""
    with reading() as session:
        row = queries.tasks.first(session, task_id=task_id, **scope.tasks(caller()))
        if row is None and gone_ok and queries.tasks.first(session, task_id=task_id) is None:
            return None
    row = found(row, _missing(task_id))
    audit.concerns(dossier_code=row.business_key)
    return row


def _forbid(who: Principal, reason: str):
    raise Forbidden(f"The user '{who.id}' {reason}.")
