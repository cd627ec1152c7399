"""Structured logs: one JSON object a line, with the dossier, instance, task or job it is about,
never a full personal ID number nor a credential (the Redaction filter on the handler)."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone

from engine.redaction import hide_credentials
from identity.audit import mask_id_numbers

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# Our ids are UUIDs, whose last group may be 12 digits: they are not ID numbers.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def redact(text: str) -> str:
    """A personal ID number (12 digits) or an old ID card number (9) kept to its last 4 digits,
    and credentials out of URLs; UUIDs as they are."""
    parts, start = [], 0
    for match in _UUID.finditer(text):
        parts += [mask_id_numbers(text[start:match.start()]), match.group(0)]
        start = match.end()
    parts.append(mask_id_numbers(text[start:]))
    return hide_credentials("".join(parts))


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redacted(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) in (9, 12):
        return redact(str(value))
    return value


class Redaction(logging.Filter):
    """Masks personal ID numbers and credentials in every record a handler writes: its message,
    its extra fields (nested too) and its exception's traceback, whoever logged it."""

    _traceback = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                record.__dict__[key] = _redacted(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._traceback.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure() -> None:
    """LIENTHONG_LOG_FORMAT=json (default) or text; LIENTHONG_LOG_LEVEL (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Redaction())
    if os.environ.get("LIENTHONG_LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Quiet by default: the service's own loggers at LIENTHONG_LOG_LEVEL, every library's only
    # from WARNING (fontTools alone wrote 408 of the demo's 441 lines at INFO, one per subset
    # table). LIENTHONG_LIBRARY_LOG_LEVEL=INFO brings them back when hunting a bug.
    root.setLevel(os.environ.get("LIENTHONG_LIBRARY_LOG_LEVEL", "WARNING").upper())
    logging.getLogger("lienthong").setLevel(os.environ.get("LIENTHONG_LOG_LEVEL", "INFO").upper())
    # Alembic narrates its plugin set-up at INFO on every start; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO with the task's whole data: a citizen's
    # declaration in the log, and a large cost per step. The engine logs what matters itself.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # WeasyPrint narrates each rendering step at INFO; the printing handler logs the outcome.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
