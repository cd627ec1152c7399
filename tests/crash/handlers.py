"""The handler the crash-safety test's worker processes run (LIENTHONG_HANDLER_MODULES=tests.crash.handlers).

It performs a side effect on an outside system: an HTTP POST to the loopback receiver at
CRASH_RECEIVER_URL, carrying the job's idempotency key, the instance id and the activity id. A
small random pause before and after the call widens the window in which a SIGKILL lands in the
middle of a handler run (before the effect, or after it but before the engine records it).
"""
from __future__ import annotations

import json
import os
import random
import time
import urllib.request

from engine.handler_registry import TaskContext, handler

PAUSE_SECONDS = (0.0, 0.03)


@handler("crash.effect")
def crash_effect(task: TaskContext) -> dict:
    time.sleep(random.uniform(*PAUSE_SECONDS))
    body = json.dumps({"key": task.idempotency_key, "instance": task.instance_id,
                       "activity": task.activity_id, "attempt": task.attempt}).encode()
    request = urllib.request.Request(os.environ["CRASH_RECEIVER_URL"], data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"the receiver answered {response.status}")
    time.sleep(random.uniform(*PAUSE_SECONDS))
    return {f"{task.activity_id}_done": True}
