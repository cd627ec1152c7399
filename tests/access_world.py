"""A small, real world for the access tests: the service's diagrams deployed, one account per role
in two agencies, a birth dossier filed by a citizen at agency A and run to its first officer task
(declarations printed, a timer job waiting), a quickstart instance, an external task and an
incident. Seeded once per database per module (tests/test_authorization_matrix.py), through the
same HTTP routes the portal uses."""
from __future__ import annotations

import io
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

import forms  # noqa: F401 - registers the declaration schemas
import handlers  # noqa: F401 - registers the handlers the diagrams name
from dossiers.service import install as install_dossiers
from engine.clock import ManualClock
from engine.db import Database
from engine.service import ProcessEngine
from tests.auth import SETTINGS, basic, ensure_account
from tests.birth_examples import birth_declaration
from tests.conftest import FIXTURES, POSTGRES_URL
from tests.portal import MONDAY_9AM, workflow_files
from tests import documents

AGENCY_A = "H19.87.001"
AGENCY_B = "H19.87.002"
QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.bpmn"
REMOTE_WORKER = FIXTURES.parent / "clients" / "remote_worker.bpmn"
OFFICER_GROUPS = ("tu-phap-ho-tich", "officers")

# Every role of identity.principal.ROLES but the administrator, as the matrix checks them. The
# agency-bound ones (officer, supervisor) belong to agency A here; their twins at agency B are the
# "other agency" of the jurisdiction checks.
ACCOUNTS = {
    "citizen": dict(roles=("citizen",)),
    "officer": dict(roles=("officer",), groups=OFFICER_GROUPS, agency=AGENCY_A),
    "supervisor": dict(roles=("supervisor",), groups=OFFICER_GROUPS, agency=AGENCY_A),
    "analyst": dict(roles=("analyst",)),
    "operator": dict(roles=("operator",)),
    "auditor": dict(roles=("auditor",)),
    "service": dict(roles=("service",), topics=("clients.score",), messages=("bhyt.card-issued", "signal:matrix.nobody-waits")),
    "officer-b": dict(roles=("officer",), groups=OFFICER_GROUPS, agency=AGENCY_B),
    "supervisor-b": dict(roles=("supervisor",), groups=OFFICER_GROUPS, agency=AGENCY_B),
}
ROLES = ("citizen", "officer", "supervisor", "analyst", "operator", "auditor", "service")


@dataclass
class World:
    app: object
    engine: ProcessEngine
    client: object
    ids: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def user(self, name: str) -> str:
        return f"{name}.user"

    def call(self, method: str, path: str, who: str | None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(self.headers[who])
        return self.client.open(path, method=method, headers=headers, **kwargs)


@contextmanager
def module_database(kind: str, sqlite_template: Path, tmp_dir: Path):
    """A database for one module: a copy of the migrated SQLite file, or a PostgreSQL schema of its
    own (the per-test `database` fixture truncates the shared one)."""
    if kind == "sqlite":
        path = tmp_dir / "world.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.dispose()
        return
    schema = f"lt_world_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - decided as tests/conftest.py decides
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and could not be reached: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    database = Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The seeded world, once per database for the module that imports this fixture."""
    template = request.getfixturevalue("sqlite_template") if request.param == "sqlite" else None
    with module_database(request.param, template, tmp_path_factory.mktemp("world")) as database:
        yield build_world(database)


def build_world(database: Database) -> World:
    from api.app import create_app

    engine = ProcessEngine(database, clock=ManualClock(MONDAY_9AM), worker_id="access-world")
    install_dossiers(engine)
    app = create_app(engine, identity=SETTINGS)
    app.config["TESTING"] = True
    world = World(app=app, engine=engine, client=app.test_client())
    for role, account in {**ACCOUNTS, "admin": dict(roles=("admin",))}.items():
        world.headers[role] = {"Authorization": basic(ensure_account(database, world.user(role), **account))}
    ids = world.ids

    # Models: the service's diagrams, the quickstart and a diagram served by a remote worker.
    resources = {**workflow_files(), "quickstart.bpmn": QUICKSTART.read_bytes(),
                 "remote_worker.bpmn": REMOTE_WORKER.read_bytes()}
    deployment = engine.deploy(resources, name="workflows")
    ids["deployment"] = deployment.id
    ids["quickstart_definition"] = next(d.id for d in deployment.definitions if d.key == "quickstart")
    ids["decision_definition"] = next(d.id for d in deployment.definitions if d.kind == "decision")
    ids["decision_key"] = next(d.key for d in deployment.definitions if d.kind == "decision")

    # A citizen files a birth dossier at agency A; the jobs run it to the civil registrar's task.
    filed = world.call("POST", "/api/dossiers", "citizen",
                       json={"procedure": "birth", "agencyCode": AGENCY_A, "declaration": birth_declaration()})
    assert filed.status_code == 201, filed.get_data(as_text=True)
    ids["dossier"] = filed.get_json()["code"]
    attached = world.call("POST", f"/api/dossiers/{ids['dossier']}/attachments", "citizen", data=pdf_upload(),
                          content_type="multipart/form-data")
    assert attached.status_code == 201, attached.get_data(as_text=True)
    ids["attachment"] = attached.get_json()[0]["id"]
    # The citizen's draft of the same child: its confirmation is refused (the child is filed above).
    drafted = world.call("POST", "/api/dossiers/drafts", "citizen",
                         json={"procedure": "birth", "agencyCode": AGENCY_A, "declaration": birth_declaration()})
    assert drafted.status_code == 201, drafted.get_data(as_text=True)
    ids["draft"] = drafted.get_json()["id"]
    while engine.run_due_jobs(50):
        pass
    admin = "admin"
    [task] = world.call("GET", "/engine-rest/task", admin,
                        query_string={"processInstanceBusinessKey": ids["dossier"]}).get_json()
    ids["task"] = task["id"]
    ids["instance"] = task["processInstanceId"]
    variables = world.call("GET", f"/engine-rest/process-instance/{ids['instance']}/variables", admin).get_json()
    ids["variable"] = "declaration" if "declaration" in variables else sorted(variables)[0]
    [job] = world.call("GET", "/engine-rest/job", admin, query_string={"processInstanceId": ids["instance"]}).get_json()
    ids["job"] = job["id"]

    # An instance an operator may cancel (the matrix's DELETE), started by an officer of agency A.
    started = world.call("POST", "/engine-rest/process-definition/key/quickstart/start", "officer",
                         json={"businessKey": "QS-1", "variables": {"applicant": {"value": "Nguyễn Thị Hoa"}}})
    assert started.status_code == 200, started.get_data(as_text=True)
    ids["disposable_instance"] = started.get_json()["id"]

    # Two external tasks of a remote worker: one to work on, one failed into an incident.
    for key in ("EXT-1", "EXT-2"):
        response = world.call("POST", "/engine-rest/process-definition/key/remote_worker/start", admin,
                              json={"businessKey": key, "variables": {"region": {"value": "north"}}})
        assert response.status_code == 200, response.get_data(as_text=True)
    external = world.call("GET", "/engine-rest/external-task", admin).get_json()
    by_key = {item["businessKey"]: item["id"] for item in external}
    ids["external_task"] = by_key["EXT-1"]
    fetched = world.call("POST", "/engine-rest/external-task/fetchAndLock", "service",
                         json={"workerId": "seed", "maxTasks": 1, "topics": [
                             {"topicName": "clients.score", "lockDuration": 60000, "businessKey": "EXT-2"}]})
    assert fetched.status_code == 200 and len(fetched.get_json()) == 1, fetched.get_data(as_text=True)
    failed = world.call("POST", f"/engine-rest/external-task/{by_key['EXT-2']}/failure", "service",
                        json={"workerId": "seed", "errorMessage": "điểm không tính được", "retries": 0})
    assert failed.status_code == 204, failed.get_data(as_text=True)
    [incident] = world.call("GET", "/engine-rest/incident", admin).get_json()
    ids["incident"] = incident["id"]
    return world


PDF = documents.pdf()


def pdf_upload(name: str = "giay-to") -> dict:
    return {name: (io.BytesIO(PDF), "giay-to.pdf", "application/pdf")}
