"""The engine's form refusals (English, for API clients) in the console's words: Vietnamese, with
the field's label, beside the field. Schema forms already answer in Vietnamese; they pass as they are."""
from __future__ import annotations

import re

from flask_babel import gettext as _

_RULES = [
    (re.compile(r"^is required$"), lambda f, m: _("Vui lòng chọn %(label)s.", label=f["label"].lower())
     if f["type"] in ("enum", "boolean") else _("Vui lòng nhập %(label)s.", label=f["label"].lower())),
    (re.compile(r"^must be one of "), lambda f, m: _("Vui lòng chọn một trong các lựa chọn của %(label)s.",
                                                     label=f["label"].lower())),
    (re.compile(r"^must have at most (\d+) characters$"), lambda f, m: _("Tối đa %(n)s ký tự.", n=m.group(1))),
    (re.compile(r"^must have at least (\d+) characters$"), lambda f, m: _("Cần ít nhất %(n)s ký tự.", n=m.group(1))),
    (re.compile(r"^must be at least (\S+)$"), lambda f, m: _("Giá trị nhỏ nhất là %(n)s.", n=m.group(1))),
    (re.compile(r"^must be at most (\S+)$"), lambda f, m: _("Giá trị lớn nhất là %(n)s.", n=m.group(1))),
    (re.compile(r"^must be a whole number$"), lambda f, m: _("Vui lòng nhập một số nguyên.")),
    (re.compile(r"^must be a date"), lambda f, m: _("Vui lòng nhập ngày theo dạng năm-tháng-ngày.")),
    (re.compile(r"^must be true or false$"), lambda f, m: _("Vui lòng chọn có hoặc không.")),
    (re.compile(r"^is read-only$"), lambda f, m: _("Trường này chỉ để xem.")),
]


def field_messages(field_errors: dict[str, list[str]], fields: list[dict]) -> dict[str, list[str]]:
    by_id = {f["id"]: f for f in fields}
    translated: dict[str, list[str]] = {}
    for name, messages in field_errors.items():
        field = by_id.get(name, {"label": name, "type": "string"})
        translated[name] = [_one(message, field) for message in messages]
    return translated


def _one(message: str, field: dict) -> str:
    for pattern, words in _RULES:
        match = pattern.match(message)
        if match:
            return words(field, match)
    return message
