"""The handler tests/test_graceful_stop.py's worker processes run (LIENTHONG_HANDLER_MODULES=tests.drain.handlers):
it notes that it began (a file per job in DRAIN_MARKS), then takes DRAIN_SECONDS, so the test can send
SIGTERM while a job is running."""
from __future__ import annotations

import os
import time
from pathlib import Path

from engine.handler_registry import TaskContext, handler


@handler("drain.slow")
def slow(task: TaskContext) -> dict:
    (Path(os.environ["DRAIN_MARKS"]) / task.idempotency_key).write_text("began")
    time.sleep(float(os.environ.get("DRAIN_SECONDS", "2")))
    return {f"{task.activity_id}_done": True}
