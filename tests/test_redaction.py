"""Logs never carry a full personal ID number; job, incident and outbox messages never carry the
credentials of a configured URL."""
from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest

from engine import models as m
from engine.redaction import hide_credentials
from agencies.http import HttpAgency
from agencies.sms import HttpSmsGateway, use_gateway
from handlers.notify import send_sms
from agencies.models import SmsOutbox
from lienthong import logs
from tests.engine_helpers import deploy, external_tasks, incidents, rows
from tests.loopback import loopback_server
from tests.test_notify import task as sms_task

PASSWORD, TOKEN, KEY = "s3cr3t-pw", "t0k3n-abc", "k3y-xyz"


def json_lines(emit) -> list[dict]:
    """What the service's log handler (lienthong.logs.configure) writes while `emit` logs."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure()
        [handler] = root.handlers
        assert any(isinstance(f, logs.Redaction) for f in handler.filters)
        handler.setStream(stream := io.StringIO())
        log = logging.getLogger("lienthong.tests.redaction")
        log.disabled = False  # Alembic's fileConfig disables the loggers that exist when a test migrates
        log.setLevel(logging.DEBUG)  # not lienthong's: `lienthong demo` (tests/test_cli.py) raises it to WARNING
        emit(log)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_declaration_in_a_log_line_shows_only_the_last_four_digits():
    declaration = {"mother": {"fullName": "Trần Thị Bình", "idNumber": "087190001234"},
                   "father": {"idNumber": "087084000999", "oldIdCard": "381234567"}}
    job = "0e1f2a3b-1c2d-4e5f-8a9b-123456789012"

    def emit(log):
        log.info("người khai %s, CMND %s", "087084000999", "381234567",
                 extra={"declaration": declaration, "ids": ["087190001234"], "job": job, "phone": "0912345678"})
        try:
            raise ValueError("no person 087190001234 in the register")
        except ValueError:
            log.exception("check failed")

    first, second = json_lines(emit)
    assert first["message"] == "người khai ********0999, CMND *****4567"
    assert first["declaration"] == {"mother": {"fullName": "Trần Thị Bình", "idNumber": "********1234"},
                                    "father": {"idNumber": "********0999", "oldIdCard": "*****4567"}}
    assert first["ids"] == ["********1234"] and first["job"] == job and first["phone"] == "0912345678"
    assert "087190001234" not in second["exception"] and "no person ********1234" in second["exception"]


def test_credentials_are_hidden_in_log_lines():
    [line] = json_lines(lambda log: log.warning("agency down: POST https://lt:%s@agency.example/api?token=%s", PASSWORD, TOKEN,
                                                extra={"url": f"https://agency.example/api?api_key={KEY}&x=1"}))
    assert line["message"] == "agency down: POST https://***@agency.example/api?token=***"
    assert line["url"] == "https://agency.example/api?api_key=***&x=1"


@pytest.mark.parametrize("text, hidden", [
    (f"POST http://lienthong:{PASSWORD}@10.0.0.5:8443/birth", "POST http://***@10.0.0.5:8443/birth"),
    (f"GET /x?Token={TOKEN}&page=2", "GET /x?Token=***&page=2"),
    (f"url: /r?a=1&secret={TOKEN}#frag", "url: /r?a=1&secret=***#frag"),
    (f"/r?password={PASSWORD}&key={KEY}", "/r?password=***&key=***"),
    ("https://example.gov.vn/a@b?page=2 and mailto:x@y.vn", "https://example.gov.vn/a@b?page=2 and mailto:x@y.vn"),
])
def test_hide_credentials(text, hidden):
    assert hide_credentials(text) == hidden


def test_a_failing_http_adapter_leaves_no_credentials_in_the_job_or_the_incident(engine, handlers, clock):
    """A real HttpAgency, configured with a URL that carries a user, a password and a token, pointed
    at a loopback agency that answers 503: the job fails three times and becomes an incident."""
    with loopback_server(lambda request, release: (503, {"error": "maintenance"})) as (base, seen):
        url = base.replace("http://", f"http://lienthong:{PASSWORD}@") + f"/register?token={TOKEN}&apikey={KEY}"
        agency = HttpAgency("birth", url, timeout=2)
        handlers.register("engine.flaky", lambda task: agency.submit(task, {"dossierCode": "H19.87.001-261130-0001"}))
        deploy(engine, "service_retry_intervals.bpmn")
        instance_id = engine.start_instance("engine_retry_list")
        for _ in range(4):
            engine.run_due_jobs()
            clock.advance(timedelta(minutes=15))
    assert len(seen) == 3 and seen[0]["headers"]["Authorization"].startswith("Basic ")  # the credentials were used
    [job] = rows(engine, m.Job, m.Job.instance_id == instance_id)
    [incident] = incidents(engine, instance_id)
    assert job.retries == 0 and "birth: answered 503 to POST http://***@127.0.0.1:" in job.exception_message
    assert "/register?token=***&apikey=***" in incident.message
    for text in (job.exception_message, job.exception_stacktrace, incident.message):
        assert PASSWORD not in text and TOKEN not in text and KEY not in text


def test_an_unreachable_sms_gateway_leaves_no_credentials_in_the_outbox(engine):
    url = f"http://sms:{PASSWORD}@127.0.0.1:9/send?key={KEY}"  # the discard port: nobody answers
    with use_gateway(HttpSmsGateway(url, timeout=1)):
        send_sms(sms_task(engine))  # the job succeeds: the outbox tries again on its own
    [row] = rows(engine, SmsOutbox)
    assert row.state == "pending" and "POST http://***@127.0.0.1:9/send?key=***" in row.last_error
    assert PASSWORD not in row.last_error and KEY not in row.last_error


def test_a_remote_workers_failure_message_is_scrubbed(engine, clock):
    deploy(engine, "external_worker.bpmn")
    instance_id = engine.start_instance("engine_external", {}, business_key="HS-1")
    [locked] = engine.external_tasks.fetch_and_lock("w1", 1, [{"topicName": "engine.register", "lockDuration": 60_000}])
    engine.external_tasks.failure(locked.id, "w1", f"registry down: GET https://w:{PASSWORD}@registry.example/?token={TOKEN}",
                                  f"Traceback ... ?password={PASSWORD}", retries=0, retry_timeout=0)
    [item] = external_tasks(engine, instance_id)
    [incident] = incidents(engine, instance_id)
    assert item.error_message == incident.message == "registry down: GET https://***@registry.example/?token=***"
    assert item.error_details == "Traceback ... ?password=***"
