"""Operating it: liveness and readiness for a load balancer, Prometheus metrics an operator
scrapes (what the service holds and what it did), and logs without third-party noise."""
from __future__ import annotations

import logging
import re

import pytest

from agencies.sms import HttpSmsGateway, use_gateway
from api.app import create_app
from engine.db import Database
from engine.service import ProcessEngine
from handlers.notify import MAX_ATTEMPTS, retry_outbox
from lienthong import logs
from tests.auth import SETTINGS, logged_in
from tests.birth_examples import birth_declaration
from tests.citizens import start_service
from tests.conftest import POSTGRES_URL
from tests.loopback import loopback_server


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _value(text: str, name: str, **labels) -> float | None:
    """One sample of the Prometheus text: `name{labels...} value`."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return None


def test_live_and_ready_are_public(service):
    anonymous = service.app.test_client()
    assert anonymous.get("/health/live").get_json() == {"status": "ok"}
    ready = anonymous.get("/health/ready")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ok", "database": "ok", "schema": "current"}


def test_not_ready_when_the_schema_is_behind(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'new.db'}")  # never migrated
    app = create_app(ProcessEngine(database), identity=SETTINGS)
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503 and response.get_json()["schema"] == "behind"
    assert app.test_client().get("/health/live").status_code == 200


def test_not_ready_when_the_database_does_not_answer():
    database = Database(POSTGRES_URL.replace(":5432/", ":1/"), connect_args={"connect_timeout": 2})
    app = create_app(ProcessEngine(database), identity=SETTINGS)
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert "psycopg" not in response.get_data(as_text=True)


def test_metrics_need_an_operator(service):
    assert service.app.test_client().get("/metrics").status_code == 401
    officer = service.officer("can-bo", "H19.87.001")
    assert officer.get("/metrics").status_code == 403
    operator = logged_in(service.app, service.engine.db, ("van-hanh", "van-hanh-password"), roles=("operator",))
    response = operator.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"


def test_the_metrics_tell_what_happened(service):
    operator = logged_in(service.app, service.engine.db, ("van-hanh", "van-hanh-password"), roles=("operator",))
    citizen = service.citizen("087084000999")
    with loopback_server(lambda request, release: (200, {})) as (url, _):
        pass  # the SMS gateway is down all along
    with use_gateway(HttpSmsGateway(url, timeout=0.5)):
        code = citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()["code"]
        service.clock.advance(seconds=90)
        waiting = operator.get("/metrics").get_data(as_text=True)
        service.drain()
        for _ in range(MAX_ATTEMPTS):
            service.clock.advance(hours=1)
            retry_outbox(service.engine)
        text = operator.get("/metrics").get_data(as_text=True)

    assert _value(waiting, "lienthong_job_queue_age_seconds", topic="identity.check") == 90  # the filing's first job
    assert _value(waiting, "lienthong_jobs_waiting", topic="identity.check") == 1
    assert _value(text, "lienthong_jobs_waiting", topic="identity.check") is None  # drained
    assert _value(text, "lienthong_jobs_total", topic="identity.check", outcome="completed") == 1
    assert _value(text, "lienthong_jobs_total", topic="notify.sms", outcome="completed") >= 1
    assert _value(text, "lienthong_http_request_duration_seconds_count", method="POST", route="/api/dossiers",
                  status="201") == 1
    assert _value(text, "lienthong_incidents_open", type="smsUndeliverable") >= 1
    state = citizen.get(f"/api/dossiers/{code}").get_json()["state"]
    assert _value(text, "lienthong_dossiers", procedure="birth", state=state) == 1
    open_tasks = [line for line in text.splitlines() if line.startswith("lienthong_tasks_open{")]
    assert open_tasks and all('agency="H19.87.001"' in line for line in open_tasks), open_tasks
    service.clock.advance(days=60)  # every officer's task is late by now
    late = operator.get("/metrics").get_data(as_text=True)
    group = re.search(r'group="([^"]*)"', open_tasks[0]).group(1)
    assert _value(late, "lienthong_tasks_overdue", group=group, agency="H19.87.001") >= 1


def test_the_new_routes_are_in_the_openapi_document(service):
    paths = service.app.test_client().get("/openapi.json").get_json()["paths"]
    assert {"/health/live", "/health/ready", "/metrics"} <= set(paths)


def test_logs_are_quiet_by_default(capsys, monkeypatch):
    monkeypatch.delenv("LIENTHONG_LOG_LEVEL", raising=False)
    monkeypatch.delenv("LIENTHONG_LIBRARY_LOG_LEVEL", raising=False)
    saved = logging.getLogger().handlers[:], logging.getLogger().level, logging.getLogger("lienthong").level
    try:
        logs.configure()
        logging.getLogger("fontTools.subset").info("maxp pruned")
        logging.getLogger("waitress").info("Serving on http://127.0.0.1:8080")
        logging.getLogger("lienthong.handlers.notify").info("sms sent")
        logging.getLogger("fontTools.ttLib").warning("a real problem")
    finally:
        root = logging.getLogger()
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("lienthong").setLevel(saved[2])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and '"sms sent"' in lines[0] and '"a real problem"' in lines[1], lines


def test_the_grafana_dashboard_reads_only_metrics_the_service_exposes(service):
    import json
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parent.parent / "docs/grafana/lienthong.json").read_text("utf-8"))
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"lienthong_[a-z_]+", target["expr"])}
    operator = logged_in(service.app, service.engine.db, ("van-hanh", "van-hanh-password"), roles=("operator",))
    exposed = set(re.findall(r"^# HELP (\S+)", operator.get("/metrics").get_data(as_text=True), flags=re.M))
    base = {re.sub(r"_(bucket|count|sum)$", "", name) for name in queried}
    assert len(dashboard["panels"]) >= 7 and base <= exposed, base - exposed
