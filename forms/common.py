"""Pieces shared by every declaration: the citizen's (forms/birth.py, forms/death.py) and the official
ones extracted from them (birth_registration, residence, bhyt, death_registration, funeral).

Conventions: keys are English (they become process variables); every error message is Vietnamese
and addressed to the citizen; problems are keyed by field path, e.g. errors["mother"]["idNumber"],
so the portal can point at the field (engine.form_registry flattens them to "mother.idNumber"); unknown
keys are refused. The loaded result is plain JSON: dates stay ISO strings "YYYY-MM-DD" (and a
date-time "YYYY-MM-DDTHH:MM"), because it is stored as process variables and in the audit log,
whose JSON columns cannot hold `date` objects.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from typing import ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.clock import default_zone

from . import catalogues
from .personal_id import check_personal_id

# The zone a declaration is judged in (its "today", a date-time typed with an offset): the one
# the form is given, the service's (DossierService passes the engine's); set while it loads.
_LOADING_ZONE: ContextVar[tzinfo | None] = ContextVar("loading_zone", default=None)


def today_in(zone: tzinfo | None = None) -> date:
    """Today's date in `zone` (the default zone when none is given)."""
    return datetime.now(zone or default_zone()).date()
SEX_CHOICES = ("male", "female")
DELIVERY_CHOICES = ("desk", "post", "electronic")
COMMITMENT = "Bạn phải cam kết thông tin khai là đúng sự thật."


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or that month's last day (29 Feb + 12 months = 28 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# --- fields with Vietnamese messages ----------------------------------------------------------

def first_upper(label: str) -> str:
    return label[:1].upper() + label[1:]  # str.capitalize() would lower-case e.g. "BHYT"


def described(kwargs: dict, description: str, **more) -> dict:
    """`kwargs` with the field's description (and e.g. an example) for the OpenAPI document."""
    kwargs["metadata"] = {"description": description, **more, **kwargs.get("metadata", {})}
    return kwargs


def required_messages(label: str, invalid: str) -> dict[str, str]:
    """A required field's messages: missing or null ask for `label`; `invalid` says what is wrong."""
    message = f"Vui lòng nhập {label}."
    return {"required": message, "null": message, "invalid": invalid}


# Bidirectional controls (embeddings, overrides, isolates, marks) and zero-width characters: U+202E
# makes a printed declaration read "KHAN" where "NAHK" was typed, U+200B hides inside a name.
HIDDEN_CHARACTERS = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def hidden_characters(text: str) -> str:
    """The hidden characters `text` holds, as U+XXXX codes ("" when none)."""
    return ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in HIDDEN_CHARACTERS.findall(text)))


class Text(fields.String):
    """Required text, trimmed, in NFC (a keyboard's decomposed "Trần" is stored as the composed one);
    blank counts as missing (a form's empty box arrives as "" or "  "); bidirectional controls and
    zero-width characters are refused, so what an officer reads and the form prints is what was typed."""

    def __init__(self, label: str, *, invalid: str | None = None, **kwargs):
        kwargs.setdefault("required", True)
        described(kwargs, first_upper(label))
        super().__init__(error_messages=required_messages(label, invalid or f"{first_upper(label)} phải là chữ."), **kwargs)
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = as_typed(self.label, super()._deserialize(value, attr, data, **kwargs))
        if not text:
            raise self.make_error("required")
        return text


def as_typed(label: str, text: str) -> str:
    """`text` trimmed and in NFC; refused when it holds bidirectional controls or zero-width characters."""
    if hidden := hidden_characters(text):
        raise ValidationError(f"{first_upper(label)} chứa ký tự điều khiển hướng chữ hoặc ký tự vô hình "
                              f"({hidden}); vui lòng xóa và gõ lại.")
    return unicodedata.normalize("NFC", text).strip()


_SPACES = re.compile(r"\s+")


class PersonName(Text):
    """A person's full name: Vietnamese (Latin) letters with spaces, hyphens or apostrophes
    between them, within the length limits of forms/data/limits.json; spaces collapsed, NFC (Text)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = _SPACES.sub(" ", super()._deserialize(value, attr, data, **kwargs))
        bounds = catalogues.limits()["nameLength"]
        if not catalogues.is_name(name):
            raise ValidationError(f"{first_upper(self.label)} chỉ gồm chữ cái tiếng Việt, dấu cách, dấu gạch nối "
                                  f"hoặc dấu nháy đơn (không có chữ số hay ký hiệu).")
        if not bounds["min"] <= len(name) <= bounds["max"]:
            raise ValidationError(f"{first_upper(self.label)} phải dài từ {bounds['min']} đến {bounds['max']} ký tự.")
        return name


class CatalogueText(Text):
    """Text that must name an entry of a catalogue (forms/catalogues.py); loads as the entry's name."""

    def __init__(self, label: str, lookup, refusal: str, **kwargs):
        super().__init__(label, **kwargs)
        self.lookup, self.refusal = lookup, refusal

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        written = super()._deserialize(value, attr, data, **kwargs)
        found = self.lookup(written)
        if found is None:
            raise ValidationError(self.refusal.format(written=written))
        return found


def ethnicity(label: str = "dân tộc") -> CatalogueText:
    return CatalogueText(label, catalogues.ethnicity,
                         "\"{written}\" không có trong danh mục 54 dân tộc Việt Nam; vui lòng ghi đúng tên dân tộc, ví dụ Kinh, Tày, Khơ-me.")


def nationality(label: str = "quốc tịch") -> CatalogueText:
    return CatalogueText(label, catalogues.nationality,
                         "\"{written}\" không có trong danh mục quốc gia; vui lòng ghi tên nước, ví dụ Việt Nam.")


class Relationship(Text):
    """The requester's relationship to the person registered, from the catalogue for `kind`."""

    def __init__(self, label: str, kind: str, **kwargs):
        super().__init__(label, **kwargs)
        self.kind = kind

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        written = _SPACES.sub(" ", super()._deserialize(value, attr, data, **kwargs))
        if not catalogues.relationship_known(self.kind, written):
            examples = ", ".join(catalogues.relationships(self.kind)[:6])
            raise ValidationError(f"Quan hệ \"{written}\" không thuộc những người được đi đăng ký; "
                                  f"vui lòng ghi một quan hệ trong danh mục, ví dụ {examples}, người được ủy quyền.")
        return written


class IsoDate(fields.Date):
    """A date written YYYY-MM-DD; loads as that same ISO string (see the module docstring).

    Where the date may be null (allow_none), an empty box ("" or "  ") loads as None too.
    """

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", True)
        described(kwargs, f"{first_upper(label)} (năm-tháng-ngày)", example="2024-05-31")
        super().__init__(error_messages=required_messages(
            label, f"{first_upper(label)} không hợp lệ, hãy nhập theo dạng năm-tháng-ngày (ví dụ 2024-05-31)."), **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if self.allow_none and isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return super()._deserialize(value, attr, data, **kwargs).isoformat()


# "2026-11-20T14:30", "2026-11-20 14:30:00", "2026-11-20T07:30Z", "2026-11-20T14:30:00+07:00"; a date
# alone is refused (the hour is part of what is declared), as are ISO's basic and week forms.
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?")


class IsoDateTime(fields.String):
    """A moment declared to the minute, loaded as Vietnam wall-clock time "YYYY-MM-DDTHH:MM".

    Written as ISO 8601 with or without a UTC offset: without one it is already Vietnam time (what
    a death notice records); with one it is converted to Vietnam time and the offset dropped.
    Seconds are dropped: the paper forms record hours and minutes.
    """

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", True)
        described(kwargs, f"{first_upper(label)}: ISO 8601 đến phút; không ghi múi giờ là giờ Việt Nam", example="2026-11-20T14:30")
        super().__init__(error_messages=required_messages(
            label, f"{first_upper(label)} không hợp lệ, hãy nhập ngày và giờ theo dạng năm-tháng-ngàyTgiờ:phút "
                   f"(ví dụ 2026-11-20T14:30)."), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        if not text:
            raise self.make_error("required")
        if not _DATE_TIME.fullmatch(text):
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:  # e.g. 2026-02-30 or 25:00
            raise self.make_error("invalid") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(_LOADING_ZONE.get() or default_zone()).replace(tzinfo=None)
        return moment.isoformat(timespec="minutes")


class OptionalText(fields.String):
    """Optional text, trimmed and in NFC (as Text); blank or null loads as None (absent stays absent)."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_none", True)
        described(kwargs, f"{first_upper(label)} (không bắt buộc)")
        super().__init__(error_messages={"invalid": f"{first_upper(label)} phải là chữ."}, **kwargs)
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs) -> str | None:
        return as_typed(self.label, super()._deserialize(value, attr, data, **kwargs)) or None


# A Vietnamese mobile number: 10 digits, 0 then the network's 3, 5, 7, 8 or 9 (since the 2018
# renumbering; 02x numbers are landlines). Citizens write it grouped and often internationally.
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_mobile(text: str) -> str | None:
    """"+84 912.345.678", "84912345678", "0912-345-678" -> "0912345678"; None when not a mobile number."""
    number = _PHONE_SEPARATORS.sub("", text)
    for prefix in ("+84", "0084", "84"):
        if number.startswith(prefix) and len(number) - len(prefix) in (9, 10):
            national = number[len(prefix):]
            number = national if national.startswith("0") else "0" + national  # "+84 0912..." also seen
            break
    return number if _MOBILE.fullmatch(number) else None


class MobilePhone(Text):
    """A Vietnamese mobile number, loaded in the national form "0912345678" (for the SMS notices)."""

    def __init__(self, label: str, **kwargs):
        described(kwargs, f"{first_upper(label)}: số di động Việt Nam, 10 chữ số (hoặc +84...)", example="0912345678")
        super().__init__(label, invalid=f"{first_upper(label)} không hợp lệ: hãy nhập số di động Việt Nam gồm 10 chữ số, "
                                        f"ví dụ 0912345678 hoặc +84912345678.", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        number = normalise_mobile(super()._deserialize(value, attr, data, **kwargs))
        if number is None:
            raise self.make_error("invalid")
        if catalogues.mobile_network(number) is None:
            raise ValidationError(f"Đầu số {number[:3]} chưa được cấp cho mạng di động nào; "
                                  f"vui lòng kiểm tra lại số điện thoại di động.")
        return number


class OptionalEmail(fields.Email):
    """An optional e-mail address, trimmed; blank or null loads as None."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_none", True)
        described(kwargs, f"{first_upper(label)} (không bắt buộc)", example="nguyenvanan@gmail.com")
        super().__init__(error_messages={
            "invalid": f"{first_upper(label)} không hợp lệ, ví dụ nguyenvanan@gmail.com."}, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs) -> str | None:
        # Before the address validator runs: an empty box means "no e-mail", not a bad one.
        if isinstance(value, str):
            value = value.strip() or None
        return super().deserialize(value, attr, data, **kwargs)


def choice(label: str, choices, explained: str) -> fields.String:
    message = f"Vui lòng chọn {label}."
    return fields.String(required=True, validate=validate.OneOf(choices, error=f"{first_upper(label)} phải là {explained}."),
                         error_messages={"required": message, "null": message, "invalid": message},
                         metadata={"description": f"{first_upper(label)}: {explained}"})


def sex_choice(label: str = "giới tính") -> fields.String:
    return choice(label, SEX_CHOICES, "nam (male) hoặc nữ (female)")


class Section(fields.Nested):
    """A nested group of fields; a value that is not an object is reported on the group itself.

    (marshmallow would report it as errors[group]["_schema"], which names no field.)
    """

    def __init__(self, schema, label: str, **kwargs):
        message = f"Vui lòng khai {label}."
        kwargs.setdefault("required", True)
        described(kwargs, first_upper(label))
        super().__init__(schema, error_messages={"required": message, "null": message,
                                                 "type": f"Phần {label} gửi lên không đúng dạng."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Mapping):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


def year(label: str) -> fields.Integer:
    # strict: 1984.5 or "1984" would otherwise be silently truncated/converted.
    return fields.Integer(required=True, strict=True, metadata={"description": first_upper(label), "example": 1990},
                          validate=validate.Range(min=1900, error=f"{first_upper(label)} phải từ năm 1900 trở đi."),
                          error_messages=required_messages(label, f"{first_upper(label)} phải là một số, ví dụ 1990."))


class Parts(fields.List):
    """Which procedures of a linked group the citizen files: exactly one of `allowed`, in any order.

    Each allowed group is listed in the canonical order, and the chosen parts load in it (the order
    in which the parts first appear in `allowed`). `names` are the parts' Vietnamese names, from
    which the refusal lists the allowed groups: "Chỉ được chọn một trong các nhóm thủ tục: A + B; ...;
    hoặc A + C."
    """

    def __init__(self, allowed: Sequence[Sequence[str]], names: Mapping[str, str], **kwargs):
        message = "Vui lòng chọn các thủ tục cần thực hiện."
        order = tuple(dict.fromkeys(part for group in allowed for part in group))
        groups = [" + ".join(names[part] for part in group) for group in allowed]
        listed = "; ".join(groups[:-1]) + "; hoặc " + groups[-1] if len(groups) > 1 else groups[0]
        choices = "; ".join(" + ".join(group) for group in allowed)
        described(kwargs, f"Các thủ tục cần thực hiện, một trong các nhóm: {choices}", example=list(allowed[0]))
        super().__init__(fields.String(metadata={"enum": list(order)}, error_messages={"invalid": "Tên thủ tục phải là chữ."}),
                         required=True, error_messages={"required": message, "null": message, "invalid": message}, **kwargs)
        self.allowed = tuple(frozenset(group) for group in allowed)
        self.order = order
        self.refusal = f"Chỉ được chọn một trong các nhóm thủ tục: {listed}."

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        chosen = super()._deserialize(value, attr, data, **kwargs)
        if len(set(chosen)) != len(chosen) or frozenset(chosen) not in self.allowed:
            raise ValidationError(self.refusal)
        return [part for part in self.order if part in chosen]


# --- the fields every citizen declaration closes with -----------------------------------------

def requester_phone() -> MobilePhone:
    """The requester's mobile phone: required, as the results are announced by SMS."""
    return MobilePhone("số điện thoại di động của người đi đăng ký")


def requester_email() -> OptionalEmail:
    """The requester's e-mail: optional (CT01 asks for one); absent stays absent."""
    return OptionalEmail("địa chỉ email của người đi đăng ký")


def delivery() -> fields.String:
    """How the citizen receives the results (bước 5: hình thức nhận kết quả)."""
    return choice("hình thức nhận kết quả", DELIVERY_CHOICES,
                  "nhận tại bộ phận một cửa (desk), qua bưu chính (post) hoặc bản điện tử (electronic)")


def copies() -> fields.Integer:
    """Copies of the extract asked for (bản sao trích lục), 1 when not said."""
    return fields.Integer(strict=True, load_default=1, metadata={"description": "Số bản sao trích lục yêu cầu (1 đến 10)"},
                          validate=validate.Range(
        min=1, max=10, error="Số bản sao yêu cầu phải từ 1 đến 10."),
        error_messages={"invalid": "Số bản sao yêu cầu phải là một số từ 1 đến 10.",
                        "null": "Số bản sao yêu cầu phải là một số từ 1 đến 10."})


def commitment() -> fields.Boolean:
    """The citizen's tick that the data is true (bước 6)."""
    return fields.Boolean(required=True, metadata={"description": "Cam đoan những nội dung khai là đúng sự thật (phải là true)"},
                          validate=validate.Equal(True, error=COMMITMENT),
                          error_messages={key: COMMITMENT for key in ("required", "null", "invalid")})


# --- schemas ----------------------------------------------------------------------------------

class Form(Schema):
    class Meta:
        unknown = RAISE  # a misspelt key would otherwise be dropped silently

    error_messages: ClassVar[dict[str, str]] = {"unknown": "Tờ khai không có mục này.", "type": "Dữ liệu gửi lên không đúng dạng."}


class OfficialDeclaration(Form):
    """An official declaration extracted from the citizen's one: made at the receiving agency
    (`place`) on the receipt date (`declaredOn`)."""

    place = Text("nơi làm tờ khai")
    declaredOn = IsoDate("ngày làm tờ khai")


class CivilStatusDeclaration(OfficialDeclaration):
    """A civil-status declaration (khai sinh, khai tử): also the number of extra copies asked for."""

    copies = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=0, max=10, error="Số bản sao yêu cầu phải từ 0 đến 10."),
        error_messages={key: "Số bản sao yêu cầu phải là một số từ 0 đến 10." for key in ("required", "null", "invalid")})


class CitizenForm(Form):
    """A citizen's declaration, judged on the day it is received: load with `Schema(today=date(...))`;
    `today` defaults to the date in `timezone` (the service's), looked up at each load (a schema
    instance may outlive midnight; the server may run in UTC, which before 07:00 in Hanoi is still
    on yesterday's date)."""

    def __init__(self, *, today: date | None = None, timezone: tzinfo | None = None, now: datetime | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._today = now.astimezone(timezone or default_zone()).date() if now is not None and today is None else today
        self._now = now
        self.timezone = timezone or default_zone()

    @property
    def now(self) -> datetime | None:
        """The moment of receipt as Vietnam wall-clock time (naive), or None when the form was given
        only a `today` (then moments are judged by their day)."""
        if self._now is not None:
            return self._now.astimezone(self.timezone).replace(tzinfo=None)
        return None if self._today is not None else datetime.now(self.timezone).replace(tzinfo=None)

    @property
    def today(self) -> date:
        return self._today or today_in(self.timezone)

    def load(self, *args, **kwargs):
        token = _LOADING_ZONE.set(self.timezone)
        try:
            return super().load(*args, **kwargs)
        finally:
            _LOADING_ZONE.reset(token)


def section_of(data: Mapping, key: str) -> Mapping:
    """data[key] when it loaded as an object, else {}: a schema validator that runs despite field
    errors (to report every problem at once) finds a failed section absent or partial."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def iso_date(value) -> date | None:
    """The date of a loaded ISO date or date-time string; None for anything else (a failed field)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def id_matches_person(data: Mapping) -> None:
    """A person's ID number agrees with their declared sex (4th digit) and year of birth (4th to 6th
    digits), as far as they are declared; raises a ValidationError on "idNumber" listing every problem.

    For a section's `@validates_schema` (which runs only when its fields all loaded).
    """
    if data.get("idNumber") is None:
        return
    born = iso_date(data.get("dateOfBirth"))
    problems = check_personal_id(data["idNumber"], sex=data.get("sex"), birth_year=born.year if born else None)
    if problems:
        raise ValidationError(problems, field_name="idNumber")


class Problems:
    """Collects field errors by path for one ValidationError, every problem at once."""

    def __init__(self):
        self.errors: dict = {}

    def add(self, path: str, message: str) -> None:
        """`path` like "death.diedAt"."""
        *parents, key = path.split(".")
        node = self.errors
        for parent in parents:
            node = node.setdefault(parent, {})
        node.setdefault(key, []).append(message)

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
