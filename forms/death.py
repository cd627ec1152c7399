"""The citizen's one death declaration (tờ khai liên thông khai tử – xóa đăng ký thường trú – mai
táng phí, trợ cấp tuất).

Same conventions as the birth declaration (forms/common.py): English keys, Vietnamese messages,
every problem at once keyed by field path, unknown keys refused, dates as ISO strings.

    {"receivingAgency",
     "requester": {fullName, idNumber, dateOfBirth, residence, relationship (to the deceased), phone, email?},
     "deceased": {fullName, dateOfBirth, sex, ethnicity, nationality, lastResidence, idNumber},
     "death": {diedAt, place, cause, noticeNumber, noticeIssuedBy, noticeIssuedOn},
     "burial": {date, place} | absent | null,
     "parts": ["death", "residence"] (+ "funeral" (+ "survivor")), "delivery", "copies", "commitment"}

`death.diedAt` is the time of death as ISO 8601, to the minute, with or without a UTC offset
("2026-11-20T14:30" is Vietnam time, as the death notice records it; "2026-11-20T07:30Z" is
converted); it loads as Vietnam wall-clock time "YYYY-MM-DDTHH:MM" (see common.IsoDateTime). One
value rather than a date and a time apart: the checks against the birth, the notice and the
burial need the day, and an offset written by a portal abroad converts the two together.

`burial` (ngày, nơi mai táng) is what form 04 (the funeral support request) asks: required, both
date and place, when the citizen files for funeral support ("funeral" in parts); optional
otherwise. "survivor" (trợ cấp tuất) needs nothing more from the citizen here.

Checks: the deceased's ID number against their sex and year of birth, the requester's against
their year of birth; no date after the day of receipt (`today`; the time of death is compared by
its day only); death not before birth, the notice not before the death, the burial not before
the death. No time limit for declaring a death is imposed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from marshmallow import validates_schema

from engine.clock import default_zone
from engine.form_registry import form_schema

from . import catalogues, common
from .common import (
    CitizenForm,
    Form,
    IsoDate,
    IsoDateTime,
    OptionalText,
    Parts,
    Problems,
    Section,
    Text,
    id_matches_person,
    iso_date,
    section_of,
    sex_choice,
)
from .personal_id import PersonalIdField, normalise

ALLOWED_PARTS = (  # the domain's 2, 3 or 4 procedures, each group in the canonical order
    ("death", "residence"),
    ("death", "residence", "funeral"),
    ("death", "residence", "funeral", "survivor"),
)
PART_NAMES = {"death": "khai tử", "residence": "xóa đăng ký thường trú", "funeral": "mai táng phí",
              "survivor": "trợ cấp tuất"}
PART_ORDER = ("death", "residence", "funeral", "survivor")
BURIAL_NEEDED = "(cần cho tờ khai đề nghị hỗ trợ chi phí mai táng)"


class RequesterSchema(Form):
    fullName = common.PersonName("họ, chữ đệm và tên người đi đăng ký")
    idNumber = PersonalIdField(required=True)
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người đi đăng ký")
    residence = Text("nơi cư trú")
    relationship = common.Relationship("quan hệ với người đã chết", "death")
    phone = common.requester_phone()  # results are announced by SMS
    email = common.requester_email()  # CT01 asks for one; absent stays absent

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)  # the year of birth only: the requester declares no sex


class DeceasedSchema(Form):
    fullName = common.PersonName("họ, chữ đệm và tên người đã chết")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người đã chết")
    sex = sex_choice("giới tính của người đã chết")
    ethnicity = common.ethnicity()
    nationality = common.nationality()
    lastResidence = Text("nơi cư trú cuối cùng của người đã chết")
    idNumber = PersonalIdField(required=True)

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)


class DeathSchema(Form):
    diedAt = IsoDateTime("ngày, giờ chết")
    place = Text("nơi chết")
    cause = Text("nguyên nhân chết")
    noticeNumber = Text("số giấy báo tử")
    noticeIssuedBy = Text("nơi cấp giấy báo tử")
    noticeIssuedOn = IsoDate("ngày cấp giấy báo tử")


class BurialSchema(Form):
    """Both optional here; the declaration requires them when funeral support is asked."""

    date = IsoDate("ngày mai táng", required=False, allow_none=True)
    place = OptionalText("nơi mai táng")


@form_schema("death-declaration")
class DeathDeclarationSchema(CitizenForm):
    """Load with `DeathDeclarationSchema(today=date(...)).load(data)`; `today` defaults to Vietnam's date."""

    receivingAgency = Text("cơ quan tiếp nhận hồ sơ")
    requester = Section(RequesterSchema, "thông tin người đi đăng ký")
    deceased = Section(DeceasedSchema, "thông tin người đã chết")
    death = Section(DeathSchema, "thông tin về việc chết")
    burial = Section(BurialSchema, "thông tin mai táng", required=False, allow_none=True)
    parts = Parts(ALLOWED_PARTS, PART_NAMES)
    delivery = common.delivery()
    copies = common.copies()
    commitment = common.commitment()

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def facts_agree(self, data, original_data, **kwargs):
        # Runs even when other fields failed, so that every problem is reported in one answer;
        # hence each section is looked up defensively (a failed section may be absent or partial).
        today, problems = self.today, Problems()
        requester, deceased = section_of(data, "requester"), section_of(data, "deceased")
        death, burial = section_of(data, "death"), section_of(data, "burial")
        born, died = iso_date(deceased.get("dateOfBirth")), iso_date(death.get("diedAt"))
        notice, buried = iso_date(death.get("noticeIssuedOn")), iso_date(burial.get("date"))

        def by_today(day, path, what):
            """`day`, or None (reported) when it is after today: nothing more is compared to it."""
            if day and day > today:
                problems.add(path, f"{what} không được sau ngày hôm nay.")
                return None
            return day

        requester_born = by_today(iso_date(requester.get("dateOfBirth")), "requester.dateOfBirth",
                                  "Ngày sinh của người đi đăng ký")
        adult = catalogues.limits()["deathRequesterMinAge"]
        if requester_born and age_on(requester_born, today) < adult:
            problems.add("requester.dateOfBirth", f"Người đi đăng ký khai tử phải từ {adult} tuổi trở lên "
                                                  f"(theo ngày sinh đã khai, mới {age_on(requester_born, today)} tuổi).")
        born = by_today(born, "deceased.dateOfBirth", "Ngày sinh của người đã chết")
        died = by_today(died, "death.diedAt", "Ngày chết")
        now = self.now
        if died and now and died == now.date() and death["diedAt"] > now.isoformat(timespec="minutes"):
            problems.add("death.diedAt", f"Giờ chết không được sau thời điểm hiện tại ({now:%H:%M} ngày {now:%d/%m/%Y}).")
            died = None
        notice = by_today(notice, "death.noticeIssuedOn", "Ngày cấp giấy báo tử")
        buried = by_today(buried, "burial.date", "Ngày mai táng")
        if born and died and died < born:
            problems.add("death.diedAt", "Ngày chết không được trước ngày sinh của người đã chết.")
        if died and notice and notice < died:
            problems.add("death.noticeIssuedOn", "Ngày cấp giấy báo tử không được trước ngày chết.")
        if died and buried and buried < died:
            problems.add("burial.date", "Ngày mai táng không được trước ngày chết.")
        if requester.get("idNumber") and requester.get("idNumber") == deceased.get("idNumber"):
            problems.add("requester.idNumber", "Số định danh cá nhân của người đi đăng ký trùng với của người đã chết.")

        if "funeral" in (data.get("parts") or ()):
            # Judged on what was sent: a date sent but malformed already has its own message.
            sent = original_data.get("burial") if isinstance(original_data, Mapping) else None
            if sent is None or isinstance(sent, Mapping):
                sent = sent or {}
                for key, what in (("date", "ngày mai táng"), ("place", "nơi mai táng")):
                    value = sent.get(key)
                    if value is None or (isinstance(value, str) and not value.strip()):
                        problems.add(f"burial.{key}", f"Vui lòng nhập {what} {BURIAL_NEEDED}.")
        problems.raise_any()


# --- reading a filed death declaration (the handlers and the agency stand-ins) ---------------

def died_on(value: Any, zone: tzinfo | None = None) -> date:
    """The day of death from ``death.diedAt``: an ISO date, or an ISO date-time (its day in `zone`)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"the date of death is neither an ISO date nor an ISO date-time: {value!r}") from None
    else:
        raise ValueError(f"the date of death is missing or not an ISO date: {value!r}")
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(zone or default_zone())
    return moment.date()


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day` (born on 29 February: a year older on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def deceased_id_number(declaration: Any, where: str) -> str:
    """The deceased's personal ID number, from the death declaration."""
    if not isinstance(declaration, Mapping):
        raise ValueError(f"{where}: process variable 'declaration' (the death declaration) is missing or not an object")
    deceased = declaration.get("deceased")
    id_number = normalise(deceased.get("idNumber") or "") if isinstance(deceased, Mapping) else ""
    if not id_number:
        raise ValueError(f"{where}: the declaration gives no deceased.idNumber")
    return id_number


def deceased_and_day_of_death(declaration: Any, where: str, zone: tzinfo) -> tuple[str, date]:
    """The deceased's personal ID number and the day of death, from the death declaration."""
    id_number = deceased_id_number(declaration, where)
    death = declaration.get("death")
    if not isinstance(death, Mapping):
        raise ValueError(f"{where}: the declaration gives no death section")
    try:
        return id_number, died_on(death.get("diedAt"), zone)
    except ValueError as exc:
        raise ValueError(f"{where}: death.diedAt: {exc}") from None
