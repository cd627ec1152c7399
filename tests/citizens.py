"""The service in process for the citizens' tests: the real diagrams and handlers, jobs run by
the test (`drain`), printing off, an app answering over Flask's test client."""
from __future__ import annotations

from dataclasses import dataclass

import forms  # noqa: F401 - registers the declaration schemas
import handlers  # noqa: F401 - registers the handlers the diagrams name
from api.app import create_app
from agencies.sms import Sms
from dossiers.service import install as install_dossiers
from engine.clock import ManualClock
from engine.service import ProcessEngine
from tests.auth import SETTINGS, logged_in
from tests.portal import MONDAY_9AM, workflow_files
from tests import documents

PDF = documents.pdf()


class Recorder:
    """An SMS gateway that keeps what it is given."""

    def __init__(self):
        self.sent: list[Sms] = []

    def send(self, sms: Sms) -> None:
        self.sent.append(sms)


@dataclass
class Service:
    engine: ProcessEngine
    app: object
    clock: ManualClock

    def drain(self) -> None:
        """Run the jobs that are due until none is left (the embedded worker's part)."""
        while self.engine.run_due_jobs(50):
            pass

    def citizen(self, id_number: str):
        return logged_in(self.app, self.engine.db, (id_number, f"{id_number}-password"), roles=("citizen",))

    def officer(self, name: str, agency: str, groups=("tu-phap-ho-tich",)):
        return logged_in(self.app, self.engine.db, (name, f"{name}-password"), roles=("officer",), groups=groups,
                         agency=agency)


def start_service(database, monkeypatch) -> Service:
    monkeypatch.setenv("LIENTHONG_PRINTING", "off")
    clock = ManualClock(MONDAY_9AM)
    engine = ProcessEngine(database, clock=clock, worker_id="citizens-test")
    install_dossiers(engine)
    engine.deploy(workflow_files(), name="workflows")
    app = create_app(engine, identity=SETTINGS)
    app.config["TESTING"] = True
    return Service(engine, app, clock)
