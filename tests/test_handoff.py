"""handlers/handoff.py: the hand-off of each part to its agency, local stand-ins and HTTP."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest

from engine import models as m
from engine.handlers import BpmnError, TaskContext, registry
from forms.identity import check_personal_id
from handlers import handoff
from handlers.handoff import (
    AgencyUnavailable,
    HttpAgency,
    LocalCivilStatusRegister,
    LocalResidenceDatabase,
    LocalSocialInsurance,
    child_card_number,
    gateway_from_environment,
    hand_off_bhyt,
    hand_off_birth,
    hand_off_residence,
    use_gateway,
)
from handlers.models import AgencyRecord
from tests.engine_helpers import jobs, open_task_ids, rows
from tests.loopback import loopback_server

CODE = "UBND-MYAN-261123-0001"


# --- a dossier -------------------------------------------------------------------------------------

def declaration(**child) -> dict:
    """A birth declaration as forms/birth.py loads it (only what the hand-offs read matters)."""
    return {
        "receivingAgency": "UBND xã Mỹ An",
        "requester": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999", "residence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                      "relationship": "cha", "phone": "0912345678"},
        "child": {"fullName": "Nguyễn Minh Khang", "dateOfBirth": "2026-11-02", "sex": "male", **child},
        "mother": {"fullName": "Trần Thị Bình", "birthYear": 1990, "residence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                   "idNumber": "087190001234"},
        "father": None,
        "parts": ["birth", "residence", "bhyt"],
        "delivery": "desk",
        "copies": 1,
        "commitment": True,
    }


DECLARATIONS = {"birth": {"form": "birth", "child": {"fullName": "Nguyễn Minh Khang"}},
                "residence": {"form": "CT01", "request": "đăng ký thường trú"},
                "bhyt": {"form": "TK1-TS", "clinic": "Trạm y tế xã Mỹ An"}}


def task(engine, topic: str, key: str = "job-1", **variables) -> TaskContext:
    values = {"dossierCode": CODE, "declaration": declaration(), "declarations": DECLARATIONS, **variables}
    return TaskContext(topic=topic, variables=values, properties={}, instance_id="pi-1", business_key=CODE,
                       activity_id="Task_Handoff", definition_key="birth_linked", idempotency_key=key, engine=engine)


def records(engine, agency: str) -> list[AgencyRecord]:
    return rows(engine, AgencyRecord, AgencyRecord.agency == agency, order_by=AgencyRecord.id)


@pytest.fixture(autouse=True)
def local_agencies(monkeypatch):
    """Every test starts from the local stand-ins, whatever the environment says."""
    for part in ("birth", "residence", "bhyt"):
        monkeypatch.delenv(handoff.url_variable(part), raising=False)
    monkeypatch.delenv("LIENTHONG_BHYT_CARD_AUTO", raising=False)
    monkeypatch.delenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", raising=False)
    with use_gateway("birth", LocalCivilStatusRegister()), use_gateway("residence", LocalResidenceDatabase()), \
            use_gateway("bhyt", LocalSocialInsurance()):
        yield


def test_the_handlers_are_registered():
    assert registry.get("handoff.birth") is hand_off_birth
    assert registry.get("handoff.residence") is hand_off_residence
    assert registry.get("handoff.bhyt") is hand_off_bhyt


# --- birth -----------------------------------------------------------------------------------------

def test_local_birth_registration_issues_a_valid_id_and_a_book_entry(engine, clock):
    clock.set(datetime(2026, 11, 23, 18, 30, tzinfo=timezone.utc))  # already 24 Nov in Vietnam

    result = hand_off_birth(task(engine, "handoff.birth"))

    child_id = result["childIdNumber"]
    assert check_personal_id(child_id, sex="male", birth_year=2026) == []
    assert child_id[:6] == "087226"  # the mother's province, a boy of the 2000s, born (20)26
    assert result["birthCertificateNumber"] == "1/2026"
    assert result["birthRegisteredOn"] == "2026-11-24"
    [record] = records(engine, "birth")
    assert (record.idempotency_key, record.dossier_code, record.issued_number) == ("job-1", CODE, child_id)
    assert record.request == {"dossierCode": CODE, "declaration": DECLARATIONS["birth"]}
    assert record.result == result


def test_a_girl_born_in_the_2000s_gets_3_as_the_fourth_digit(engine):
    result = hand_off_birth(task(engine, "handoff.birth", declaration=declaration(sex="female", dateOfBirth="2025-01-31")))
    assert result["childIdNumber"][3:6] == "325"
    assert check_personal_id(result["childIdNumber"], sex="female", birth_year=2025) == []


def test_a_retried_birth_hand_off_registers_once(engine, clock):
    first = hand_off_birth(task(engine, "handoff.birth", key="job-1"))
    clock.advance(minutes=10)
    again = hand_off_birth(task(engine, "handoff.birth", key="job-1"))
    assert again == first
    assert len(records(engine, "birth")) == 1


def test_births_get_unique_numbers_and_consecutive_entries(engine):
    results = [hand_off_birth(task(engine, "handoff.birth", key=f"job-{n}")) for n in range(1, 6)]
    assert [r["birthCertificateNumber"] for r in results] == [f"{n}/2026" for n in range(1, 6)]
    assert len({r["childIdNumber"] for r in results}) == 5


def test_a_personal_id_number_drawn_twice_is_drawn_again(engine, monkeypatch):
    draws = iter([4711, 4711, 4711, 815])
    monkeypatch.setattr(handoff.secrets, "randbelow", lambda _: next(draws))
    first = hand_off_birth(task(engine, "handoff.birth", key="job-1"))
    second = hand_off_birth(task(engine, "handoff.birth", key="job-2"))
    assert first["childIdNumber"] == "087226004711"
    assert second["childIdNumber"] == "087226000815"
    assert second["birthCertificateNumber"] == "2/2026"


def test_the_birth_register_starts_a_new_book_each_year(engine, clock):
    hand_off_birth(task(engine, "handoff.birth", key="job-1"))
    clock.set(datetime(2027, 1, 4, 2, 0, tzinfo=timezone.utc))
    assert hand_off_birth(task(engine, "handoff.birth", key="job-2"))["birthCertificateNumber"] == "1/2027"


def test_a_part_the_citizen_did_not_file_is_a_modelling_error(engine):
    with pytest.raises(TypeError, match="'residence' declaration"):
        hand_off_residence(task(engine, "handoff.residence", declarations={"birth": {}}))


# --- residence -------------------------------------------------------------------------------------

def test_local_residence_registration_at_the_mothers_household(engine):
    result = hand_off_residence(task(engine, "handoff.residence", householdId="HGD-087-000777"))
    assert result == {"residenceRegisteredOn": "2026-11-23", "residenceAddress": "Ấp 1, xã Mỹ An, Đồng Tháp",
                      "householdId": "HGD-087-000777"}
    assert hand_off_residence(task(engine, "handoff.residence", householdId="HGD-087-000777")) == result
    assert len(records(engine, "residence")) == 1


def test_residence_without_a_known_household(engine):
    result = hand_off_residence(task(engine, "handoff.residence"))
    assert "householdId" not in result and result["residenceAddress"] == "Ấp 1, xã Mỹ An, Đồng Tháp"


# --- BHYT --------------------------------------------------------------------------------------------

CHILD_ID = "087226004711"


def message_jobs(engine) -> list[m.Job]:
    return rows(engine, m.Job, m.Job.type == "message", order_by=m.Job.created)


def test_child_card_number():
    card = child_card_number(CHILD_ID)
    assert card == "TE187" + "7226004711"
    assert len(card) == 15


def test_local_bhyt_hand_off_schedules_the_card_once(engine, clock):
    context = task(engine, "handoff.bhyt", key="job-7", childIdNumber=CHILD_ID)

    assert hand_off_bhyt(context) == {"bhytHandedOffOn": "2026-11-23"}
    assert hand_off_bhyt(context) == {"bhytHandedOffOn": "2026-11-23"}  # a retried job

    [job] = message_jobs(engine)
    assert (job.id, job.topic, job.due_at) == ("job-7:card", "bhyt.card-issued", clock.now() + timedelta(seconds=1))
    assert job.schedule == {"businessKey": CODE, "variables": {
        "bhytCardNumber": "TE1877226004711", "bhytValidFrom": "2026-11-02", "bhytValidUntil": "2032-11-01"}}
    assert len(records(engine, "bhyt")) == 1


def test_the_card_is_valid_until_the_day_before_72_months(engine):
    context = task(engine, "handoff.bhyt", childIdNumber=CHILD_ID,
                   declaration=declaration(dateOfBirth="2024-02-29"))
    hand_off_bhyt(context)
    [job] = message_jobs(engine)
    assert job.schedule["variables"]["bhytValidUntil"] == "2030-02-27"  # 72 months: 28 Feb 2030


def test_the_card_delay_and_the_switch_come_from_the_environment(engine, clock, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "30")
    hand_off_bhyt(task(engine, "handoff.bhyt", key="job-1", childIdNumber=CHILD_ID))
    assert [j.due_at for j in message_jobs(engine)] == [clock.now() + timedelta(seconds=30)]

    monkeypatch.setenv("LIENTHONG_BHYT_CARD_AUTO", "off")
    hand_off_bhyt(task(engine, "handoff.bhyt", key="job-2", childIdNumber=CHILD_ID))
    assert [j.id for j in message_jobs(engine)] == ["job-1:card"]
    assert len(records(engine, "bhyt")) == 2


def test_bhyt_needs_the_childs_id_number(engine):
    with pytest.raises(TypeError, match="childIdNumber"):
        hand_off_bhyt(task(engine, "handoff.bhyt"))
    with pytest.raises(TypeError, match="childIdNumber"):
        hand_off_bhyt(task(engine, "handoff.bhyt", childIdNumber="12345"))


BHYT_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_HandoffBhyt" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="handoff_bhyt_test" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="Start_Handoff" />
    <bpmn:serviceTask id="Task_BhytHandoff" camunda:type="external" camunda:topic="handoff.bhyt" />
    <bpmn:intermediateCatchEvent id="Event_CardIssued">
      <bpmn:messageEventDefinition id="Def_CardIssued" messageRef="Message_CardIssued" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Deliver" camunda:candidateGroups="mot-cua" />
    <bpmn:endEvent id="End_Handoff" />
    <bpmn:sequenceFlow id="F1" sourceRef="Start_Handoff" targetRef="Task_BhytHandoff" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_BhytHandoff" targetRef="Event_CardIssued" />
    <bpmn:sequenceFlow id="F3" sourceRef="Event_CardIssued" targetRef="Task_Deliver" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_Deliver" targetRef="End_Handoff" />
  </bpmn:process>
  <bpmn:message id="Message_CardIssued" name="bhyt.card-issued" />
</bpmn:definitions>
"""


def test_the_card_reaches_the_waiting_instance(engine, handlers, clock):
    handlers.register("handoff.bhyt", hand_off_bhyt)
    engine.deploy({"handoff_bhyt_test.bpmn": BHYT_DIAGRAM})
    instance_id = engine.start_instance("handoff_bhyt_test", {
        "dossierCode": CODE, "declaration": declaration(), "declarations": DECLARATIONS, "childIdNumber": CHILD_ID},
        business_key=CODE)

    assert engine.run_due_jobs() == 1  # the hand-off
    assert open_task_ids(engine, instance_id) == []
    clock.advance(seconds=1)
    assert engine.run_due_jobs() == 1  # the card

    assert open_task_ids(engine, instance_id) == ["Task_Deliver"]
    variables = engine.instance_variables(instance_id)
    assert variables["bhytHandedOffOn"] == "2026-11-23"
    assert (variables["bhytCardNumber"], variables["bhytValidUntil"]) == ("TE1877226004711", "2032-11-01")
    assert jobs(engine, instance_id) == [] and message_jobs(engine) == []


# --- HTTP agencies against a real loopback server ------------------------------------------------------


def civil_status_software():
    """Answers like the agency would: a birth registered once per Idempotency-Key."""
    registered: dict[str, dict] = {}

    def respond(request, release):
        path = request["path"]
        if path == "/down":
            return 500, {"error": "internal"}
        if path == "/slow":
            release.wait(5)
            return 200, {}
        if path == "/refuse":
            return 422, {"reason": "Giấy chứng sinh không hợp lệ."}
        if path == "/missing":
            return 404, b"<html>not found</html>"
        if path == "/busy":
            return 429, {"reason": "Too many requests"}
        if path == "/garbled":
            return 200, b"not json"
        key = request["headers"].get("Idempotency-Key")
        if key not in registered:
            number = len(registered) + 1
            registered[key] = {"childIdNumber": f"0872260000{number:02d}", "birthCertificateNumber": f"{number}/2026",
                               "birthRegisteredOn": "2026-11-23", "unasked": "dropped"}
        return 201, registered[key]

    return respond


def test_http_agency_sends_the_idempotency_key_and_replays_are_one_registration(engine):
    with loopback_server(civil_status_software()) as (url, seen):
        agency = HttpAgency("birth", url + "/births", timeout=2)
        with use_gateway("birth", agency):
            first = hand_off_birth(task(engine, "handoff.birth", key="job-1"))
            again = hand_off_birth(task(engine, "handoff.birth", key="job-1"))
            other = hand_off_birth(task(engine, "handoff.birth", key="job-2"))
    assert first == again == {"childIdNumber": "087226000001", "birthCertificateNumber": "1/2026",
                              "birthRegisteredOn": "2026-11-23"}  # only the birth's result variables
    assert other["birthCertificateNumber"] == "2/2026"
    assert [r["headers"]["Idempotency-Key"] for r in seen] == ["job-1", "job-1", "job-2"]
    assert seen[0]["path"] == "/births"
    assert seen[0]["body"] == {"dossierCode": CODE, "declaration": DECLARATIONS["birth"]}
    assert records(engine, "birth") == []  # the agency keeps its own records


def test_http_agency_server_errors_are_technical_failures(engine):
    with loopback_server(civil_status_software()) as (url, _):
        for path, expected in (("/down", "answered 500"), ("/missing", "answered 404"), ("/busy", "answered 429"),
                               ("/garbled", "no JSON object")):
            with pytest.raises(AgencyUnavailable, match=expected):
                HttpAgency("birth", url + path, timeout=2).submit(task(engine, "handoff.birth"), {"dossierCode": CODE})


def test_http_agency_timeout_is_a_technical_failure(engine):
    with loopback_server(civil_status_software()) as (url, _), pytest.raises(AgencyUnavailable, match="timed out"):
        HttpAgency("birth", url + "/slow", timeout=0.2).submit(task(engine, "handoff.birth"), {"dossierCode": CODE})


def test_http_agency_unreachable_is_a_technical_failure(engine):
    with loopback_server(civil_status_software()) as (url, _):
        pass  # nothing listens on that port any more
    with pytest.raises(AgencyUnavailable, match="unreachable"):
        HttpAgency("birth", url, timeout=0.5).submit(task(engine, "handoff.birth"), {"dossierCode": CODE})


def test_http_agency_refusal_is_a_bpmn_error(engine):
    with loopback_server(civil_status_software()) as (url, _), \
            use_gateway("residence", HttpAgency("residence", url + "/refuse", timeout=2)):
        with pytest.raises(BpmnError) as refused:
            hand_off_residence(task(engine, "handoff.residence"))
    assert (refused.value.code, refused.value.message) == ("AGENCY_REFUSED", "Giấy chứng sinh không hợp lệ.")
    assert refused.value.variables == {"residenceRefusalReason": "Giấy chứng sinh không hợp lệ."}


def test_an_answer_without_the_results_is_a_technical_failure(engine):
    answers = iter([{"birthCertificateNumber": "1/2026", "birthRegisteredOn": "2026-11-23"},
                    {"childIdNumber": "999", "birthCertificateNumber": "1/2026", "birthRegisteredOn": "2026-11-23"}])
    with loopback_server(lambda request, release: (200, next(answers))) as (url, _), \
            use_gateway("birth", HttpAgency("birth", url, timeout=2)):
        with pytest.raises(AgencyUnavailable, match="lacks childIdNumber"):
            hand_off_birth(task(engine, "handoff.birth"))
        with pytest.raises(AgencyUnavailable, match="not a personal ID number"):
            hand_off_birth(task(engine, "handoff.birth"))


def test_gateways_come_from_the_environment(monkeypatch):
    assert isinstance(gateway_from_environment("birth"), LocalCivilStatusRegister)
    assert isinstance(gateway_from_environment("residence"), LocalResidenceDatabase)
    assert isinstance(gateway_from_environment("bhyt"), LocalSocialInsurance)
    monkeypatch.setenv("LIENTHONG_AGENCY_BHYT_URL", "https://bhxh.example/api/handoffs")
    monkeypatch.setenv("LIENTHONG_AGENCY_TIMEOUT_SECONDS", "3.5")
    chosen = gateway_from_environment("bhyt")
    assert isinstance(chosen, HttpAgency)
    assert (chosen.agency, chosen.url, chosen.timeout) == ("bhyt", "https://bhxh.example/api/handoffs", 3.5)
    assert isinstance(gateway_from_environment("birth"), LocalCivilStatusRegister)


def test_registered_on_is_the_date_in_vietnam(engine, clock):
    clock.set(datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc))  # 00:30 on 1 Jan 2027 in Vietnam
    result = hand_off_birth(task(engine, "handoff.birth"))
    assert date.fromisoformat(result["birthRegisteredOn"]) == date(2027, 1, 1)
    assert result["birthCertificateNumber"] == "1/2027"
