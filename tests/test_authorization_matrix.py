"""The authorization matrix, generated from the app's URL map: every route declares a permission;
every route answers every role as identity/permissions.py's GRANTS says (401 anonymous, 403
without the permission, neither with it, and never a 500); and an officer or a supervisor of
another agency gets 404 (never the data) on every route that reads or changes an instance, a task,
its variables, history, a dossier, its declarations or its attachments.

The route arguments are real ids from a seeded database (tests/access_world.py), so the allowed
calls reach the routes' own code; a new route needs only its arguments below when it takes new
ones, and its absence from the matrix cannot go unnoticed."""
from __future__ import annotations

from identity import web
from identity.permissions import GRANTS, PUBLIC, AUTHENTICATED, required
from tests.access_world import ACCOUNTS, QUICKSTART, ROLES, pdf_upload, world  # noqa: F401 (fixture)

# Endpoints that answer a resource of the matrix's dossier by jurisdiction (blueprints whose routes
# read or change instances, tasks, variables, history, dossiers, declarations or attachments).
JURISDICTION_BLUEPRINTS = ("task", "process-instance", "history", "dossiers", "console")
# List routes of those blueprints: the filter that narrows them to the seeded dossier's rows.
LIST_FILTERS = {
    "task.list_tasks": lambda ids: {"processInstanceId": ids["instance"]},
    "task.count_tasks": lambda ids: {"processInstanceId": ids["instance"]},
    "process-instance.list_instances": lambda ids: {"processInstanceIds": ids["instance"]},
    "process-instance.count_instances": lambda ids: {"processInstanceIds": ids["instance"]},
    "history.list_historic_instances": lambda ids: {"processInstanceId": ids["instance"]},
    "history.count_historic_instances": lambda ids: {"processInstanceId": ids["instance"]},
    "history.list_activity_instances": lambda ids: {"processInstanceId": ids["instance"]},
    "history.count_activity_instances": lambda ids: {"processInstanceId": ids["instance"]},
    "dossiers.list_dossiers": lambda ids: {},
    "console.inbox": lambda ids: {"q": ids["dossier"]},
    "console.report": lambda ids: {},
    "console.report_csv": lambda ids: {},
}
# What shows that a console page lists the dossier (the inbox echoes the search in its box).
SHOWN_BY = {
    "console.inbox": lambda ids: f'class="code">{ids["dossier"]}</a>',
    "console.report": lambda ids: f'>{ids["dossier"].rsplit("-", 2)[0]}</td>',
    "console.report_csv": lambda ids: ids["dossier"].rsplit("-", 2)[0],
}
# Routes of those blueprints that create rather than reach an existing resource.
NOT_JURISDICTION = {"dossiers.file_dossier"}
# Console pages of shared things (definitions, the operators' page), and the supervisors' overdue
# list, which the browser tests check per agency (the seeded task is not overdue).
NOT_JURISDICTION |= {"console.definition_page", "console.operations", "console.supervision"}


def _routes(app) -> list[tuple[str, str]]:
    return sorted({(method, rule.endpoint) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}}, key=lambda r: (_rule(app, r[1]).rule, r[0]))


def _rule(app, endpoint: str):
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def _permission(app, endpoint: str) -> str | None:
    return required(app.view_functions[endpoint]) or web._THIRD_PARTY.get(endpoint)


def _may(role: str | None, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    if role is None:
        return False
    return permission == AUTHENTICATED or any(r in GRANTS[permission] for r in ACCOUNTS[role]["roles"])


def _view_args(world, endpoint: str) -> dict:
    ids = world.ids
    blueprint = endpoint.split(".", 1)[0]
    values = {
        "code": ids["dossier"], "form": "birth", "instance_id": ids["instance"], "task_id": ids["task"],
        "job_id": ids["job"], "incident_id": ids["incident"], "deployment_id": ids["deployment"],
        "definition_id": ids["quickstart_definition"], "key": "quickstart", "name": ids["variable"],
        "filename": "swagger-ui.css", "attachment_id": ids["attachment"],
        "draft_id": ids["draft"], "part": "birth",
    }
    if blueprint == "external-task":
        values["task_id"] = ids["external_task"]
    if blueprint == "decision-definition":
        values.update(definition_id=ids["decision_definition"], key=ids["decision_key"])
    if endpoint == "process-instance.cancel_instance":
        values["instance_id"] = ids["disposable_instance"]
    return values


def _request(world, endpoint: str, role: str | None) -> dict:
    """The body or query of a call that reaches the route's own code for a role allowed it."""
    user = world.user(role or "anonymous")
    bodies = {
        "dossiers.file_dossier": {"json": {}},
        "drafts.create_draft": {"json": {}},  # 400: the filing is validated like POST /api/dossiers
        "dossiers.attach_files": {"data": pdf_upload(), "content_type": "multipart/form-data"},
        "dossiers.supplement": {"data": {"part": "birth", **pdf_upload()}, "content_type": "multipart/form-data"},
        # No reason: answered 400 by the route's own code, and the seeded dossier stays for the next calls.
        "dossiers.withdraw": {"json": {}},
        "deployment.create_deployment": {"content_type": "multipart/form-data", "data": {
            "deployment-name": "matrix", "data": (QUICKSTART.open("rb"), "quickstart.bpmn")}},
        "decision-definition.evaluate_by_key": {"json": {"variables": {}}},
        "decision-definition.evaluate_by_id": {"json": {"variables": {}}},
        "process-definition.start_by_key": {"json": {"businessKey": "MATRIX"}},
        "process-definition.start_by_id": {"json": {"businessKey": "MATRIX"}},
        "process-definition.submit_start_form": {"json": {"variables": {}}},
        "process-instance.modify_variables": {"json": {"modifications": {}}},
        "task.claim": {"json": {"userId": user}},
        "task.set_assignee": {"json": {"userId": None}},
        "task.complete": {"json": {"variables": {}}},
        "task.submit_form": {"json": {"variables": {}}},
        "job.set_retries": {"json": {"retries": 3}},
        "external-task.set_retries": {"json": {"retries": 1}},
        "external-task.fetch_and_lock": {"json": {"workerId": "matrix", "maxTasks": 1, "topics": [
            {"topicName": "clients.score", "lockDuration": 1000}]}},
        "external-task.complete": {"json": {"workerId": "matrix"}},
        "external-task.failure": {"json": {"workerId": "matrix", "retries": 1, "errorMessage": "thử lại"}},
        "external-task.bpmn_error": {"json": {"workerId": "matrix", "errorCode": "NO_SUCH_ERROR"}},
        "external-task.extend_lock": {"json": {"workerId": "matrix", "newDuration": 1000}},
        "external-task.unlock": {"json": {}},
        "message.correlate": {"json": {"messageName": "bhyt.card-issued", "businessKey": "NO-SUCH-DOSSIER"}},
        "signal.throw": {"json": {"name": "matrix.nobody-waits"}},
        "auth.login": {"data": {"username": user, "password": "wrong"}},
    }
    return bodies.get(endpoint, {})


def _call(world, method: str, endpoint: str, role: str | None, query: dict | None = None):
    from flask import url_for

    with world.app.test_request_context():
        rule = _rule(world.app, endpoint)
        known = _view_args(world, endpoint)
        # An argument no seeded row gives (a console page's attachment id...) gets a made-up value:
        # the route must still answer 401/403 before it looks, and reach its own code after.
        args = {name: known.get(name, "matrix-unknown") for name in rule.arguments}
        path = url_for(endpoint, **args)
    # A task claimed by one role must not decide what the next role may do with it.
    world.engine.set_assignee(world.ids["task"], None)
    return world.call(method, path, role, query_string=query, **_request(world, endpoint, role))


def test_every_route_declares_a_permission(world):
    undeclared = [f"{method} {_rule(world.app, endpoint).rule}" for method, endpoint in _routes(world.app)
                  if _permission(world.app, endpoint) is None]
    assert undeclared == [], f"routes that declare no permission (add @requires under @blp.route): {undeclared}"


def test_a_route_that_declares_nothing_is_closed_to_everyone(world):
    """The other half of deny-by-default: even the administrator is refused a forgotten route."""
    app = world.app
    app.view_functions["task.get_task"], original = (lambda task_id: "open"), app.view_functions["task.get_task"]
    try:
        response = world.call("GET", f"/engine-rest/task/{world.ids['task']}", "admin")
    finally:
        app.view_functions["task.get_task"] = original
    assert response.status_code == 403
    assert "declares no permission" in response.get_json()["message"]


def test_every_route_answers_every_role_as_the_grants_say(world):
    """Routes × (anonymous + 7 roles): 401, 403, or reached (and not a 500)."""
    mismatches, checked = [], 0
    for method, endpoint in _routes(world.app):
        permission = _permission(world.app, endpoint)
        for role in (None, *ROLES):
            response = _call(world, method, endpoint, role)
            status = response.status_code
            if not _may(role, permission) and role is None and endpoint.startswith("console.") and method == "GET":
                # A page sends a browser to the login form instead (and nothing of the page).
                expected = "302 to /auth/login"
                ok = status == 302 and response.headers["Location"].startswith("/auth/login?next=")
            elif not _may(role, permission):
                expected = "401" if role is None else "403"
                ok = status == int(expected)
            else:
                expected = "reached (not 401/403/5xx)"
                ok = status not in (401, 403) and status < 500
            checked += 1
            if not ok:
                mismatches.append(f"{method} {_rule(world.app, endpoint).rule} as {role or 'anonymous'} ({permission}): "
                                  f"{status}, expected {expected}: {response.get_data(as_text=True)[:200]}")
    assert checked == len(_routes(world.app)) * (len(ROLES) + 1)
    assert mismatches == [], "\n".join(mismatches)


def _jurisdiction_routes(app) -> list[tuple[str, str]]:
    routes = []
    for method, endpoint in _routes(app):
        permission = _permission(app, endpoint)
        if endpoint.split(".", 1)[0] not in JURISDICTION_BLUEPRINTS or endpoint in NOT_JURISDICTION:
            continue
        if permission in (PUBLIC, AUTHENTICATED) or not set(GRANTS[permission]) & {"officer", "supervisor"}:
            continue
        routes.append((method, endpoint))
    return routes


def test_another_agency_never_reaches_a_dossier_of_this_one(world):
    """Officer and supervisor of agency A reach the dossier's instance, task, variables, history,
    status, declarations and attachments; their twins at agency B get 404, or lists without it."""
    problems, checked = [], 0
    routes = _jurisdiction_routes(world.app)
    assert len(routes) >= 20, routes
    for method, endpoint in routes:
        rule = _rule(world.app, endpoint).rule
        is_list = not _rule(world.app, endpoint).arguments
        if is_list and endpoint not in LIST_FILTERS:
            problems.append(f"{method} {rule}: a new list route; add its filter to LIST_FILTERS")
            continue
        query = LIST_FILTERS[endpoint](world.ids) if is_list else None
        for role in ("officer", "supervisor"):
            if not _may(role, _permission(world.app, endpoint)):
                continue
            # The other agency first: a refused call must leave the resource as it was.
            for who, own in ((f"{role}-b", False), (role, True)):
                response = _call(world, method, endpoint, who, query)
                checked += 1
                status, text = response.status_code, response.get_data().decode("utf-8", "replace")
                if is_list and endpoint.startswith("console."):
                    found = SHOWN_BY[endpoint](world.ids) in text  # a page: the dossier (or its agency's row) shown
                    if status != 200 or found != own:
                        problems.append(f"{method} {rule} as {who}: {status}, shows the dossier: {found}")
                elif is_list:
                    body = response.get_json()
                    if endpoint == "dossiers.list_dossiers":
                        found = any(d["code"] == world.ids["dossier"] for d in body)
                    else:
                        found = body["count"] > 0 if isinstance(body, dict) else len(body) > 0
                    if status != 200 or found != own:
                        problems.append(f"{method} {rule} as {who}: {status}, lists the dossier: {found}")
                elif own and status in (401, 403, 404):
                    problems.append(f"{method} {rule} as {who} (own agency): {status} {text[:200]}")
                elif not own and status != 404:
                    problems.append(f"{method} {rule} as {who} (other agency): {status}, expected 404: {text[:200]}")
    assert checked >= 2 * 2 * 20
    assert problems == [], "\n".join(problems)
