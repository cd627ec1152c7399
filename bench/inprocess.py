"""Driving dossiers through the service's own commands in process (no HTTP, no worker thread):
the jobs run when the driver says so, so each command and each job can be timed alone."""
from __future__ import annotations

import io
import json
import time

import pypdf

from .common import ROOT, distinct_child

GROUPS = ("tu-phap-ho-tich", "cong-an", "bhxh")


def _blank_pdf() -> bytes:
    """A real one-page PDF: the service parses every upload (dossiers/file_content.py)."""
    writer, buffer = pypdf.PdfWriter(), io.BytesIO()
    writer.add_blank_page(595, 842)
    writer.write(buffer)
    return buffer.getvalue()


PDF = _blank_pdf()


class Driver:
    def __init__(self, engine):
        from dossiers.service import DossierService

        self.engine = engine
        self.service = DossierService(engine)
        self.declaration = json.loads((ROOT / "examples" / "birth_declaration.json").read_text(encoding="utf-8"))

    def file(self, **extra) -> str:
        return self.service.submit({"procedure": "birth", "declaration": distinct_child(self.declaration), **extra})["code"]

    def run_jobs(self) -> int:
        """Run every job that is due now, and those they queue; how many ran."""
        ran = 0
        while taken := self.engine.run_due_jobs(50):
            ran += taken
        return ran

    def drain(self, until=lambda: False, seconds: float = 15) -> None:
        """Run jobs until `until()` holds (a scheduled message may be due a moment later)."""
        deadline = time.monotonic() + seconds
        while not until():
            if not self.run_jobs():
                if time.monotonic() > deadline:
                    raise TimeoutError("the dossier did not reach the expected state")
                time.sleep(0.05)

    def task(self, code: str, group: str) -> str | None:
        from engine import queries

        with self.engine.db.reading() as session:
            rows = queries.tasks.list(session, candidate_group=group, business_key=code)
            return rows[0].id if rows else None

    def decide(self, code: str, group: str, decision: str, note: str | None = None) -> None:
        self.drain(lambda: self.task(code, group) is not None)
        self.engine.complete_task(self.task(code, group), {"decision": decision, **({"note": note} if note else {})})

    def supplement(self, code: str, part: str = "birth") -> None:
        from dossiers.service import Upload

        self.service.supplement(code, part, [Upload("giay-chung-sinh", "gcs.pdf", "application/pdf", PDF)], "Đã bổ sung")

    def status(self, code: str) -> dict:
        return self.service.status(code)

    def complete(self, code: str) -> None:
        """Approve every part and wait for the end (the BHYT card comes as a scheduled message)."""
        for group in GROUPS:
            self.decide(code, group, "approve")
        self.drain(lambda: self.status(code)["state"] == "completed")
