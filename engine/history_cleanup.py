"""History clean-up, as Camunda 7 does it with camunda:historyTimeToLive: an ended instance's
history (its row, activity instances, variables and user operations) is removed once its time to
live has passed since its end ("end-time based" strategy). In batches of `batch_size` instances,
each its own short transaction, so no lock is held for long and the service keeps answering.

The time to live is read at deploy ("P30D" or "30": days, as Camunda takes it) and stored on the
definition version; a definition without one keeps its history (Camunda 7.20 refuses to deploy
without one unless told otherwise; here nothing is removed that the analyst did not ask for).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select

from . import models as m

MAX_TTL_DAYS = 36_600  # a hundred years: beyond it the moment overflows, and it is a mistake
_DAYS = re.compile(r"^(?:P([0-9]{1,6})D|([0-9]{1,6}))$")


def history_ttl_days(text: str | None) -> int | None:
    """camunda:historyTimeToLive as days (None when absent or empty); ValueError in an analyst's words."""
    if text is None or not text.strip():
        return None
    found = _DAYS.match(text.strip())
    if found is None:
        raise ValueError(f"historyTimeToLive '{text}' must be a number of days, as 180 or P180D")
    days = int(found.group(1) or found.group(2))
    if days > MAX_TTL_DAYS:
        raise ValueError(f"historyTimeToLive '{text}' is more than {MAX_TTL_DAYS} days (a hundred years)")
    return days


@dataclass
class CleanupReport:
    instances: int = 0
    rows: int = 0  # every row removed, the instances' own included
    batches: int = 0
    longest_batch_ms: float = 0.0
    batch_ms: list[float] = field(default_factory=list)

    def add(self, instances: int, rows: int, elapsed_ms: float) -> None:
        self.instances += instances
        self.rows += rows
        self.batches += 1
        self.batch_ms.append(elapsed_ms)
        self.longest_batch_ms = max(self.longest_batch_ms, elapsed_ms)


class HistoryCleanup:
    def __init__(self, db, clock, batch_size: int = 500):
        self.db = db
        self.clock = clock
        self.batch_size = batch_size

    def run(self, seconds: float | None = None, report: CleanupReport | None = None) -> CleanupReport:
        """Remove batches until none is due or `seconds` have passed."""
        report = report or CleanupReport()
        began = time.monotonic()
        while seconds is None or time.monotonic() - began < seconds:
            started = time.perf_counter()
            instances, rows = self.run_batch()
            if not instances:
                break
            report.add(instances, rows, (time.perf_counter() - started) * 1000)
        return report

    def run_batch(self) -> tuple[int, int]:
        """One batch in one transaction: (instances removed, rows removed)."""
        now = self.clock.now()
        with self.db.session() as session:
            ids: list[str] = []
            ttls = session.execute(select(m.ProcessDefinition.id, m.ProcessDefinition.history_ttl_days)
                                   .where(m.ProcessDefinition.history_ttl_days.is_not(None))).all()
            for definition_id, days in ttls:
                ids += session.scalars(
                    select(m.ProcessInstance.id)
                    .where(m.ProcessInstance.definition_id == definition_id, m.ProcessInstance.end_time.is_not(None),
                           m.ProcessInstance.end_time < now - timedelta(days=days))
                    .limit(self.batch_size - len(ids))).all()
                if len(ids) >= self.batch_size:
                    break
            if not ids:
                return 0, 0
            rows = 0
            for model in (m.ActivityInstance, m.UserOperation, m.Variable, m.Incident):
                rows += session.execute(delete(model).where(model.instance_id.in_(ids))).rowcount
            rows += session.execute(delete(m.ProcessInstance).where(m.ProcessInstance.id.in_(ids))).rowcount
            return len(ids), rows
