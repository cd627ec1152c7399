"""Timer cycles as Camunda 7 reads them: an ISO 8601 repeating interval (`R3/PT10M`,
`R/2026-12-01T08:00/P1D`, `R/PT1H` forever), or else a Quartz cron expression (`0 0/5 * * * ?`,
`0 0 8 ? * MON-FRI`): seconds, minutes, hours, day of month, month, day of week, optional year.

Cron is evaluated in the service's time zone (LIENTHONG_TIMEZONE), as Camunda evaluates it in the
server's, by croniter; Quartz's days of the week count 1 = Sunday .. 7 = Saturday, croniter's
0 = Sunday, so numbers in that field are shifted. A cycle's state is plain JSON (it is stored in
the instance and in a timer-start job's schedule)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

MAX_YEARS_BETWEEN = 100  # the timers' century bound (engine/bpmn/specs.py): a cron that never matches is refused


def is_cron(text: str) -> bool:
    return not text.strip().upper().startswith("R")


def _quartz_to_croniter(text: str) -> str:
    fields = text.split()
    if len(fields) == 7:
        if fields[6] not in ("*", "?"):
            raise ValueError(f"'{text}': a year in a cron cycle is not supported; write * or leave it out")
        fields = fields[:6]
    if len(fields) != 6:
        raise ValueError(f"'{text}' is neither an ISO 8601 cycle such as R3/PT10M nor a cron expression of six "
                         "fields (seconds minutes hours day-of-month month day-of-week, e.g. 0 0/5 * * * ?)")
    if "?" not in (fields[3], fields[5]):
        raise ValueError(f"'{text}': in a cron expression one of day-of-month and day-of-week must be ? "
                         "(e.g. 0 0 8 ? * MON-FRI)")
    # Quartz 1..7 (Sunday first) -> croniter 0..6; not the number after # (the nth weekday) or / (a step)
    fields[5] = re.sub(r"(?<![#/])\b([1-7])\b", lambda m: str(int(m.group(1)) - 1), fields[5])
    return " ".join(fields)


def cron_after(text: str, after: datetime, zone) -> datetime:
    """The first firing of a Quartz cron expression strictly after `after`, in UTC."""
    expression = _quartz_to_croniter(text.strip())
    try:
        iterator = croniter(expression, after.astimezone(zone), second_at_beginning=True,
                            max_years_between_matches=MAX_YEARS_BETWEEN)
        moment = iterator.get_next(datetime)
    except CroniterBadDateError:  # a ValueError too: first
        raise ValueError(f"'{text}' never fires within {MAX_YEARS_BETWEEN} years") from None
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise ValueError(f"'{text}' is not a valid cron expression ({exc})") from None
    return moment.astimezone(timezone.utc)


def first_state(text: str, now: datetime, zone, parse_datetime, duration_from) -> dict:
    """{"cycles": left (-1 forever), "next": ISO moment, and "duration" (seconds) or "cron"}."""
    text = text.strip()
    if is_cron(text):
        return {"cycles": -1, "next": cron_after(text, now, zone).isoformat(), "cron": text}
    parts = text.upper().split("/")
    if len(parts) not in (2, 3):
        raise ValueError(f"'{text}' is not an ISO 8601 repeating interval such as R3/PT10M")
    if parts[0][1:] and not parts[0][1:].isdigit():
        raise ValueError(f"'{text}' has no whole number of repetitions after R")
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    if len(parts) == 3:
        start = parse_datetime(parts[1], zone)
        step = duration_from(parts[2], start)
    else:
        step = duration_from(parts[1], now)
        start = now + step
    if step <= timedelta(0):
        raise ValueError(f"'{text}' repeats without time passing")
    return {"cycles": cycles, "next": start.isoformat(), "duration": step.total_seconds()}


def following(state: dict, due: datetime, zone) -> datetime:
    """The firing after the one due at `due`."""
    if "cron" in state:
        return cron_after(state["cron"], due, zone)
    return due + timedelta(seconds=state["duration"])
