"""The names of uploaded files, as stored and shown back: what the citizen's device sent is not
trusted. `../../../../etc/passwd.pdf` is kept as `passwd.pdf`; a name in NFD is stored in NFC;
right-to-left overrides and invisible characters are refused (U+202E makes "NAHK.pdf" display as
something else), so what an officer reads is what the citizen typed."""
from __future__ import annotations

import re
import unicodedata

from forms.common import HIDDEN_CHARACTERS

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_LENGTH = 200


def refusal(name: str) -> str | None:
    """Why a file name is refused (Vietnamese, for the citizen), or None."""
    if HIDDEN_CHARACTERS.search(name):
        return (f"Tên tệp {name.encode('unicode_escape').decode('ascii')} chứa ký tự điều khiển hướng chữ "
                "hoặc ký tự vô hình; vui lòng đổi tên tệp rồi gửi lại.")
    return None


def cleaned(name: str, fallback: str = "tep") -> str:
    """The last path component, in NFC, without control characters or leading dots, at most
    MAX_LENGTH characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: MAX_LENGTH - len(extension) - 1] + dot + extension) if dot and len(extension) <= 10 else name[:MAX_LENGTH]
    return name or fallback
