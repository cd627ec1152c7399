"""Retention of the citizens' personal data, and the service's clean-up round.

A dossier that has ended (completed_at set) keeps its declaration, attachments and printed forms
for LIENTHONG_DOSSIER_RETENTION_DAYS (default 1826, five years); then they are erased in batches:
the declaration becomes {"erased": true, "parts": [...]}, the phone number goes, the attachments' and printed
forms' rows are deleted, and `erased_at` says when. What stays is what the status page needs
without personal data: code, procedure, agency, states and dates, the timeline.

Why five years by default: domain.md sets no period for the application file; the civil-status
registers themselves (kept by registers/, not here) are permanent under the Law on Civil Status,
while the copy of a citizen's application and scans is kept only as long as a complaint or an
inspection may ask for it (the statute of limitation for administrative complaints and the common
5-year retention of one-stop-shop files). An agency with its own records schedule sets its own.

`clean_up` is one round of both clean-ups (engine.history_cleanup for the instances' history): run
by the workers inside LIENTHONG_HISTORY_CLEANUP_WINDOW, and by `POST /engine-rest/history/cleanup`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import time as clock_time
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, update

from engine.history_cleanup import CleanupReport, HistoryCleanup

from .models import Dossier, DossierAttachment, DossierDocument

DEFAULT_RETENTION_DAYS = 1826
ERASED = {"erased": True}


@dataclass(frozen=True)
class RetentionSettings:
    retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)
    batch_size: int = 500  # Camunda's historyCleanupBatchSize default
    window: tuple[clock_time, clock_time] | None = None  # local start and end; None: only on demand

    @classmethod
    def from_environment(cls) -> "RetentionSettings":
        """LIENTHONG_DOSSIER_RETENTION_DAYS, LIENTHONG_HISTORY_CLEANUP_BATCH (1..5000),
        LIENTHONG_HISTORY_CLEANUP_WINDOW ("22:00-06:00", local time; empty: on demand only)."""
        def whole(name: str, default: int, low: int, high: int) -> int:
            text = os.environ.get(name, "").strip() or str(default)
            if not text.isdigit() or not low <= int(text) <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, not {text!r}")
            return int(text)
        window_text = os.environ.get("LIENTHONG_HISTORY_CLEANUP_WINDOW", "").strip()
        window = None
        if window_text:
            try:
                start, end = (clock_time.fromisoformat(part.strip()) for part in window_text.split("-"))
            except ValueError:
                raise ValueError(f"LIENTHONG_HISTORY_CLEANUP_WINDOW must read like 22:00-06:00, not {window_text!r}") from None
            window = (start, end)
        return cls(retention=timedelta(days=whole("LIENTHONG_DOSSIER_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 1, 36_600)),
                   batch_size=whole("LIENTHONG_HISTORY_CLEANUP_BATCH", 500, 1, 5000), window=window)

    def open_at(self, moment) -> bool:
        """Whether the window is open at `moment` (a local time of day); it may span midnight."""
        if self.window is None:
            return False
        start, end = self.window
        now = moment.replace(tzinfo=None)
        return start <= now < end if start <= end else (now >= start or now < end)


@dataclass
class RoundReport:
    history: CleanupReport
    dossiers: int = 0
    dossier_batches: int = 0
    longest_dossier_batch_ms: float = 0.0

    def as_json(self) -> dict:
        return {"removedInstances": self.history.instances, "removedHistoryRows": self.history.rows,
                "historyBatches": self.history.batches, "erasedDossiers": self.dossiers,
                "dossierBatches": self.dossier_batches,
                "longestBatchMs": round(max(self.history.longest_batch_ms, self.longest_dossier_batch_ms), 1)}


def erase_batch(engine, settings: RetentionSettings) -> int:
    """Erase the personal data of up to batch_size dossiers past their retention; how many."""
    limit = engine.clock.now() - settings.retention
    with engine.db.session() as session:
        rows = session.execute(select(Dossier.code, Dossier.declaration)
                               .where(Dossier.completed_at.is_not(None), Dossier.completed_at < limit,
                                      Dossier.erased_at.is_(None))
                               .limit(settings.batch_size)).all()
        if not rows:
            return 0
        codes = [code for code, _ in rows]
        session.execute(delete(DossierAttachment).where(DossierAttachment.dossier_code.in_(codes)))
        session.execute(delete(DossierDocument).where(DossierDocument.dossier_code.in_(codes)))
        table = Dossier.__table__
        session.execute(update(table).where(table.c.code == bindparam("erased_code")),
                        [{"erased_code": code, "declaration": _erased(declaration), "phone": None,
                          "erased_at": engine.clock.now()} for code, declaration in rows])
        return len(codes)


def _erased(declaration: dict) -> dict:
    """What is kept of a declaration: which parts were asked for (the status lists them), no person."""
    return {**ERASED, "parts": list((declaration or {}).get("parts") or [])}


def clean_up(engine, settings: RetentionSettings, seconds: float | None = None) -> RoundReport:
    """One round: the instances' history past their time to live, then the dossiers past retention."""
    began = time.monotonic()
    report = RoundReport(HistoryCleanup(engine.db, engine.clock, settings.batch_size).run(seconds))
    while seconds is None or time.monotonic() - began < seconds:
        started = time.perf_counter()
        erased = erase_batch(engine, settings)
        if not erased:
            break
        report.dossiers += erased
        report.dossier_batches += 1
        report.longest_dossier_batch_ms = max(report.longest_dossier_batch_ms, (time.perf_counter() - started) * 1000)
    return report
