"""Time, injectable: the engine never calls datetime.now() itself, so tests move time by hand."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# Where dossiers are received: the zone of dates written without one, unless LIENTHONG_TIMEZONE says
# otherwise (lienthong/settings.py). The one place the name is written.
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def default_zone() -> ZoneInfo:
    """The zone of a caller that was given none (a unit test, a form loaded outside the service)."""
    return ZoneInfo(DEFAULT_TIMEZONE)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that stands still until told to move (tests, simulations)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs) -> datetime:
        self._now += delta or timedelta(**kwargs)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without a zone; every stored datetime is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)
