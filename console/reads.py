"""The console's read queries beyond the REST routes' own: the inbox joined to its dossiers (with
search by code, name or ID number), which part of a dossier a task is about, the declaration of a
dossier, and the monthly report. Every function takes the caller's identity.scope filters."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from sqlalchemy import String, cast, func, or_, select

from dossiers.models import Dossier, DossierAttachment
from dossiers.projection import FINAL_DOSSIER_STATES
from dossiers.service import PROCEDURES
from engine import models, queries
from engine.xml import parse_untrusted
from handlers.deadlines import working_days_between

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PROCESS_OF = {procedure.process_key: key for key, procedure in PROCEDURES.items()}
MAX_INBOX = 200


@dataclass
class InboxFilters:
    procedure: str | None = None  # birth | death
    part: str | None = None  # birth | residence | bhyt | death | ...
    state: str | None = None  # mine | unassigned | others
    overdue: bool = False
    search: str | None = None


def local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return moment.astimezone(zone) if moment is not None else None


def due_view(due: datetime | None, now: datetime, zone: tzinfo) -> dict:
    """How a due moment reads: overdue, due today, working days left (negative: overdue by)."""
    if due is None:
        return {"due": None, "overdue": False, "today": False, "daysLeft": None}
    overdue = due < now
    today = local(due, zone).date() == local(now, zone).date()
    days = working_days_between(now, due) if not overdue else -working_days_between(due, now)
    return {"due": local(due, zone), "overdue": overdue, "today": today and not overdue, "daysLeft": days}


@lru_cache(maxsize=64)
def _parts_by_activity(definition_id: str, xml: bytes) -> dict[str, str]:
    """activity id -> the dossier part it marks (camunda:property dossier.part), from the diagram."""
    root = parse_untrusted(xml, definition_id)
    parts = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        for prop in element.iter(f"{{{CAMUNDA}}}property"):
            if prop.get("name") == "dossier.part" and prop.get("value") not in (None, "dossier"):
                parts[element.get("id")] = prop.get("value")
                break
    return parts


def parts_by_activity(engine, definition_id: str) -> dict[str, str]:
    try:
        _name, xml = engine.resource_content(definition_id)
    except Exception:  # noqa: BLE001 - a definition without its resource: no parts known
        return {}
    return _parts_by_activity(definition_id, bytes(xml))


def matching_codes(session, text: str, dossier_filters: dict) -> list[str]:
    """Dossier codes whose code, names or ID numbers contain `text` (case-insensitive)."""
    needle = f"%{text.strip().lower()}%"
    stmt = select(Dossier.code).where(or_(func.lower(Dossier.code).like(needle),
                                          func.lower(cast(Dossier.declaration, String)).like(needle)))
    stmt = _dossier_scope(stmt, dossier_filters).limit(MAX_INBOX)
    return list(session.scalars(stmt))


def _dossier_scope(stmt, filters: dict):
    if filters.get("owner_id") is not None:
        stmt = stmt.where(Dossier.owner_id == filters["owner_id"])
    if filters.get("agency_codes") is not None:
        stmt = stmt.where(Dossier.agency_code.in_(filters["agency_codes"]))
    return stmt


def inbox(engine, who_id: str, task_filters: dict, dossier_filters: dict, f: InboxFilters) -> list[dict]:
    """The open tasks the caller may see, soonest due first, each with its dossier's summary."""
    now = engine.clock.now()
    args: dict = dict(task_filters)
    if f.procedure in PROCEDURES:
        args["definition_key"] = PROCEDURES[f.procedure].process_key
    if f.state == "mine":
        args["assignee"] = who_id
    elif f.state == "unassigned":
        args["unassigned"] = True
    if f.overdue:
        args["due_before"] = now
    with engine.db.reading() as session:
        stmt = queries.tasks.build(**args)
        if f.state == "others":
            stmt = stmt.where(models.Task.assignee.is_not(None), models.Task.assignee != who_id)
        if f.search and f.search.strip():
            stmt = stmt.where(models.Task.business_key.in_(matching_codes(session, f.search, dossier_filters)))
        stmt = stmt.order_by(models.Task.due.asc().nulls_last(), models.Task.created, models.Task.id).limit(MAX_INBOX)
        rows = session.execute(stmt).all()
        codes = {r.business_key for r in rows if r.business_key}
        dossiers = {d.code: d for d in session.execute(
            _dossier_scope(select(Dossier.code, Dossier.procedure, Dossier.declaration, Dossier.state)
                           .where(Dossier.code.in_(codes)), dossier_filters))} if codes else {}
    items = []
    for row in rows:
        part = parts_by_activity(engine, row.definition_id).get(row.activity_id)
        if f.part and part != f.part:
            continue
        dossier = dossiers.get(row.business_key)
        items.append({"task": row, "part": part, "dossier": dossier, "people": people(dossier.declaration) if dossier else {},
                      "procedure": PROCESS_OF.get(row.definition_key), **due_view(row.due, now, engine.timezone)})
    return items


def people(declaration: dict) -> dict:
    """The names a dossier is found by: who filed it and whom it is about."""
    # Twins (a birth's `children`) are found by either name.
    subjects = declaration.get("children") or [declaration.get("child") or declaration.get("deceased") or {}]
    names = [subject.get("fullName") for subject in subjects if isinstance(subject, dict) and subject.get("fullName")]
    return {"requester": (declaration.get("requester") or {}).get("fullName"), "subject": ", ".join(names) or None}


def declaration(engine, code: str) -> dict | None:
    with engine.db.reading() as session:
        return session.scalar(select(Dossier.declaration).where(Dossier.code == code))


def attachment(engine, code: str, attachment_id: str):
    with engine.db.reading() as session:
        row = session.get(DossierAttachment, attachment_id)
        if row is None or row.dossier_code != code:
            return None
        session.expunge(row)
        return row


# --- the monthly report -------------------------------------------------------------------------


def month_bounds(month: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """'2026-11' -> [1 Nov 00:00, 1 Dec 00:00) in the service's time zone (Vietnam's), as UTC."""
    year, number = (int(x) for x in month.split("-"))
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def monthly_report(engine, month: str, dossier_filters: dict) -> list[dict]:
    """Per agency and procedure: received in the month, finished in the month, finished on time
    (by the dossier's due moment), overdue now (open past its due moment), and the average
    working days from receipt to the finish of those finished."""
    start, end = month_bounds(month, engine.timezone)
    now = engine.clock.now()
    stmt = _dossier_scope(select(Dossier.agency_code, Dossier.procedure, Dossier.state, Dossier.received_at,
                                 Dossier.due_at, Dossier.completed_at), dossier_filters)
    stmt = stmt.where(or_(Dossier.received_at < end, Dossier.completed_at >= start))
    rows: dict[tuple[str, str], dict] = {}
    with engine.db.reading() as session:
        for d in session.execute(stmt):
            row = rows.setdefault((d.agency_code, d.procedure), {
                "agency": d.agency_code, "procedure": d.procedure, "received": 0, "finished": 0, "onTime": 0,
                "overdueNow": 0, "_days": []})
            if start <= d.received_at < end:
                row["received"] += 1
            if d.completed_at is not None and start <= d.completed_at < end:
                row["finished"] += 1
                row["onTime"] += d.due_at is None or d.completed_at <= d.due_at
                row["_days"].append(working_days_between(d.received_at, d.completed_at))
            if d.state not in FINAL_DOSSIER_STATES and d.due_at is not None and d.due_at < now:
                row["overdueNow"] += 1
    report = []
    for key in sorted(rows):
        row = rows[key]
        days = row.pop("_days")
        row["onTimePercent"] = round(100 * row["onTime"] / row["finished"]) if row["finished"] else None
        row["averageWorkingDays"] = round(sum(days) / len(days), 1) if days else None
        if row["received"] or row["finished"] or row["overdueNow"]:
            report.append(row)
    return report


REPORT_COLUMNS = [("agency", "Cơ quan"), ("procedure", "Thủ tục"), ("received", "Tiếp nhận"),
                  ("finished", "Đã giải quyết"), ("onTime", "Đúng hạn"), ("onTimePercent", "Tỷ lệ đúng hạn"),
                  ("overdueNow", "Đang quá hạn"), ("averageWorkingDays", "Số ngày làm việc trung bình")]


def report_csv(report: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([key for key, _ in REPORT_COLUMNS])
    for row in report:
        writer.writerow(["" if row[key] is None else row[key] for key, _ in REPORT_COLUMNS])
    return out.getvalue()


def previous_month(now: datetime, zone: tzinfo) -> str:
    first = local(now, zone).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")
