"""Statutory deadlines in Vietnamese working days.

Rules:

* A **working day** is Monday to Friday that is not a Vietnamese public holiday, plus a weekend day
  the Government has made a working day in exchange for a bridge day off (a "hoán đổi ngày làm
  việc", e.g. Saturday 22 Aug 2026 is worked so that Monday 31 Aug 2026 is off). The calendar comes
  from the `holidays` package (``holidays.country_holidays("VN")``); nothing is hard-coded here.
* The **counting start** is the receipt day when that day is a working day and the dossier arrived
  at or before 15:00:00 Vietnam time (``CUTOFF``); otherwise it is the next working day. A dossier
  received after the cut-off, or on a weekend/holiday, is treated as received on that next working
  day.
* The **due moment** for ``n`` working days is ``CLOSING`` (17:00 Vietnam time) on

  - ``n == 0`` ("same working day"): the counting-start day itself;
  - ``n >= 1``: the n-th working day *after* the counting-start day (the day of receipt is not
    counted, as in Civil Code art. 147: a period in days starts on the day after the event).

  Examples with 2026 dates (2 Mar 2026 is a Monday):

  ==============================  ====  ===============================
  received (Vietnam time)         days  due (Vietnam time)
  ==============================  ====  ===============================
  Mon 02 Mar 10:00                0     Mon 02 Mar 17:00
  Mon 02 Mar 10:00                2     Wed 04 Mar 17:00
  Mon 02 Mar 15:00:00             2     Wed 04 Mar 17:00 (cut-off inclusive)
  Mon 02 Mar 15:00:01             2     Thu 05 Mar 17:00
  Mon 02 Mar 16:00                0     Tue 03 Mar 17:00
  Fri 06 Mar 16:00                2     Wed 11 Mar 17:00 (start Mon 09)
  Fri 13 Feb 10:00 (before Tết)   2     Tue 24 Feb 17:00 (16–20 Feb are Tết)
  ==============================  ====  ===============================

What the `holidays` package covers for Vietnam: New Year; Tết as five weekdays off (a weekend day
inside the span moved to an adjacent weekday); Hùng Kings' day (10/3 lunar); 30 April; 1 May;
National Day as two days; Vietnam Cultural Day (24 Nov, from 2026); compensatory days off ("nghỉ
bù") when a holiday falls on a weekend (Labour Code 2019 art. 111(3)); and the Government's
announced day swaps for public servants (bridge day off plus the worked Saturday, exposed as
``weekend_workdays``), which apply to the one-stop desks. tests/test_deadlines.py pins the
2025–2027 dates this module relies on, so an update of the package that changes them fails there.
What it cannot know, and so neither can this module:

* swaps or extra days the Government announces for a year *after* the installed package version
  was released (typically Tết and 30/4–1/5 of the next year, announced some months ahead): keep the
  package up to date (``pip install -U holidays``); for years not yet announced the dates are the
  statutory ones computed from the lunar calendar;
* local days off (none are public holidays by law) and agency-specific office hours.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

import holidays
from sqlalchemy import select

from engine import models as m
from engine.handler_registry import TaskContext, handler
from engine.clock import default_zone

# The zone of the functions below when given none; the handlers give the service's (task.timezone).
VN_ZONE = default_zone()
# A dossier received after this local time counts from the next working day (inclusive: 15:00:00
# still counts the same day, 15:00:00.000001 does not).
CUTOFF = time(15, 0)
# The due moment is the end of office hours on the due day, not midnight: administrative offices
# close at 17:00 (8:00–17:00 standard office hours of state agencies), so a dossier not returned
# by then is late, and "days overdue" starts counting from the next working day. Some localities
# close earlier (e.g. 16:30); change here if the service ever needs per-agency hours.
CLOSING = time(17, 0)

TOPIC = "deadlines.compute"
ESCALATE_TOPIC = "deadlines.escalate"
log = logging.getLogger("lienthong.deadlines")


@lru_cache(maxsize=256)
def _calendar(year: int) -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    """Holidays, worked weekend days and weekend weekdays for `year`.

    Built from three years so that a swap across New Year (e.g. a Saturday in December worked for a
    day off on 2 January) is seen from both sides. Immutable, so safe to share between threads.
    """
    calendar = holidays.country_holidays("VN", years=range(year - 1, year + 2))
    return frozenset(calendar.keys()), frozenset(calendar.weekend_workdays), frozenset(calendar.weekend)


def is_working_day(day: date) -> bool:
    """True when `day` is a working day of Vietnamese state agencies."""
    if isinstance(day, datetime):
        raise TypeError("is_working_day takes a date; convert the datetime to Vietnam time and take .date()")
    public_holidays, worked_weekend_days, weekend = _calendar(day.year)
    if day.weekday() in weekend:
        return day in worked_weekend_days
    return day not in public_holidays


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _local(moment: datetime, name: str, zone: tzinfo) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment.astimezone(zone)


def counting_start(received_at: datetime, zone: tzinfo | None = None) -> date:
    """The first day that counts: the receipt day if it is a working day and the receipt is at or
    before 15:00 Vietnam time, else the next working day."""
    local = _local(received_at, "received_at", zone or VN_ZONE)
    day = local.date()
    if is_working_day(day) and local.time() <= CUTOFF:
        return day
    return next_working_day(day)


def due_date(received_at: datetime, working_days: int, zone: tzinfo | None = None) -> datetime:
    """The statutory due moment, as an aware UTC datetime: 17:00 Vietnam time on the counting-start
    day for 0 working days, else on the `working_days`-th working day after the counting-start day."""
    if isinstance(working_days, bool) or not isinstance(working_days, int):
        raise TypeError(f"working_days must be an int, not {type(working_days).__name__}")
    if working_days < 0:
        raise ValueError(f"working_days must be 0 or more, got {working_days}")
    zone = zone or VN_ZONE
    day = counting_start(received_at, zone)
    for _ in range(working_days):
        day = next_working_day(day)
    return datetime.combine(day, CLOSING, tzinfo=zone).astimezone(timezone.utc)


def working_days_between(start: datetime, end: datetime, zone: tzinfo | None = None) -> int:
    """Working days after `start`'s Vietnam date up to and including `end`'s Vietnam date.

    Negative when `end` is before `start`. Used as "working days overdue" with start = the due
    moment and end = now: due Wed 17:00, now Wed 18:00 -> 0; now Thu 09:00 -> 1; now Mon -> 3 (Thu,
    Fri, Mon). For a dossier received on a working day by 15:00,
    ``working_days_between(received_at, due_date(received_at, n)) == n``.
    """
    first = _local(start, "start", zone or VN_ZONE).date()
    last = _local(end, "end", zone or VN_ZONE).date()
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        count += is_working_day(day)
        day += timedelta(days=1)
    return sign * count


def parse_received_at(value: object, where: str, name: str = "receivedAt") -> datetime:
    """The process variable `name` (ISO 8601 with a UTC offset, or an aware datetime) as a datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{where}: process variable '{name}' is not an ISO 8601 date-time: {value!r}") from None
    else:
        raise ValueError(f"{where}: process variable '{name}' must be an ISO 8601 string, not {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{where}: process variable '{name}' needs a UTC offset (e.g. +07:00 or Z): {value!r}")
    return moment


def _working_days(raw: object, where: str, name: str) -> int:
    if raw is None or str(raw).strip() == "":
        raise ValueError(f"{where}: camunda property '{name}' is missing")
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{where}: camunda property '{name}' is not a whole number: {raw!r}") from None
    if days < 0:
        raise ValueError(f"{where}: camunda property '{name}' must be 0 or more: {raw!r}")
    return days


DUE_PREFIX = "due."
LATEST_PREFIX = "latest."
NOW = "now"


def _names(raw: object) -> list[str]:
    return [name.strip() for name in str(raw or "").split(",") if name.strip()]


def _counted_from(task: TaskContext, where: str) -> datetime:
    """The moment the days count from: the variable `receivedVariable` names, or the clock's `now`."""
    source = str(task.properties.get("receivedVariable") or "receivedAt").strip()
    if source == NOW:
        return task.now()
    if source not in task.variables or task.variables[source] in (None, ""):
        raise ValueError(f"{where}: process variable '{source}' is missing")
    return parse_received_at(task.variables[source], where, source)


@handler(TOPIC)
def compute_deadline(task: TaskContext) -> dict:
    """Service task "deadlines.compute": statutory due moments, set by the analyst in the Modeler.

    camunda:properties on the task, either one deadline:
      ``workingDays`` (whole number >= 0) and ``resultVariable`` (the variable to set),
    or several at once, one property each:
      ``due.<variable>`` = working days, e.g. ``due.birthDue`` = 0, ``due.residenceDue`` = 2;
    and optionally
      ``receivedVariable``: the variable holding the moment the days count from (default
        ``receivedAt``; ``birthSupplementedAt`` when a supplement restarts a part's clock), or ``now``:
        the moment this step runs, for a part that really starts only when an earlier one ends;
      ``startedVariable``: variable(s), comma-separated, that keep that moment, so that a later step
        of the same part counts from the same start (the residence's 5 days of verification);
      ``latest.<variable>`` = variables, comma-separated: <variable> becomes the latest of its own
        value and theirs (after this step's), e.g. ``latest.dossierDue`` = ``birthDue,residenceDue``:
        the dossier is never due before one of its parts.
    The counted-from variable is an ISO 8601 date-time with offset. Returns ``{variable: due (UTC ISO)}``
    and the started and latest variables. Bad configuration raises ValueError: a technical failure
    that ends as an incident.
    """
    where = f"service task '{task.activity_id}' ({TOPIC})"
    wanted = {name[len(DUE_PREFIX):].strip(): _working_days(value, where, name)
              for name, value in task.properties.items() if name.startswith(DUE_PREFIX)}
    latest = {name[len(LATEST_PREFIX):].strip(): _names(value)
              for name, value in task.properties.items() if name.startswith(LATEST_PREFIX)}
    if "workingDays" in task.properties or "resultVariable" in task.properties or not (wanted or latest):
        result_variable = str(task.properties.get("resultVariable") or "").strip()
        if not result_variable:
            raise ValueError(f"{where}: camunda property 'resultVariable' is missing")
        wanted[result_variable] = _working_days(task.properties.get("workingDays"), where, "workingDays")
    if "" in wanted or "" in latest:
        raise ValueError(f"{where}: a camunda property '{DUE_PREFIX}' or '{LATEST_PREFIX}' names no variable")
    result: dict[str, str] = {}
    if wanted:
        received_at = _counted_from(task, where)
        result = {name: due_date(received_at, days, task.timezone).isoformat() for name, days in wanted.items()}
        for name in _names(task.properties.get("startedVariable")):
            result[name] = received_at.astimezone(task.timezone).isoformat()
    for target, sources in latest.items():
        moments = [parse_received_at(value, where, name) for name in (target, *sources)
                   if (value := result.get(name, task.variables.get(name))) not in (None, "")]
        if moments:
            result[target] = max(moments).astimezone(timezone.utc).isoformat()
    return result


@handler(ESCALATE_TOPIC)
def escalate_overdue_task(task: TaskContext) -> dict:
    """Service task "deadlines.escalate", after a non-interrupting timer on an officer's task.

    camunda:properties: ``task`` (the id of the overdue user task) and ``candidateGroup`` (the
    supervisors who must now see it too). The task stays with its officers; the supervisors'
    inbox gets it as well (Camunda's identity link). The breach is recorded in the process
    variable ``deadlineBreaches`` (a list: activity, due, detectedAt, escalatedTo), which the
    dossier status shows. If the officer finished in the meantime, the breach is still recorded.
    """
    where = f"service task '{task.activity_id}' ({ESCALATE_TOPIC})"
    activity = str(task.properties.get("task") or "").strip()
    group = str(task.properties.get("candidateGroup") or "").strip()
    if not activity or not group:
        raise ValueError(f"{where}: camunda properties 'task' and 'candidateGroup' are required")
    with task.reading() as session:
        open_tasks = list(session.execute(select(m.Task.id, m.Task.due).where(
            m.Task.instance_id == task.instance_id, m.Task.activity_id == activity)))
    for task_id, _ in open_tasks:
        task.add_candidate_group(task_id, group, actor="system:deadlines")
    due = next((d.isoformat() for _, d in open_tasks if d is not None), None)
    breach = {"activity": activity, "due": due, "detectedAt": task.now().isoformat(),
              "escalatedTo": group, "taskOpen": bool(open_tasks)}
    log.warning("deadline breached", extra={"instance": task.instance_id, "dossier": task.business_key,
                                            "activity": activity, "escalated_to": group})
    return {"deadlineBreaches": [*(task.variables.get("deadlineBreaches") or []), breach]}
