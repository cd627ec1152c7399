"""The 12-digit personal ID number (số định danh cá nhân, printed on the CCCD card).

Layout (Circular 59/2021/TT-BCA, see shared/domain.md):
  digits 1-3  province where the birth was registered (the 63-province list below)
  digit  4    century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, ... 8/9 = 2300s
  digits 5-6  last two digits of the birth year
  digits 7-12 random; there is no check digit, so a well-formed number can still be wrong.

The province codes stay the 63 old ones even after the 2025 merger of provinces: a number
issued once never changes, so parsing must keep knowing them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from marshmallow import ValidationError, fields

PROVINCES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa–Vũng Tàu",
    "079": "TP Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

SEX_NAMES = {"male": "nam", "female": "nữ"}

# ASCII digits only: str.isdigit() would also accept e.g. Arabic-Indic or full-width digits.
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class PersonalId:
    province_code: str
    province_name: str
    sex: str                    # "male" or "female"
    birth_year_century: int     # first year of the century: 1900, 2000, ... 2300
    birth_year_two_digits: int  # 0-99

    @property
    def birth_year(self) -> int:
        return self.birth_year_century + self.birth_year_two_digits


def normalise(text: str) -> str:
    """Drop every whitespace: citizens copy the number as printed, often grouped "087 084 000 999"."""
    return "".join(text.split())


def parse_personal_id(text: str) -> PersonalId:
    """Decode a personal ID number; raises ValueError with a message fit for the citizen."""
    number = normalise(text) if isinstance(text, str) else ""
    if not _TWELVE_DIGITS.fullmatch(number):
        raise ValueError("Số định danh cá nhân phải gồm đúng 12 chữ số.")
    code = number[:3]
    if code not in PROVINCES:
        raise ValueError(f"Số định danh cá nhân không hợp lệ: mã tỉnh {code} (3 chữ số đầu) không tồn tại.")
    century_sex = int(number[3])
    return PersonalId(
        province_code=code,
        province_name=PROVINCES[code],
        sex="female" if century_sex % 2 else "male",  # even digit = male, odd = female
        birth_year_century=1900 + 100 * (century_sex // 2),
        birth_year_two_digits=int(number[4:6]),
    )


def century_sex_digit(born: date, sex: str) -> int:
    """The 4th digit of the number of a person born on `born`: 0/1 for a boy/girl born in the
    1900s, 2/3 in the 2000s... (what parse_personal_id reads back)."""
    return 2 * (born.year // 100 - 19) + (1 if sex == "female" else 0)


def check_personal_id(text: str, *, sex: str | None = None, birth_year: int | None = None) -> list[str]:
    """Every problem with the number, alone and against the declared sex and birth year.

    Returns [] when all is well. A malformed number gives its one structural problem (the
    message parse_personal_id raises) instead of raising, so callers can collect all problems.
    """
    try:
        decoded = parse_personal_id(text)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    if sex is not None and decoded.sex != sex:
        problems.append(f"Số định danh cá nhân là của người {SEX_NAMES[decoded.sex]} (chữ số thứ 4), "
                        f"không khớp với giới tính {SEX_NAMES.get(sex, sex)} đã khai.")
    if birth_year is not None and decoded.birth_year != birth_year:
        problems.append(f"Số định danh cá nhân ghi năm sinh {decoded.birth_year} (chữ số thứ 4 đến 6), "
                        f"không khớp với năm sinh {birth_year} đã khai.")
    return problems


class PersonalIdField(fields.String):
    """A personal ID number: loads as the 12 digits without whitespace, refuses bad structure or province.

    The value stays a string (never an int) so that leading zeros, e.g. Hà Nội's 001, survive.
    """

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Số định danh cá nhân phải là một dãy 12 chữ số.",
        "required": "Vui lòng nhập số định danh cá nhân.",
        "null": "Vui lòng nhập số định danh cá nhân.",
    }

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"description": "Số định danh cá nhân: 12 chữ số (khoảng trắng được bỏ qua)",
                              "example": "087084000999", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_personal_id(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return normalise(text)
