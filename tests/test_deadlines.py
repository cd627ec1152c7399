"""handlers/deadlines.py: Vietnamese working days, the 15:00 cut-off, statutory due moments.

Every table row names the weekday of its dates; `_d` checks that name against Python's calendar,
so a mistyped date fails loudly instead of testing the wrong thing.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.handler_registry import TaskContext, registry
from handlers import deadlines
from handlers.deadlines import (
    CLOSING,
    CUTOFF,
    VN_ZONE,
    compute_deadline,
    counting_start,
    due_date,
    is_working_day,
    working_days_between,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _d(text: str) -> date:
    """'Mon 2026-03-02' -> date(2026, 3, 2), checking the weekday."""
    name, iso = text.split()
    day = date.fromisoformat(iso)
    assert WEEKDAYS[day.weekday()] == name, f"{iso} is a {WEEKDAYS[day.weekday()]}, not {name}"
    return day


def _vn(text: str) -> datetime:
    """'Mon 2026-03-02 10:00' (Vietnam time) -> aware datetime."""
    name, iso, clock = text.split()
    day = _d(f"{name} {iso}")
    return datetime.combine(day, datetime.strptime(clock, "%H:%M:%S" if clock.count(":") == 2 else "%H:%M").time(), tzinfo=VN_ZONE)


def _due(text: str) -> datetime:
    """'Wed 2026-03-04' -> 17:00 Vietnam time that day, in UTC (10:00Z)."""
    return datetime.combine(_d(text), CLOSING, tzinfo=VN_ZONE).astimezone(timezone.utc)


def test_constants():
    assert str(VN_ZONE) == "Asia/Ho_Chi_Minh"
    assert (CUTOFF.hour, CUTOFF.minute, CUTOFF.second) == (15, 0, 0)
    assert (CLOSING.hour, CLOSING.minute) == (17, 0)


@pytest.mark.parametrize(
    "day, working, why",
    [
        ("Mon 2026-03-02", True, "ordinary weekday"),
        ("Fri 2026-03-06", True, "ordinary weekday"),
        ("Sat 2026-03-07", False, "weekend"),
        ("Sun 2026-03-08", False, "weekend"),
        ("Thu 2026-01-01", False, "New Year"),
        ("Fri 2026-01-02", True, "day after New Year"),
        ("Fri 2026-02-13", True, "last working day before Tết"),
        ("Mon 2026-02-16", False, "Tết: eve (29 Tết)"),
        ("Tue 2026-02-17", False, "Tết: first day of the lunar year"),
        ("Wed 2026-02-18", False, "Tết"),
        ("Thu 2026-02-19", False, "Tết"),
        ("Fri 2026-02-20", False, "Tết: fourth day"),
        ("Mon 2026-02-23", True, "first working day after Tết"),
        ("Sun 2026-04-26", False, "Hùng Kings (10/3 lunar) on a Sunday"),
        ("Mon 2026-04-27", False, "Hùng Kings: compensatory day off (nghỉ bù)"),
        ("Tue 2026-04-28", True, "ordinary weekday"),
        ("Thu 2026-04-30", False, "Reunification Day"),
        ("Fri 2026-05-01", False, "Labour Day"),
        ("Sat 2026-08-22", True, "Saturday worked in exchange for 31 Aug (hoán đổi)"),
        ("Mon 2026-08-31", False, "bridge day off swapped from 22 Aug"),
        ("Tue 2026-09-01", False, "National Day (second day)"),
        ("Wed 2026-09-02", False, "National Day"),
        ("Thu 2026-09-03", True, "ordinary weekday"),
        ("Tue 2026-11-24", False, "Vietnam Cultural Day (from 2026)"),
        # Other years, to show the package covers them.
        ("Mon 2025-04-07", False, "Hùng Kings 2025"),
        ("Wed 2025-01-29", False, "Tết 2025"),
        ("Mon 2025-01-27", False, "Tết 2025 (weekend day moved to a weekday)"),
        ("Sat 2025-04-26", True, "Saturday worked in exchange for 2 May 2025"),
        ("Fri 2025-05-02", False, "bridge day off 2025"),
        ("Fri 2027-04-16", False, "Hùng Kings 2027"),
        ("Mon 2027-02-08", False, "Tết 2027"),
        ("Wed 2027-02-10", False, "Tết 2027 (weekend days moved)"),
        ("Thu 2027-02-11", True, "after Tết 2027"),
        ("Mon 2027-05-03", False, "Labour Day 2027 on Saturday: nghỉ bù"),
    ],
)
def test_is_working_day(day, working, why):
    assert is_working_day(_d(day)) is working, why


def test_tet_is_five_weekdays_in_each_year():
    for year, first, last in [(2025, "Mon 2025-01-27", "Fri 2025-01-31"), (2026, "Mon 2026-02-16", "Fri 2026-02-20"),
                              (2027, "Thu 2027-02-04", "Wed 2027-02-10")]:
        span = [_d(first) + timedelta(days=i) for i in range((_d(last) - _d(first)).days + 1)]
        off = [d for d in span if d.weekday() < 5 and not is_working_day(d)]
        assert len(off) == 5, (year, off)


def test_is_working_day_refuses_a_datetime():
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 3, 2, 10, tzinfo=VN_ZONE))


@pytest.mark.parametrize(
    "received, start",
    [
        ("Mon 2026-03-02 10:00", "Mon 2026-03-02"),
        ("Mon 2026-03-02 00:00", "Mon 2026-03-02"),
        ("Mon 2026-03-02 14:59:59", "Mon 2026-03-02"),
        ("Mon 2026-03-02 15:00:00", "Mon 2026-03-02"),  # the cut-off itself still counts the same day
        ("Mon 2026-03-02 15:00:01", "Tue 2026-03-03"),
        ("Mon 2026-03-02 16:00", "Tue 2026-03-03"),
        ("Mon 2026-03-02 23:59:59", "Tue 2026-03-03"),
        ("Fri 2026-03-06 16:00", "Mon 2026-03-09"),
        ("Sat 2026-03-07 09:00", "Mon 2026-03-09"),
        ("Sun 2026-03-08 20:00", "Mon 2026-03-09"),
        ("Fri 2026-02-13 15:30", "Mon 2026-02-23"),  # after the cut-off the day before Tết
        ("Tue 2026-02-17 09:00", "Mon 2026-02-23"),  # during Tết
        ("Fri 2026-04-24 16:00", "Tue 2026-04-28"),  # Hùng Kings observed on Monday 27
        ("Sat 2026-08-22 10:00", "Sat 2026-08-22"),  # a worked Saturday counts
        ("Sat 2026-08-22 16:00", "Mon 2026-08-24"),
    ],
)
def test_counting_start(received, start):
    assert counting_start(_vn(received)) == _d(start)


def test_cutoff_microsecond_after_counts_next_day():
    at = _vn("Mon 2026-03-02 15:00:00")
    assert counting_start(at) == _d("Mon 2026-03-02")
    assert counting_start(at + timedelta(microseconds=1)) == _d("Tue 2026-03-03")


@pytest.mark.parametrize(
    "received_utc, start, why",
    [
        # 08:00Z = 15:00 in Vietnam (UTC+7): still the same day.
        (datetime(2026, 3, 2, 8, 0, 0, tzinfo=timezone.utc), "Mon 2026-03-02", "15:00:00 local"),
        # 08:00:01Z = 15:00:01 local: next day, although it is only 08:00 in UTC.
        (datetime(2026, 3, 2, 8, 0, 1, tzinfo=timezone.utc), "Tue 2026-03-03", "15:00:01 local"),
        # 20:00Z Sunday = 03:00 Monday in Vietnam: Monday counts.
        (datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc), "Mon 2026-03-02", "Sunday UTC is Monday in Vietnam"),
        # 18:00Z Thursday 12 Feb = 01:00 Friday 13 Feb local.
        (datetime(2026, 2, 12, 18, 0, tzinfo=timezone.utc), "Fri 2026-02-13", "next local day"),
        # A +09:00 offset (Tokyo): 17:00 there is 15:00 in Vietnam.
        (datetime(2026, 3, 2, 17, 0, tzinfo=timezone(timedelta(hours=9))), "Mon 2026-03-02", "other offset"),
    ],
)
def test_counting_start_converts_to_vietnam_time(received_utc, start, why):
    assert counting_start(received_utc) == _d(start), why


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        counting_start(datetime(2026, 3, 2, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        due_date(datetime(2026, 3, 2, 10, 0), 2)


@pytest.mark.parametrize(
    "received, days, due",
    [
        # The examples of the brief.
        ("Mon 2026-03-02 10:00", 0, "Mon 2026-03-02"),
        ("Mon 2026-03-02 10:00", 2, "Wed 2026-03-04"),
        ("Mon 2026-03-02 16:00", 0, "Tue 2026-03-03"),
        ("Fri 2026-03-06 16:00", 2, "Wed 2026-03-11"),
        # The boundary.
        ("Mon 2026-03-02 15:00:00", 2, "Wed 2026-03-04"),
        ("Mon 2026-03-02 15:00:01", 2, "Thu 2026-03-05"),
        # 5 days runs over a weekend.
        ("Mon 2026-03-02 10:00", 5, "Mon 2026-03-09"),
        ("Wed 2026-03-04 09:00", 5, "Wed 2026-03-11"),
        ("Wed 2026-03-04 15:30", 5, "Thu 2026-03-12"),
        ("Fri 2026-03-06 10:00", 1, "Mon 2026-03-09"),
        # Tết 2026 (16–20 Feb): received the day before Tết counts after it.
        ("Fri 2026-02-13 10:00", 0, "Fri 2026-02-13"),
        ("Fri 2026-02-13 16:00", 0, "Mon 2026-02-23"),
        ("Fri 2026-02-13 10:00", 2, "Tue 2026-02-24"),
        ("Fri 2026-02-13 16:00", 2, "Wed 2026-02-25"),
        ("Thu 2026-02-12 10:00", 2, "Mon 2026-02-23"),
        ("Thu 2026-02-12 10:00", 5, "Thu 2026-02-26"),
        # Hùng Kings 2026 (Sun 26 Apr, off on Mon 27), then 30/4 and 1/5.
        ("Fri 2026-04-24 10:00", 0, "Fri 2026-04-24"),
        ("Fri 2026-04-24 10:00", 2, "Wed 2026-04-29"),
        ("Fri 2026-04-24 10:00", 5, "Wed 2026-05-06"),
        ("Fri 2026-04-24 16:00", 2, "Mon 2026-05-04"),  # start Tue 28; Thu 30, Fri 1 off
        # National Day 2026 with the 31 Aug bridge day; the swapped Saturday 22 Aug is worked.
        ("Fri 2026-08-28 10:00", 2, "Fri 2026-09-04"),
        ("Fri 2026-08-21 10:00", 2, "Mon 2026-08-24"),
    ],
)
def test_due_date(received, days, due):
    result = due_date(_vn(received), days)
    assert result == _due(due)
    assert result.tzinfo is timezone.utc
    assert result.astimezone(VN_ZONE).hour == 17


def test_due_date_is_utc_iso():
    assert due_date(_vn("Mon 2026-03-02 10:00"), 2).isoformat() == "2026-03-04T10:00:00+00:00"


@pytest.mark.parametrize("bad", [-1, -5])
def test_due_date_refuses_negative_days(bad):
    with pytest.raises(ValueError, match="0 or more"):
        due_date(_vn("Mon 2026-03-02 10:00"), bad)


@pytest.mark.parametrize("bad", [2.0, "2", True, None])
def test_due_date_refuses_non_int_days(bad):
    with pytest.raises(TypeError):
        due_date(_vn("Mon 2026-03-02 10:00"), bad)


@pytest.mark.parametrize(
    "start, end, count",
    [
        ("Wed 2026-03-04 17:00", "Wed 2026-03-04 18:00", 0),  # late the same day: 0 whole days
        ("Wed 2026-03-04 17:00", "Thu 2026-03-05 09:00", 1),
        ("Wed 2026-03-04 17:00", "Fri 2026-03-06 09:00", 2),
        ("Wed 2026-03-04 17:00", "Sun 2026-03-08 09:00", 2),
        ("Wed 2026-03-04 17:00", "Mon 2026-03-09 09:00", 3),
        ("Fri 2026-02-13 17:00", "Mon 2026-02-23 08:00", 1),  # Tết does not count
        ("Fri 2026-04-24 17:00", "Tue 2026-04-28 08:00", 1),  # Hùng Kings observed does not count
        ("Mon 2026-03-09 09:00", "Wed 2026-03-04 17:00", -3),  # reversed: negative
    ],
)
def test_working_days_between(start, end, count):
    assert working_days_between(_vn(start), _vn(end)) == count


def test_working_days_between_uses_vietnam_dates():
    # 16:30Z Wed = 23:30 Wed in Vietnam; 17:30Z Wed = 00:30 Thu in Vietnam.
    due = _vn("Wed 2026-03-04 17:00")
    assert working_days_between(due, datetime(2026, 3, 4, 16, 30, tzinfo=timezone.utc)) == 0
    assert working_days_between(due, datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc)) == 1


@pytest.mark.parametrize("days", [0, 1, 2, 3, 5, 10])
@pytest.mark.parametrize("received", ["Mon 2026-03-02 10:00", "Fri 2026-02-13 15:00", "Fri 2026-04-24 08:00",
                                      "Fri 2026-08-28 11:00"])
def test_between_inverts_due_date_for_timely_receipts(received, days):
    at = _vn(received)
    assert working_days_between(at, due_date(at, days)) == days


# -- the handler -------------------------------------------------------------------------------


def _task(properties: dict, variables: dict) -> TaskContext:
    return TaskContext(
        topic="deadlines.compute",
        variables=variables,
        properties=properties,
        instance_id="pi-1",
        business_key="000.00.00.H00-260302-0001",
        activity_id="ComputeResidenceDue",
        definition_key="birth_linked",
        idempotency_key="job-1",
    )


def test_handler_is_registered():
    assert registry.get("deadlines.compute") is compute_deadline
    assert deadlines.TOPIC == "deadlines.compute"


@pytest.mark.parametrize(
    "received, days, due",
    [
        ("2026-03-02T10:00:00+07:00", "2", "2026-03-04T10:00:00+00:00"),
        ("2026-03-02T08:00:01Z", "2", "2026-03-05T10:00:00+00:00"),  # 15:00:01 in Vietnam
        ("2026-03-02T08:00:00+00:00", "0", "2026-03-02T10:00:00+00:00"),
        ("2026-02-13T16:00:00+07:00", " 5 ", "2026-03-02T10:00:00+00:00"),  # Tết: start Mon 23 Feb
    ],
)
def test_handler_computes_due(received, days, due):
    result = compute_deadline(_task({"workingDays": days, "resultVariable": "residenceDue"}, {"receivedAt": received}))
    assert result == {"residenceDue": due}


def test_handler_accepts_a_datetime_variable():
    result = compute_deadline(_task({"workingDays": "2", "resultVariable": "due"},
                                    {"receivedAt": _vn("Mon 2026-03-02 10:00")}))
    assert result == {"due": "2026-03-04T10:00:00+00:00"}


@pytest.mark.parametrize(
    "properties, variables, message",
    [
        ({"resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "'workingDays' is missing"),
        ({"workingDays": "", "resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "'workingDays' is missing"),
        ({"workingDays": "two", "resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "not a whole number"),
        ({"workingDays": "2.5", "resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "not a whole number"),
        ({"workingDays": "-1", "resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "0 or more"),
        ({"workingDays": "2"}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "'resultVariable' is missing"),
        ({"workingDays": "2", "resultVariable": "  "}, {"receivedAt": "2026-03-02T10:00:00+07:00"}, "'resultVariable' is missing"),
        ({"workingDays": "2", "resultVariable": "due"}, {}, "'receivedAt' is missing"),
        ({"workingDays": "2", "resultVariable": "due"}, {"receivedAt": None}, "'receivedAt' is missing"),
        ({"workingDays": "2", "resultVariable": "due"}, {"receivedAt": "yesterday"}, "not an ISO 8601"),
        ({"workingDays": "2", "resultVariable": "due"}, {"receivedAt": "2026-03-02T10:00:00"}, "needs a UTC offset"),
        ({"workingDays": "2", "resultVariable": "due"}, {"receivedAt": 1772420400}, "must be an ISO 8601 string"),
    ],
)
def test_handler_errors(properties, variables, message):
    with pytest.raises(ValueError, match=message) as caught:
        compute_deadline(_task(properties, variables))
    assert "ComputeResidenceDue" in str(caught.value)


# -- restarts, later parts, the latest due (issue 15) -------------------------------------------


class _Services:
    """What compute_deadline uses of the engine's services: the clock and the zone."""

    def __init__(self, now: datetime):
        self.clock = type("Clock", (), {"now": staticmethod(lambda: now)})()
        self.timezone = VN_ZONE


def _running(properties: dict, variables: dict, now: str) -> TaskContext:
    return TaskContext(topic="deadlines.compute", variables=variables, properties=properties, instance_id="pi-1",
                       business_key="H19.87.001-261130-0001", activity_id="Task_LaterPartsDue",
                       definition_key="birth_linked", idempotency_key="job-1", services=_Services(_vn(now)))


def test_a_part_that_starts_now_counts_from_now_and_keeps_its_start():
    result = compute_deadline(_running({"receivedVariable": "now", "due.residenceDue": "2", "due.bhytDue": "2",
                                        "startedVariable": "residenceStartedAt, bhytStartedAt"},
                                       {"receivedAt": "2026-03-02T09:00:00+07:00"}, "Wed 2026-03-04 16:00"))
    # Started after 15:00 on Wednesday: counts from Thursday, due Monday.
    assert result == {"residenceDue": "2026-03-09T10:00:00+00:00", "bhytDue": "2026-03-09T10:00:00+00:00",
                      "residenceStartedAt": "2026-03-04T16:00:00+07:00", "bhytStartedAt": "2026-03-04T16:00:00+07:00"}


def test_latest_never_moves_a_due_moment_earlier():
    variables = {"residenceSupplementedAt": "2026-03-05T09:00:00+07:00", "birthDue": "2026-03-02T10:00:00+00:00",
                 "dossierDue": "2026-03-05T10:00:00+00:00", "bhytDue": "2026-03-04T10:00:00+00:00"}
    properties = {"receivedVariable": "residenceSupplementedAt", "due.residenceDue": "2",
                  "latest.dossierDue": "birthDue,residenceDue,bhytDue"}
    result = compute_deadline(_task(properties, variables))
    assert result == {"residenceDue": "2026-03-09T10:00:00+00:00", "dossierDue": "2026-03-09T10:00:00+00:00"}
    # A part due earlier than the dossier leaves the dossier's due as it was.
    earlier = compute_deadline(_task({**properties, "receivedVariable": "receivedAt"},
                                     {**variables, "receivedAt": "2026-03-02T09:00:00+07:00"}))
    assert earlier["dossierDue"] == "2026-03-05T10:00:00+00:00"


def test_latest_skips_parts_without_a_due_and_an_unnamed_target_is_refused():
    assert compute_deadline(_task({"latest.dossierDue": "residenceDue,bhytDue"},
                                  {"bhytDue": "2026-03-04T10:00:00+00:00"})) == {"dossierDue": "2026-03-04T10:00:00+00:00"}
    with pytest.raises(ValueError, match="names no variable"):
        compute_deadline(_task({"latest.": "bhytDue"}, {"bhytDue": "2026-03-04T10:00:00+00:00"}))
