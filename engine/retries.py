"""How many tries a job gets and how long to wait after each failure (camunda:failedJobRetryTimeCycle)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .bpmn.specs import duration_from


def parse_retry_cycle(text: str) -> list[timedelta]:
    """camunda:failedJobRetryTimeCycle: `R3/PT10M` (3 tries, 10 minutes apart) or Camunda's list
    form `PT1M,PT5M,PT10M` (one try per interval). Returns the wait after each failure."""
    text = text.strip().upper()
    if "," in text or not text.startswith("R"):
        return [duration_from(part, _EPOCH) for part in text.split(",")]
    repeat, _, step = text.partition("/")
    if not repeat[1:].isdigit() or not step:
        raise ValueError("expected R<n>/<duration>, e.g. R3/PT10M, or a list such as PT1M,PT5M,PT10M")
    return [duration_from(step, _EPOCH)] * int(repeat[1:])


_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


class RetryPolicy:
    """How many tries a job gets and how long to wait after the n-th failure."""

    default_tries = 3
    first_delay = timedelta(seconds=10)

    def __call__(self, cycle: str | None):
        if cycle:
            delays = parse_retry_cycle(cycle)
            return len(delays), lambda failures: delays[min(failures, len(delays)) - 1]
        return self.default_tries, lambda failures: self.first_delay * (2 ** max(failures - 1, 0))
