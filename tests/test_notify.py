"""handlers/notify.py: SMS notices from the diagram's text, through the outbox."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from engine import models as m
from engine.handler_registry import TaskContext, registry
from agencies import sms
from agencies.models import SmsOutbox
from agencies.sms import gateway_from_environment, use_gateway
from agencies.sms import HttpSmsGateway, LogSink, Sms, SmsUnavailable, mask
from handlers.notify import MAX_ATTEMPTS, render, retry_outbox, send_sms
from tests.engine_helpers import rows
from tests.loopback import loopback_server

CODE = "UBND-MYAN-261123-0001"
VARIABLES = {
    "dossierCode": CODE,
    "receivedAt": "2026-03-02T09:15:00+07:00",
    "dossierDue": "2026-03-04T10:00:00+00:00",
    "birthRegisteredOn": "2026-03-02",
    "childIdNumber": "087226004711",
    "declaration": {"requester": {"fullName": "Nguyễn Văn An", "phone": "0912345678"},
                    "child": {"fullName": "Nguyễn Minh Khang", "dateOfBirth": "2026-02-20"}},
}


def task(engine, text: str = "Ho so {dossierCode} da duoc tiep nhan. Han tra ket qua: {dossierDue}.",
         key: str = "job-1", **changes) -> TaskContext:
    return TaskContext(topic="notify.sms", variables={**VARIABLES, **changes}, properties={"text": text},
                       instance_id="pi-1", business_key=CODE, activity_id="Task_NotifyReceived",
                       definition_key="birth_linked", idempotency_key=key, services=engine)


class Recorder:
    """A gateway that records what it sends, failing while `failures` is not empty."""

    def __init__(self, *failures: Exception):
        self.sent: list[Sms] = []
        self.failures = list(failures)

    def send(self, sms: Sms) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(sms)


def outbox(engine) -> list[SmsOutbox]:
    return rows(engine, SmsOutbox, order_by=SmsOutbox.id)


def test_the_handler_is_registered():
    assert registry.get("notify.sms") is send_sms


# --- the text -------------------------------------------------------------------------------------

def test_placeholders_and_dates():
    text = render("Ho so {dossierCode} nhan luc {receivedAt}, han {dossierDue}; khai sinh ngay {birthRegisteredOn}; "
                  "tre {declaration.child.fullName} sinh {declaration.child.dateOfBirth}.", VARIABLES)
    assert text == ("Ho so UBND-MYAN-261123-0001 nhan luc 09:15 ngay 02/03/2026, han 17:00 ngay 04/03/2026; "
                    "khai sinh ngay 02/03/2026; tre Nguyen Minh Khang sinh 20/02/2026.")


def test_alternatives_take_the_first_with_a_value():
    """Twins: the card numbers of one message (bhytCardNumbers), or the one card an agency written
    for one child sends (bhytCardNumber)."""
    assert render("the {bhytCardNumbers|bhytCardNumber}.", {"bhytCardNumber": "TE1"}) == "the TE1."
    assert render("the {bhytCardNumbers|bhytCardNumber}.", {"bhytCardNumbers": "TE1, TE2", "bhytCardNumber": "TE1"}) == \
        "the TE1, TE2."
    with pytest.raises(ValueError, match=r"\{a\|b\}, but the process has a value for none of them"):
        render("{a|b}", {})


def test_a_typed_placeholder_prints_literally():
    variables = {**VARIABLES, "declaration": {"requester": {"fullName": "{declaration} {dossierCode}"}}}
    assert render("Chao {declaration.requester.fullName}.", variables) == "Chao {declaration} {dossierCode}."


def test_only_identifier_placeholders_are_filled():
    template = "{0} {dossierCode!r} { dossierCode } {__import__('os')} {{x}} {}"
    assert render(template, {**VARIABLES, "x": "X"}) == "{0} {dossierCode!r} { dossierCode } {__import__('os')} {X} {}"
    with pytest.raises(ValueError, match="dossierCode.__class__"):  # a path goes into dicts only, never attributes
        render("{dossierCode.__class__}", VARIABLES)


def test_a_missing_variable_names_it():
    with pytest.raises(ValueError, match=r"\{bhytCardNumber\}"):
        render("The {bhytCardNumber}", VARIABLES)
    with pytest.raises(ValueError, match=r"'declaration.father.fullName'"):
        render("Cha {declaration.father.fullName}", {**VARIABLES, "declaration": {"father": None}})
    with pytest.raises(ValueError, match="not a single value"):
        render("{declaration}", VARIABLES)


def test_temporal_formatting_only_for_due_and_at():
    variables = {"note": "2026-03-04T10:00:00+00:00", "birthDue": "2026-03-04T10:00:00Z",
                 "supplementedAt": "2026-03-04T08:00:00", "copies": 2, "createdAt": "not a date"}
    assert render("{note}|{birthDue}|{supplementedAt}|{copies}|{createdAt}", variables) == \
        "2026-03-04T10:00:00+00:00|17:00 ngay 04/03/2026|08:00 ngay 04/03/2026|2|not a date"


# The GSM 03.38 basic character set: a text of these alone goes as 7-bit, 160 characters a part.
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def test_the_text_goes_without_vietnamese_marks_and_amounts_with_dots():
    """Issue 15: the filled names and "ngày" made the SMS Unicode (double the cost); amounts had no separators."""
    variables = {**VARIABLES, "funeralDecision": {"funeralAmount": 23_400_000}, "declaration": {
        "child": {"fullName": "Đặng Thị Ánh Tuyết"}}}
    text = render("Ho so {dossierCode}: tre {declaration.child.fullName}, han {dossierDue}, "
                  "da chi tra {funeralDecision.funeralAmount} dong.", variables)
    assert text == ("Ho so UBND-MYAN-261123-0001: tre Dang Thi Anh Tuyet, han 17:00 ngay 04/03/2026, "
                    "da chi tra 23.400.000 dong.")
    assert set(text) <= GSM_BASIC


def test_every_sms_of_the_diagrams_is_gsm_7_bit_and_one_part():
    from pathlib import Path
    from xml.etree import ElementTree

    from dossiers.agencies import catalogue
    from handlers.delivery import desk_notice
    from tests.death_examples import death_declaration
    long_name = "Nguyễn Huỳnh Thị Ngọc Phương Thảo"
    variables = {**VARIABLES, "dossierCode": "H19.87.001-261130-0001", "childIdNumber": "087226004711",
                 "bhytCardNumber": "TE1878726004711", "bhytValidUntil": "2032-05-19", "deathExtractNumber": "123/2026/TLKT",
                 "survivorReference": "BHXH-2026-000123", "funeralDecision": {"funeralAmount": 23_400_000},
                 # The longest desk of the catalogue (dossiers/data/agencies.json), as the last SMS says it.
                 "resultDelivery": {"notice": max((desk_notice(agency) for agency in catalogue().all()), key=len)},
                 "declaration": {**death_declaration(), "child": {"fullName": long_name}},
                 # the most children one declaration may have (forms.birth.MAX_CHILDREN), every number listed
                 "withdrawalReason": "Gia dinh nop lai ho so o noi khac",
                 "childCount": 5, "childIdNumbers": ", ".join(["087226004711"] * 5),
                 "bhytCardNumbers": ", ".join(["TE1878726004711"] * 5)}
    texts = []
    for diagram in sorted((Path(__file__).resolve().parent.parent / "workflows").glob("*.bpmn")):
        for element in ElementTree.parse(diagram).iter():
            if element.tag.endswith("property") and element.get("name") == "text":
                texts.append((diagram.name, render(element.get("value"), variables)))
    assert len(texts) > 20
    for where, text in texts:
        assert set(text) <= GSM_BASIC, (where, text, set(text) - GSM_BASIC)
        assert len(text) <= 160, (where, len(text), text)


def test_mask():
    assert mask("0912345678") == "*******678"


# --- the outbox -----------------------------------------------------------------------------------

def test_an_sms_is_queued_sent_and_marked(engine, clock):
    gateway = Recorder()
    with use_gateway(gateway):
        result = send_sms(task(engine))
    [row] = outbox(engine)
    assert result == {"lastSmsId": row.id}
    assert gateway.sent == [Sms(to="0912345678", text="Ho so UBND-MYAN-261123-0001 da duoc tiep nhan. "
                                "Han tra ket qua: 17:00 ngay 04/03/2026.", reference="job-1", dossier_code=CODE)]
    assert (row.idempotency_key, row.dossier_code, row.phone, row.state, row.attempts, row.last_error) == \
        ("job-1", CODE, "0912345678", "sent", 1, None)
    assert row.sent_at == clock.now() == row.created


def test_a_failed_send_stays_pending_and_the_outbox_retry_sends_it_once(engine, clock):
    gateway = Recorder(SmsUnavailable("gateway down"))
    with use_gateway(gateway):
        first = send_sms(task(engine))  # the job succeeds: the dossier goes on
        [row] = outbox(engine)
        assert first == {"lastSmsId": row.id}
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, "gateway down")
        assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
        assert retry_outbox(engine) == 0  # not before its pause is over

        clock.advance(seconds=61)
        assert retry_outbox(engine) == 1
        assert retry_outbox(engine) == 0  # sent: never again
        again = send_sms(task(engine))  # a redo of the job after it was sent sends nothing
    [row] = outbox(engine)
    assert again == {"lastSmsId": row.id}
    assert (row.state, row.attempts, row.last_error, row.sent_at, row.next_attempt_at) == ("sent", 2, None, clock.now(), None)
    assert [s.text for s in gateway.sent] == [row.text] and "04/03/2026" in row.text


def test_each_job_has_its_own_row(engine):
    with use_gateway(Recorder()):
        first = send_sms(task(engine, key="job-1"))
        second = send_sms(task(engine, key="job-2"))
    assert first != second and len(outbox(engine)) == 2


def test_no_phone_fails_the_sms_not_the_process(engine):
    gateway = Recorder()
    with use_gateway(gateway):
        result = send_sms(task(engine, declaration={"requester": {"fullName": "Nguyễn Văn An"}}))
    [row] = outbox(engine)
    assert result == {"lastSmsId": row.id}
    assert (row.state, row.phone, row.attempts) == ("failed", None, 0)
    assert gateway.sent == []


def test_a_bad_text_queues_nothing(engine):
    with use_gateway(Recorder()), pytest.raises(ValueError, match="bhytCardNumber"):
        send_sms(task(engine, text="The BHYT {bhytCardNumber}"))
    with use_gateway(Recorder()), pytest.raises(ValueError, match="camunda property 'text'"):
        send_sms(task(engine, text=""))
    assert outbox(engine) == []


def test_the_log_sink_masks_the_phone(engine, caplog):
    with use_gateway(LogSink()), caplog.at_level(logging.INFO, logger="lienthong.handlers.notify"):
        send_sms(task(engine))
    [sms] = [r for r in caplog.records if r.getMessage() == "sms"]
    assert (sms.dossier, sms.phone, sms.reference) == (CODE, "*******678", "job-1")
    assert "04/03/2026" in sms.text
    assert all("0912345678" not in r.getMessage() and getattr(r, "phone", "") != "0912345678" for r in caplog.records)
    [row] = outbox(engine)
    assert row.state == "sent"


# --- the HTTP gateway against a real loopback server ------------------------------------------------

def sms_gateway():
    delivered: dict[str, dict] = {}
    answers = {"/down": 503, "/refuse": 422}

    def respond(request, release):
        if request["path"] == "/slow":
            release.wait(5)
        if request["path"] in answers:
            return answers[request["path"]], {"error": "no"}
        delivered.setdefault(request["headers"]["Idempotency-Key"], request["body"])
        return 202, {"id": len(delivered)}

    return respond, delivered


def test_http_gateway_sends_once_per_reference(engine):
    respond, delivered = sms_gateway()
    with loopback_server(respond) as (url, seen), use_gateway(HttpSmsGateway(url + "/sms", timeout=2)):
        send_sms(task(engine))
    [request] = seen
    assert request["headers"]["Idempotency-Key"] == "job-1"
    assert request["body"] == {"to": "0912345678", "reference": "job-1",
                               "text": "Ho so UBND-MYAN-261123-0001 da duoc tiep nhan. Han tra ket qua: 17:00 ngay 04/03/2026."}
    assert outbox(engine)[0].state == "sent" and len(delivered) == 1


def test_http_gateway_failure_then_retry_makes_one_row(engine, clock):
    respond, delivered = sms_gateway()
    with loopback_server(respond) as (url, seen):
        with use_gateway(HttpSmsGateway(url + "/down", timeout=2)):
            send_sms(task(engine))
        assert "503" in outbox(engine)[0].last_error
        clock.advance(minutes=2)
        with use_gateway(HttpSmsGateway(url + "/slow", timeout=0.2)):
            assert retry_outbox(engine) == 1
        assert "timed out" in outbox(engine)[0].last_error
        clock.advance(minutes=3)
        with use_gateway(HttpSmsGateway(url + "/sms", timeout=2)):
            assert retry_outbox(engine) == 1
    [row] = outbox(engine)
    assert (row.state, row.attempts) == ("sent", 3)
    assert [r["headers"]["Idempotency-Key"] for r in seen] == ["job-1"] * 3


def test_http_gateway_refusal_fails_the_sms_for_good(engine):
    respond, _ = sms_gateway()
    with loopback_server(respond) as (url, seen), use_gateway(HttpSmsGateway(url + "/refuse", timeout=2)):
        send_sms(task(engine))
        send_sms(task(engine))  # a redo does not try again
    [row] = outbox(engine)
    assert row.state == "failed" and "422" in row.last_error and len(seen) == 1


def test_http_gateway_unreachable():
    with loopback_server(lambda request, release: (200, {})) as (url, _):
        pass
    with pytest.raises(SmsUnavailable, match="unreachable"):
        HttpSmsGateway(url, timeout=0.5).send(Sms("0912345678", "x", "job-1", CODE))


def test_gateway_from_environment(monkeypatch):
    monkeypatch.delenv("LIENTHONG_SMS_GATEWAY_URL", raising=False)
    assert isinstance(gateway_from_environment(), LogSink)
    monkeypatch.setenv("LIENTHONG_SMS_GATEWAY_URL", "https://sms.example/send")
    monkeypatch.setenv("LIENTHONG_SMS_TIMEOUT_SECONDS", "4")
    chosen = gateway_from_environment()
    assert isinstance(chosen, HttpSmsGateway) and (chosen.url, chosen.timeout) == ("https://sms.example/send", 4.0)


# --- in a diagram -------------------------------------------------------------------------------------

NOTIFY_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_Notify" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="notify_test" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="Start_Notify" />
    <bpmn:serviceTask id="Task_Notify" camunda:asyncBefore="true" camunda:type="external" camunda:topic="notify.sms">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="text" value="Ho so {dossierCode}: han {dossierDue}." />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:userTask id="Task_After" camunda:candidateGroups="mot-cua" />
    <bpmn:endEvent id="End_Notify" />
    <bpmn:sequenceFlow id="F1" sourceRef="Start_Notify" targetRef="Task_Notify" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Notify" targetRef="Task_After" />
    <bpmn:sequenceFlow id="F3" sourceRef="Task_After" targetRef="End_Notify" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_the_text_comes_from_the_diagram(engine, handlers, clock):
    handlers.register("notify.sms", send_sms)
    engine.deploy({"notify_test.bpmn": NOTIFY_DIAGRAM})
    instance_id = engine.start_instance("notify_test", dict(VARIABLES), business_key=CODE)
    gateway = Recorder(SmsUnavailable("down"))
    with use_gateway(gateway):
        engine.run_due_jobs()  # the gateway is down: the instance goes on all the same
        assert [t.activity_id for t in rows(engine, m.Task)] == ["Task_After"]
        clock.advance(timedelta(minutes=1))
        retry_outbox(engine)
    [row] = outbox(engine)
    assert [s.text for s in gateway.sent] == ["Ho so UBND-MYAN-261123-0001: han 17:00 ngay 04/03/2026."]
    assert (row.state, row.attempts) == ("sent", 2)
    assert engine.instance_variables(instance_id)["lastSmsId"] == row.id
    assert sms.current_gateway() is not gateway


def test_an_unreachable_gateway_never_halts_the_dossier_and_ends_as_an_operators_incident(database, monkeypatch):
    """Before: the notice's job failed, was retried, and its incident halted the procedure."""
    from tests.birth_examples import birth_declaration
    from tests.citizens import start_service

    service = start_service(database, monkeypatch)
    with loopback_server(lambda request, release: (200, {})) as (url, _):
        pass  # a port nobody listens on any more
    with use_gateway(HttpSmsGateway(url, timeout=0.5)):
        filed = service.citizen("087084000999").post(
            "/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()
        service.drain()
        engine = service.engine
        assert rows(engine, m.Incident) == []
        assert all(job.retries is None or job.exception_message is None for job in rows(engine, m.Job))
        pending = outbox(engine)
        assert pending and {row.state for row in pending} == {"pending"}
        status = service.citizen("087084000999").get(f"/api/dossiers/{filed['code']}").get_json()
        assert status["state"] not in ("received",), status["state"]  # the procedure went on past the notice
        open_tasks = rows(engine, m.Task)
        assert open_tasks, "an officer has the dossier in an inbox"

        for _ in range(MAX_ATTEMPTS):
            service.clock.advance(hours=1)
            retry_outbox(engine)
    failed = outbox(engine)
    assert {row.state for row in failed} == {"failed"} and all(row.attempts == MAX_ATTEMPTS for row in failed)
    assert all("[[" not in row.text for row in failed)  # the tracking secret is masked once given up
    incidents = rows(engine, m.Incident)
    assert {i.type for i in incidents} == {"smsUndeliverable"} and len(incidents) == len(failed)
    assert all(filed["code"] in i.message and i.instance_id for i in incidents)
    assert [t.id for t in rows(engine, m.Task)] == [t.id for t in open_tasks]  # still waiting on its officer, not halted
