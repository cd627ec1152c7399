"""`now()` and `dateTime()` in `${...}`, as Camunda 7's JUEL has them (docs: "Expression Language",
internal context functions): `now()` is the current moment (a java.util.Date), `dateTime()` a Joda
DateTime in the server's zone, with the calls analysts write in due dates, timers and conditions:

    ${now()}    ${dateTime().plusDays(2).toDate()}    ${dateTime().plusHours(4)}    ${dateTime().toString()}

The moment comes from the engine's clock (a ManualClock in tests) and the zone is the service's
(LIENTHONG_TIMEZONE). Nothing else can be called: the names are checked when the expression is
compiled, and a method only applies to a DateTime.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .expression_values import EvaluationFailure, kind_of, show

FUNCTIONS = ("now", "dateTime")
_UNITS = {"Weeks": "weeks", "Days": "days", "Hours": "hours", "Minutes": "minutes", "Seconds": "seconds"}
METHODS = frozenset({f"{sign}{unit}" for sign in ("plus", "minus") for unit in (*_UNITS, "Months", "Years")}
                    | {"toDate", "toString"})


class Moments:
    """What now() and dateTime() read: the engine's clock and the service's zone."""

    def __init__(self, clock, zone):
        self.clock = clock
        self.zone = zone


@dataclass(frozen=True)
class DateTime:
    """A Joda DateTime: an aware moment shown in the zone it was made in."""

    moment: datetime

    def __str__(self) -> str:
        return self.to_string()

    def to_string(self) -> str:
        # Joda's ISODateTimeFormat: milliseconds and the offset (2026-12-06T10:00:00.000+07:00)
        text = self.moment.isoformat(timespec="milliseconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def call_function(name: str, moments: Moments | None) -> Any:
    if moments is None:
        raise EvaluationFailure(f"{name}() needs the engine's clock, which this expression is not evaluated with")
    now = moments.clock.now()
    if name == "now":
        return now.astimezone(timezone.utc)
    return DateTime(now.astimezone(moments.zone))


def call_method(target: Any, name: str, arguments: list) -> Any:
    if not isinstance(target, DateTime):
        raise EvaluationFailure(f"cannot call {name}() on a {kind_of(target)} {show(target)}: "
                                "only dateTime() has methods")
    if name == "toDate":
        _arity(name, arguments, 0)
        return target.moment.astimezone(timezone.utc)
    if name == "toString":
        _arity(name, arguments, 0)
        return target.to_string()
    _arity(name, arguments, 1)
    amount = arguments[0]
    if type(amount) is not int:
        raise EvaluationFailure(f"{name}() needs a whole number, got {kind_of(amount)} {show(amount)}")
    sign = 1 if name.startswith("plus") else -1
    unit = name[4:] if sign == 1 else name[5:]
    try:
        if unit in _UNITS:
            return DateTime(_wall_clock(target.moment, timedelta(**{_UNITS[unit]: sign * amount})))
        months = sign * amount * (12 if unit == "Years" else 1)
        return DateTime(_add_months(target.moment, months))
    except OverflowError:
        raise EvaluationFailure(f"{name}({amount}) leaves the calendar") from None


def _arity(name: str, arguments: list, count: int) -> None:
    if len(arguments) != count:
        raise EvaluationFailure(f"{name}() takes {count} argument{'s' if count != 1 else ''}, got {len(arguments)}")


def _wall_clock(moment: datetime, delta: timedelta) -> datetime:
    # Joda adds days on the local calendar (a DST change keeps the hour); hours and less are exact.
    if delta % timedelta(days=1):
        return (moment.astimezone(timezone.utc) + delta).astimezone(moment.tzinfo)
    return (moment.replace(tzinfo=None) + delta).replace(tzinfo=moment.tzinfo)


def _add_months(moment: datetime, months: int) -> datetime:
    """Joda's plusMonths: the same day of the month, or the month's last day when it is shorter."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
