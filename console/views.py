"""The console's pages. Each declares its permission; each reads through engine.queries or the
dossier service with the caller's identity.scope filters, and changes through the engine's
commands, exactly as the REST routes do (their checks are reused, not copied)."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, flash, send_from_directory, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from api import dossiers as dossiers_api
from api.common import caller, engine, reading
from api.engine_rest.task import _complete, _visible as visible_task
from api.form_fields import task_form_fields
from dossiers.service import PROCEDURES, DossierService
from engine import models, queries
from engine.errors import ConcurrentModification, EngineError, Forbidden, InvalidRequest, NotFound
from identity import audit, scope
from identity import web as identity_web
from identity.accounts import Accounts
from identity.permissions import PUBLIC, requires

from . import reads, tracking
from .declaration import readable
from .i18n import LANGUAGES
from .messages import field_messages

log = logging.getLogger("lienthong.console")
bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
STATIC = Path(__file__).resolve().parent / "static"
FRAMABLE_CSP = "default-src 'none'; frame-ancestors 'self'"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --- how the console answers refusals: pages, not JSON -------------------------------------------------


@bp.after_request
def _pages_not_json(response):
    """identity.web answers an anonymous caller 401 and a refused one 403 in JSON (for the API);
    a person in a browser is sent to the login form, or shown a page saying why."""
    if response.status_code == 401 and request.method == "GET":
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login_form", next=target))
    if response.status_code in (401, 403) and response.mimetype == "application/json":
        page = render_template("console/error.html", status=response.status_code,
                               message=_("Bạn không có quyền xem trang này.") if response.status_code == 403
                               else _("Vui lòng đăng nhập lại."))
        return Response(page, status=response.status_code, mimetype="text/html")
    return response


@bp.errorhandler(EngineError)
def _engine_error(error):
    status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, Forbidden) \
        else 409 if isinstance(error, ConcurrentModification) else 400
    message = {404: _("Không tìm thấy, hoặc bạn không có quyền xem."),
               409: _("Việc này vừa được người khác xử lý hoặc thay đổi; vui lòng tải lại trang.")}.get(status, str(error))
    return render_template("console/error.html", status=status, message=message), status


@bp.app_context_processor
def _layout():
    who = identity_web.current()
    return {"who": who, "languages": LANGUAGES, "language": session.get("lang", "vi"),
            "nav": _navigation(who) if who else []}


def _navigation(who) -> list[tuple[str, str, str]]:
    from identity.permissions import allows

    items = [("task.read", "console.inbox", _("Hộp công việc")),
             ("task.assign", "console.supervision", _("Giám sát hạn")),
             ("report.read", "console.report", _("Báo cáo tháng")),
             ("definition.read", "console.operations", _("Vận hành"))]
    return [(endpoint, label, endpoint == request.endpoint) for permission, endpoint, label in items
            if allows(who, permission)]


def _service() -> DossierService:
    return DossierService(engine())


@bp.route("/static/<path:filename>", methods=["GET"])
@requires(PUBLIC)
def asset(filename):
    """The console's CSS and scripts (bpmn-js and htmx among them, copied from node_modules)."""
    return send_from_directory(STATIC, filename, max_age=3600)


# --- entry, language -----------------------------------------------------------------------------


@bp.route("/", methods=["GET"])
@requires("authenticated")
def home():
    who = caller()
    if who.has("officer", "supervisor") and not who.is_admin:
        return redirect(url_for("console.supervision" if "supervisor" in who.roles else "console.inbox"))
    if who.has("operator"):
        return redirect(url_for("console.operations"))
    if who.has("analyst", "auditor"):
        return redirect(url_for("console.operations"))
    return render_template("console/error.html", status=200, message=_("Trang điều hành dành cho cán bộ. "
                                                                        "Công dân tra cứu hồ sơ tại trang Tra cứu."))


@bp.route("/lang/<code>", methods=["GET"])
@requires(PUBLIC)
def language(code):
    if code in LANGUAGES:
        session["lang"] = code
    target = request.args.get("next") or url_for("console.home")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("console.home"))


# --- officer: inbox and task ---------------------------------------------------------------------


def _inbox_filters() -> reads.InboxFilters:
    args = request.args
    return reads.InboxFilters(procedure=args.get("procedure") or None, part=args.get("part") or None,
                              state=args.get("state") or None, overdue=args.get("overdue") == "1",
                              search=(args.get("q") or "").strip()[:100] or None)


@bp.route("/inbox", methods=["GET"])
@requires("task.read")
def inbox():
    who = caller()
    filters = _inbox_filters()
    items = reads.inbox(engine(), who.id, scope.tasks(who), scope.dossiers(who), filters)
    if filters.search:
        audit.read("inbox-search", None, None)
    parts = sorted({(p, n) for proc in PROCEDURES.values() for p, n in proc.part_names.items()}, key=lambda x: x[1])
    template = "console/_inbox_rows.html" if request.headers.get("HX-Request") else "console/inbox.html"
    return render_template(template, items=items, filters=filters, parts=parts, procedures=PROCEDURES,
                           now=engine().clock.now())


@bp.route("/tasks/<task_id>", methods=["GET"])
@requires("task.read")
def task_page(task_id):
    return _task_page(task_id)


def _task_page(task_id, values: dict | None = None, errors: dict | None = None, status: int = 200):
    who = caller()
    task = visible_task(task_id)
    audit.read("task-variables", task_id, task.business_key)
    fields = task_form_fields(engine(), task)
    if values is not None:
        for field in fields:
            field["value"] = values.get(field["id"], "")
    dossier = None
    if task.business_key and _service().visible(task.business_key, **scope.dossiers(who)):
        audit.read("dossier", task.business_key, task.business_key)
        dossier = _service().status(task.business_key)
        declaration = reads.declaration(engine(), task.business_key) or {}
        dossier["readable"] = readable(engine(), dossier["procedure"], declaration)
        dossier["people"] = reads.people(declaration)
    return render_template("console/task.html", task=task, fields=fields, errors=errors or {}, dossier=dossier,
                           due=reads.due_view(task.due, engine().clock.now(), engine().timezone),
                           part=reads.parts_by_activity(engine(), task.definition_id).get(task.activity_id),
                           may_work=task.assignee in (None, who.id) or who.is_admin), status


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@requires("task.work")
def claim(task_id):
    who = caller()
    visible_task(task_id)
    engine().claim(task_id, who.id, actor=who.id)
    flash(_("Bạn đã nhận xử lý công việc này."), "success")
    return redirect(request.form.get("next") if _local_path(request.form.get("next")) else url_for("console.task_page", task_id=task_id))


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@requires("task.work")
def unclaim(task_id):
    who = caller()
    task = visible_task(task_id)
    if task.assignee not in (None, who.id) and not who.has("supervisor"):
        raise Forbidden(f"The user '{who.id}' cannot release a task claimed by '{task.assignee}'.")
    engine().unclaim(task_id, actor=who.id)
    flash(_("Đã trả công việc về hộp công việc chung."), "success")
    return redirect(url_for("console.inbox"))


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@requires("task.work")
def complete(task_id):
    task = visible_task(task_id)
    fields = task_form_fields(engine(), task)
    submitted = {f["id"]: request.form.get(f["id"], "") for f in fields if not f["readonly"]}
    variables = {}
    for field in fields:
        raw = submitted.get(field["id"], "")
        if field["type"] == "boolean":
            variables[field["id"]] = raw in ("on", "true")
        elif raw.strip():
            variables[field["id"]] = raw.strip()
    try:
        _complete(task_id, {"variables": variables, "with_variables_in_return": False})
    except InvalidRequest as exc:
        if not exc.field_errors:
            raise
        return _task_page(task_id, submitted, field_messages(exc.field_errors, fields), status=400)
    log.info("task completed in the console", extra={"task": task_id, "dossier": task.business_key})
    flash(_("Đã hoàn thành: %(name)s, hồ sơ %(code)s.", name=task.name or task.activity_id, code=task.business_key or "—"),
          "success")
    return redirect(url_for("console.inbox"))


def _local_path(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


# --- documents, framed by the console's own pages -------------------------------------------------


def _framable(response: Response) -> Response:
    """Deliberately framable by this site's pages only (identity.web denies framing everywhere else)."""
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = FRAMABLE_CSP
    return response


@bp.route("/dossiers/<code>/declarations/<form>.pdf", methods=["GET"])
@requires("dossier.read")
def declaration_pdf(code, form):
    dossiers_api._visible(code)
    audit.read("declaration", f"{code}/{form}", code)
    document = _service().document(code, form)
    response = Response(document.content, mimetype=document.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{code}-{form}.pdf"'
    return _framable(response)


@bp.route("/dossiers/<code>/attachments/<attachment_id>", methods=["GET"])
@requires("dossier.read")
def attachment(code, attachment_id):
    dossiers_api._visible(code)
    row = reads.attachment(engine(), code, attachment_id)
    if row is None:
        raise NotFound(f"No attachment {attachment_id} in dossier {code}")
    audit.read("attachment", attachment_id, code)
    response = Response(row.content, mimetype=row.media_type)
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(row.filename)}"
    return _framable(response)


# --- the diagram ---------------------------------------------------------------------------------


@bp.route("/instances/<instance_id>", methods=["GET"])
@requires("instance.read")
def instance_page(instance_id):
    who = caller()
    with reading() as session:
        instance = queries.historic_instances.first(session, instance_id=instance_id, **scope.instances(who))
        if instance is None:
            raise NotFound(f"No process instance {instance_id}")
        activities = queries.activity_instances.list(session, instance_id=instance_id)
        incidents = queries.incidents.list(session, instance_id=instance_id)
    state = {
        "finished": sorted({a.activity_id for a in activities if a.end_time is not None and not a.canceled}),
        "current": sorted({a.activity_id for a in activities if a.end_time is None}),
        "incidents": [{"activityId": i.activity_id, "message": (i.message or "")[:300]} for i in incidents],
    }
    return render_template("console/instance.html", instance=instance, activities=activities, incidents=incidents,
                           state=state, definition_id=instance.definition_id)


@bp.route("/definitions/<definition_id>", methods=["GET"])
@requires("definition.read")
def definition_page(definition_id):
    with reading() as session:
        definition = queries.definitions.first(session, definition_id=definition_id)
        if definition is None:
            raise NotFound(f"No process definition {definition_id}")
        instances = queries.historic_instances.list(session, definition_id=definition_id, max_results=50,
                                                    sort_by="startTime", sort_order="desc",
                                                    **scope.instances(caller()))
    return render_template("console/definition.html", definition=definition, instances=instances,
                           state={"finished": [], "current": [], "incidents": []})


# --- supervisor ------------------------------------------------------------------------------------


@bp.route("/supervision", methods=["GET"])
@requires("task.assign")
def supervision():
    who = caller()
    now = engine().clock.now()
    with reading() as session:
        rows = queries.tasks.list(session, sort_by="dueDate", **scope.tasks(who))
        ids = [r.id for r in rows]
        links = session.execute(select(models.IdentityLink.task_id, models.IdentityLink.group_id).where(
            models.IdentityLink.task_id.in_(ids), models.IdentityLink.type == "candidate",
            models.IdentityLink.group_id.is_not(None))).all() if ids else []
    groups: dict[str, set[str]] = {}
    for link in links:
        groups.setdefault(link.task_id, set()).add(link.group_id)
    officers = _officers(who)
    items = []
    for row in rows:
        due = reads.due_view(row.due, now, engine().timezone)
        escalated = bool(groups.get(row.id, set()) & set(who.groups))
        if not (due["overdue"] or escalated):
            continue
        candidates = [o for o in officers if set(o.groups) & groups.get(row.id, set())] or officers
        items.append({"task": row, "escalated": escalated, "candidates": candidates,
                      "part": reads.parts_by_activity(engine(), row.definition_id).get(row.activity_id), **due})
    return render_template("console/supervision.html", items=items)


def _officers(who) -> list:
    """The officers a supervisor may hand work to: active officers of the same agency."""
    accounts = Accounts(engine().db, engine().clock).list()
    return [a for a in accounts if not a.disabled and "officer" in a.roles
            and (who.tenants is None or a.agency in who.tenants)]


@bp.route("/tasks/<task_id>/assign", methods=["POST"])
@requires("task.assign")
def assign(task_id):
    who = caller()
    visible_task(task_id)
    user = (request.form.get("userId") or "").strip()
    allowed = {o.id for o in _officers(who)}
    if user and user not in allowed:
        flash(_("Không thể giao cho %(user)s: không phải cán bộ của cơ quan.", user=user), "error")
        return redirect(url_for("console.supervision"))
    engine().set_assignee(task_id, user or None, actor=who.id)
    flash(_("Đã giao lại công việc cho %(user)s.", user=user) if user else _("Đã bỏ giao công việc."), "success")
    return redirect(url_for("console.supervision"))


@bp.route("/reports/monthly", methods=["GET"])
@requires("report.read")
def report():
    month, rows = _report()
    return render_template("console/report.html", month=month, rows=rows, columns=reads.REPORT_COLUMNS,
                           names={k: p.part_names for k, p in PROCEDURES.items()})


@bp.route("/reports/monthly.csv", methods=["GET"])
@requires("report.read")
def report_csv():
    month, rows = _report()
    response = Response("\ufeff" + reads.report_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="bao-cao-{month}.csv"'
    return response


def _report() -> tuple[str, list[dict]]:
    month = request.args.get("month") or reads.local(engine().clock.now(), engine().timezone).strftime("%Y-%m")
    if not _MONTH.match(month):
        raise InvalidRequest("month must be YYYY-MM", {"month": ["Tháng phải có dạng năm-tháng, ví dụ 2026-11."]})
    return month, reads.monthly_report(engine(), month, scope.dossiers(caller()))


# --- operator --------------------------------------------------------------------------------------


@bp.route("/operations", methods=["GET"])
@requires("definition.read")
def operations():
    who = caller()
    from identity.permissions import allows

    with reading() as session:
        deployments = queries.deployments.list(session, sort_by="deploymentTime", sort_order="desc", max_results=50)
        definitions = queries.definitions.list(session, sort_by="version", sort_order="desc")
        counts = dict(session.execute(select(models.ProcessInstance.definition_id, func.count())
                                      .where(models.ProcessInstance.end_time.is_(None))
                                      .group_by(models.ProcessInstance.definition_id)).all())
        incidents = queries.incidents.list(session, sort_by="incidentTimestamp", sort_order="desc", max_results=200) \
            if allows(who, "incident.read") else []
        jobs = queries.jobs.list(session, max_results=100) if allows(who, "job.read") else []
    return render_template("console/operations.html", deployments=deployments, definitions=definitions, counts=counts,
                           incidents=incidents, jobs=jobs, may_retry=allows(who, "job.manage"))


@bp.route("/incidents/<incident_id>/retry", methods=["POST"])
@requires("job.manage")
def retry(incident_id):
    with reading() as session:
        incident = queries.incidents.first(session, incident_id=incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}")
    if incident.type == "failedExternalTask":
        engine().external_tasks.set_retries(incident.configuration, 1)
    else:
        engine().set_job_retries(incident.configuration, 1)
    log.info("incident retried in the console", extra={"incident": incident_id, "job": incident.configuration})
    flash(_("Đã cho chạy lại bước %(activity)s.", activity=incident.activity_id), "success")
    return redirect(url_for("console.operations"))


# --- citizen ---------------------------------------------------------------------------------------


@bp.route("/track", methods=["GET", "POST"])
@requires(PUBLIC)
def track():
    status, error = None, None
    code = (request.values.get("code") or "").strip()
    if request.method == "POST":
        identity_web.csrf.protect()
        secret = (request.form.get("secret") or "").strip()
        if not code or not secret:
            error = _("Vui lòng nhập mã hồ sơ và mã tra cứu trong tin nhắn.")
        else:
            status = tracking.lookup(engine(), code, secret)
            if status is None:
                error = _("Mã hồ sơ hoặc mã tra cứu không đúng.")
    page = render_template("console/track.html", status=status, error=error, code=code)
    return page, (400 if error and request.method == "POST" else 200)


@bp.app_template_filter("when")
def _when(value, with_time: bool = True) -> str:
    """A moment as Vietnamese forms write it: 30/11/2026 17:00 (the service's time zone, Vietnam's)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = reads.local(moment, engine().timezone) if moment.tzinfo else moment
    return moment.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
