"""The whole service on loopback, driven as the portal and the officers drive it (HTTP only):
shared by the procedure-group tests (tests/test_birth_group.py, tests/test_death_group.py)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import requests

import forms  # noqa: F401 - registers the declaration schemas
import handlers  # noqa: F401 - registers the handlers the diagrams name
from dossiers.service import install as install_dossiers
from engine.service import ProcessEngine
from lienthong.cli import diagram_files
from tests.auth import ADMIN
from tests.live import Rest, live_server, wait_for
from tests import documents

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
# Monday 30 Nov 2026, 09:00 in Hanoi: a working day, before the 15:00 cut-off.
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
PDF = documents.pdf()


def workflow_files() -> dict[str, bytes]:
    """Everything in workflows/, as `make run` deploys it."""
    return diagram_files(WORKFLOWS)


@contextmanager
def running_service(database, clock, procedure: str):
    engine = ProcessEngine(database, clock=clock, worker_id=f"{procedure}-test")
    install_dossiers(engine)
    engine.deploy(workflow_files(), name="workflows")
    with live_server(engine) as base:
        yield Portal(base, procedure)


class Portal:
    """The citizen's portal and the officers' inbox, as HTTP calls."""

    def __init__(self, base: str, procedure: str):
        self.base = base
        self.procedure = procedure
        self.http = requests.Session()
        self.http.auth = ADMIN
        self.rest = Rest(base)

    def file(self, declaration: dict, expect: int = 201, **extra) -> dict:
        body = {"procedure": self.procedure, "declaration": declaration, **extra}
        response = self.http.post(f"{self.base}/api/dossiers", json=body, timeout=30)
        assert response.status_code == expect, response.text
        return response.json()

    def status(self, code: str) -> dict:
        response = self.http.get(f"{self.base}/api/dossiers/{code}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def part(self, code: str, part: str) -> dict:
        return next(p for p in self.status(code)["parts"] if p["part"] == part)

    def wait_part(self, code: str, part: str, state: str) -> dict:
        return wait_for(lambda: self.part(code, part), lambda p: p["state"] == state, timeout=20)

    def wait_dossier(self, code: str, state: str) -> dict:
        return wait_for(lambda: self.status(code), lambda s: s["state"] == state, timeout=20)

    def inbox(self, group: str, code: str) -> list[dict]:
        return self.rest.get(f"/task?candidateGroup={group}&processInstanceBusinessKey={code}")

    def decide(self, group: str, code: str, decision: str, note: str | None = None) -> None:
        tasks = wait_for(lambda: self.inbox(group, code), lambda t: len(t) == 1, timeout=20)
        variables = {"decision": {"value": decision}}
        if note is not None:
            variables["note"] = {"value": note}
        self.rest.post(f"/task/{tasks[0]['id']}/complete", {"variables": variables}, expect=204)

    def supplement(self, code: str, part: str, expect: int = 200, content: bytes = PDF) -> dict:
        response = self.http.post(f"{self.base}/api/dossiers/{code}/supplements", data={"part": part},
                                  files={"giay-to-bo-sung": ("bo-sung.pdf", content, "application/pdf")}, timeout=30)
        assert response.status_code == expect, response.text
        return response.json()
