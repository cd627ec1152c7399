"""Structured logs: one JSON object a line, with the dossier, instance, task or job it is about."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure() -> None:
    """LIENTHONG_LOG_FORMAT=json (default) or text; LIENTHONG_LOG_LEVEL (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("LIENTHONG_LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LIENTHONG_LOG_LEVEL", "INFO").upper())
    # Alembic narrates its plugin set-up at INFO on every start; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO with the task's whole data: a citizen's
    # declaration in the log, and a large cost per step. The engine logs what matters itself.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # WeasyPrint narrates each rendering step at INFO; the printing handler logs the outcome.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
