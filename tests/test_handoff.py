"""handlers/handoff.py: the hand-off of each part to its agency, local stand-ins and HTTP."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from engine import models as m
from engine.handler_registry import BpmnError, TaskContext, registry
from forms.personal_id import check_personal_id
from agencies import gateways, local
from agencies.gateways import gateway_from_environment, url_variable, use_gateway
from agencies.http import HttpAgency
from agencies.local import (
    LocalCivilStatusRegister,
    LocalDeathRegistration,
    LocalFuneralPayment,
    LocalResidenceDatabase,
    LocalResidenceDeletion,
    LocalSocialInsurance,
    LocalSurvivorAllowance,
    child_card_number,
)
from agencies.port import AgencyUnavailable
from handlers.handoff import (
    hand_off_bhyt,
    hand_off_birth,
    hand_off_death,
    hand_off_funeral,
    hand_off_residence,
    hand_off_residence_deletion,
    hand_off_survivor,
)
from registers.population import LocalRegister, current_register, use_register
from agencies.models import AgencyRecord
from registers.models import PopulationChange
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
                       activity_id="Task_Handoff", definition_key="birth_linked", idempotency_key=key, services=engine)


def records(engine, agency: str) -> list[AgencyRecord]:
    return rows(engine, AgencyRecord, AgencyRecord.agency == agency, order_by=AgencyRecord.id)


@pytest.fixture(autouse=True)
def local_agencies(monkeypatch):
    """Every test starts from the local stand-ins and the sample register, whatever the environment says."""
    for part in local.LOCAL_GATEWAYS:
        monkeypatch.delenv(gateways.url_variable(part), raising=False)
    monkeypatch.delenv("LIENTHONG_BHYT_CARD_AUTO", raising=False)
    monkeypatch.delenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", raising=False)
    with use_gateway("birth", LocalCivilStatusRegister()), use_gateway("residence", LocalResidenceDatabase()), \
            use_gateway("bhyt", LocalSocialInsurance()), use_gateway("death", LocalDeathRegistration()), \
            use_gateway("residence-deletion", LocalResidenceDeletion()), use_gateway("funeral", LocalFuneralPayment()), \
            use_gateway("survivor", LocalSurvivorAllowance()), use_register(LocalRegister()):
        yield


def test_the_handlers_are_registered():
    assert registry.get("handoff.birth") is hand_off_birth
    assert registry.get("handoff.residence") is hand_off_residence
    assert registry.get("handoff.bhyt") is hand_off_bhyt
    assert registry.get("handoff.death") is hand_off_death
    assert registry.get("handoff.residence-deletion") is hand_off_residence_deletion
    assert registry.get("handoff.funeral") is hand_off_funeral
    assert registry.get("handoff.survivor") is hand_off_survivor


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
    assert record.result == {name: result[name] for name in ("childIdNumber", "birthCertificateNumber", "birthRegisteredOn")}
    assert result["births"] == [{"fullName": "Nguyễn Minh Khang", **record.result}]  # one child: one entry


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
    monkeypatch.setattr(local.secrets, "randbelow", lambda _: next(draws))
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
    card = {"bhytCardNumber": "TE1877226004711", "bhytValidFrom": "2026-11-02", "bhytValidUntil": "2032-11-01"}
    assert job.schedule == {"businessKey": CODE, "variables": {  # one child: its card, and the list of one
        **card, "bhytCards": [{"fullName": "Nguyễn Minh Khang", **card}], "bhytCardNumbers": "TE1877226004711"}}
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
    <bpmn:serviceTask id="Task_BhytHandoff" camunda:asyncBefore="true" camunda:type="external" camunda:topic="handoff.bhyt" />
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
    registered = {"childIdNumber": "087226000001", "birthCertificateNumber": "1/2026", "birthRegisteredOn": "2026-11-23"}
    # only the birth's result variables, and the list of every child's (one child here: no multi-instance)
    assert first == again == {**registered, "births": [{"fullName": "Nguyễn Minh Khang", **registered}],
                              "childIdNumbers": "087226000001"}
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
    assert isinstance(gateway_from_environment("death"), LocalDeathRegistration)
    assert isinstance(gateway_from_environment("residence-deletion"), LocalResidenceDeletion)
    assert isinstance(gateway_from_environment("funeral"), LocalFuneralPayment)
    assert isinstance(gateway_from_environment("survivor"), LocalSurvivorAllowance)
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


# --- the death group ------------------------------------------------------------------------------------

TAM = "087040000888"
DEATH_CODE = "UBND-MYAN-261123-0002"


def death_declaration(**deceased) -> dict:
    """A death declaration as forms/death.py loads it (only what the hand-offs read matters): An declares his father's death."""
    return {
        "receivingAgency": "UBND xã Mỹ An",
        "requester": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999", "dateOfBirth": "1984-01-15",
                      "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "relationship": "con", "phone": "0912345678"},
        "deceased": {"fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male", "ethnicity": "Kinh",
                     "nationality": "Việt Nam", "lastResidence": "Ấp 1, xã Mỹ An, Đồng Tháp", "idNumber": TAM,
                     **deceased},
        "death": {"diedAt": "2026-11-20T14:30", "place": "Trạm y tế xã Mỹ An", "cause": "Bệnh già",
                  "noticeNumber": "15/GBT", "noticeIssuedBy": "Trạm y tế xã Mỹ An", "noticeIssuedOn": "2026-11-20"},
        "burial": {"date": "2026-11-22", "place": "Nghĩa trang xã Mỹ An"},
        "parts": ["death", "residence", "funeral", "survivor"],
        "delivery": "desk", "copies": 2, "commitment": True,
    }


DEATH_DECLARATIONS = {"death": {"form": "death", "deceased": {"fullName": "Nguyễn Văn Tám", "idNumber": TAM}},
                      "residence": {"form": "CT01", "request": "xóa đăng ký thường trú"},
                      "funeral": {"form": "04", "deceased": {"fullName": "NGUYỄN VĂN TÁM"}}}
DECISION = {"funeralAgency": "bhxh", "funeralAmount": 23_400_000,
            "funeralLegalBasis": "Luật Bảo hiểm xã hội: trợ cấp mai táng bằng 10 lần mức lương cơ sở"}


def death_task(engine, topic: str, key: str = "job-1", code: str = DEATH_CODE, **variables) -> TaskContext:
    values = {"dossierCode": code, "declaration": death_declaration(), "declarations": DEATH_DECLARATIONS,
              "funeralDecision": DECISION, **variables}
    return TaskContext(topic=topic, variables=values, properties={}, instance_id="pi-2", business_key=code,
                       activity_id="Task_Handoff", definition_key="death_linked", idempotency_key=key, services=engine)


def test_local_death_registration_issues_an_extract_and_marks_the_person_deceased(engine):
    assert current_register(engine.db).find(TAM).deceased is False

    result = hand_off_death(death_task(engine, "handoff.death"))

    assert result == {"deathExtractNumber": "1/2026", "deathRegisteredOn": "2026-11-23"}
    assert current_register(engine.db).find(TAM).deceased is True
    [change] = rows(engine, PopulationChange)
    assert (change.id_number, change.deceased_on, change.left_household_on, change.dossier_code) == (
        TAM, date(2026, 11, 20), None, DEATH_CODE)
    [record] = records(engine, "death")
    assert record.request == {"dossierCode": DEATH_CODE, "declaration": DEATH_DECLARATIONS["death"]}
    assert (record.book, record.entry, record.result) == ("2026", 1, result)


def test_a_retried_death_hand_off_registers_once(engine, clock):
    first = hand_off_death(death_task(engine, "handoff.death", key="job-1"))
    clock.advance(minutes=10)
    assert hand_off_death(death_task(engine, "handoff.death", key="job-1")) == first
    assert len(records(engine, "death")) == 1 and len(rows(engine, PopulationChange)) == 1


def test_deaths_take_consecutive_entries_in_the_years_book(engine, clock):
    hand_off_death(death_task(engine, "handoff.death", key="job-1"))
    other = death_declaration(fullName="Lý Thị Mận", idNumber="087148003301", dateOfBirth="1948-06-20", sex="female")
    second = hand_off_death(death_task(engine, "handoff.death", key="job-2", code="UBND-MYAN-261123-0003",
                                       declaration=other))
    assert second["deathExtractNumber"] == "2/2026"
    clock.set(datetime(2027, 1, 4, 2, 0, tzinfo=timezone.utc))
    third = death_declaration(fullName="Mai Thị Tuyết", idNumber="075170004488", dateOfBirth="1970-05-05", sex="female")
    assert hand_off_death(death_task(engine, "handoff.death", key="job-3", code="UBND-MYAN-270104-0001",
                                     declaration=third))["deathExtractNumber"] == "1/2027"


def test_a_second_dossier_for_the_same_death_is_refused(engine):
    hand_off_death(death_task(engine, "handoff.death", key="job-1"))
    with pytest.raises(BpmnError) as refused:
        hand_off_death(death_task(engine, "handoff.death", key="job-9", code="UBND-MYAN-261123-0009"))
    reason = f"Người có số định danh cá nhân {TAM} đã được đăng ký khai tử."
    assert (refused.value.code, refused.value.message, refused.value.variables) == (
        "AGENCY_REFUSED", reason, {"deathRefusalReason": reason})
    assert len(records(engine, "death")) == 1


def test_a_death_the_sample_records_is_refused(engine):
    dead = death_declaration(fullName="Kiều Văn Tư", idNumber="087044001177", dateOfBirth="1944-08-08")
    with pytest.raises(BpmnError, match="đã được đăng ký khai tử"):
        hand_off_death(death_task(engine, "handoff.death", declaration=dead))
    assert records(engine, "death") == [] and rows(engine, PopulationChange) == []


def test_local_residence_deletion_takes_the_deceased_out_of_the_household(engine):
    hand_off_death(death_task(engine, "handoff.death"))
    context = death_task(engine, "handoff.residence-deletion", key="job-2")

    assert hand_off_residence_deletion(context) == {"residenceDeletedOn": "2026-11-23"}
    assert hand_off_residence_deletion(context) == {"residenceDeletedOn": "2026-11-23"}  # a retried job

    register = current_register(engine.db)
    assert [m.citizen.full_name for m in register.household("HGD-087-000777").members] == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert register.find(TAM).household_id == ""
    [record] = records(engine, "residence-deletion")
    assert record.request == {"dossierCode": DEATH_CODE, "declaration": DEATH_DECLARATIONS["residence"]}
    with pytest.raises(BpmnError) as refused:  # another dossier asking again
        hand_off_residence_deletion(death_task(engine, "handoff.residence-deletion", key="job-9", code="UBND-MYAN-261123-0009"))
    assert list(refused.value.variables) == ["residenceDeletionRefusalReason"]
    assert "đã được xóa trước đó" in refused.value.message


def test_residence_deletion_sends_the_residence_declaration(engine):
    with pytest.raises(TypeError, match="'residence' declaration"):
        hand_off_residence_deletion(death_task(engine, "handoff.residence-deletion", declarations={"death": {}}))


def test_local_funeral_payment_by_the_paying_agency(engine):
    context = death_task(engine, "handoff.funeral", key="job-3")
    result = hand_off_funeral(context)
    assert result == {"funeralPaymentReference": "MT-BHXH-2026-000001", "funeralPaidOn": "2026-11-23"}
    assert hand_off_funeral(context) == result  # a retried job pays once
    support = {"funeralAgency": "ldtbxh", "funeralAmount": 10_000_000.0, "funeralLegalBasis": "Nghị định 20/2021/NĐ-CP"}
    other = hand_off_funeral(death_task(engine, "handoff.funeral", key="job-4", funeralDecision=support))
    assert other["funeralPaymentReference"] == "MT-LDTBXH-2026-000001"  # each agency numbers its own payments
    first, second = records(engine, "funeral")
    assert first.request == {"dossierCode": DEATH_CODE, "declaration": DEATH_DECLARATIONS["funeral"],
                             "funeralDecision": DECISION}
    assert second.request["funeralDecision"]["funeralAmount"] == 10_000_000
    assert isinstance(second.request["funeralDecision"]["funeralAmount"], int)


@pytest.mark.parametrize("decision, message", [
    (None, "'funeralDecision'"),
    ({**DECISION, "funeralAgency": "none", "funeralAmount": 0}, "a dossier nobody pays must not reach the payment"),
    ({**DECISION, "funeralAmount": 0}, "funeralAmount a whole number of VND above 0"),
    ({**DECISION, "funeralAmount": "23400000"}, "funeralAmount"),
    ({**DECISION, "funeralAmount": 23_400_000.5}, "funeralAmount"),
    ({**DECISION, "funeralLegalBasis": " "}, "funeralLegalBasis"),
])
def test_a_funeral_decision_nobody_can_pay_is_a_modelling_error(engine, decision, message):
    with pytest.raises(TypeError, match=message):
        hand_off_funeral(death_task(engine, "handoff.funeral", funeralDecision=decision))
    assert records(engine, "funeral") == []


def test_local_survivor_allowance_is_forwarded_with_the_deceased_and_the_requester(engine):
    context = death_task(engine, "handoff.survivor", key="job-5", declarations={})  # no declaration of its own
    assert hand_off_survivor(context) == {"survivorReference": "TUAT-2026-000001"}
    assert hand_off_survivor(context) == {"survivorReference": "TUAT-2026-000001"}
    [record] = records(engine, "survivor")
    declared = death_declaration()
    assert record.request == {"dossierCode": DEATH_CODE, "deceased": declared["deceased"],
                              "requester": declared["requester"]}
    with pytest.raises(TypeError, match="'deceased' and 'requester'"):
        hand_off_survivor(death_task(engine, "handoff.survivor", declaration={"requester": declared["requester"]}))


def test_the_death_parts_gateways_from_the_environment(monkeypatch):
    assert [url_variable(part) for part in ("death", "residence-deletion", "funeral", "survivor")] == [
        "LIENTHONG_AGENCY_DEATH_URL", "LIENTHONG_AGENCY_RESIDENCE_DELETION_URL", "LIENTHONG_AGENCY_FUNERAL_URL",
        "LIENTHONG_AGENCY_SURVIVOR_URL"]
    monkeypatch.setenv("LIENTHONG_AGENCY_RESIDENCE_DELETION_URL", "https://cu-tru.example/api/xoa-thuong-tru")
    chosen = gateway_from_environment("residence-deletion")
    assert isinstance(chosen, HttpAgency)
    assert (chosen.agency, chosen.url) == ("residence-deletion", "https://cu-tru.example/api/xoa-thuong-tru")
    assert isinstance(gateway_from_environment("death"), LocalDeathRegistration)


def agency_systems():
    """Each part's system: answers the same to every redo, refuses or answers short where the test asks."""
    answers = {"/deaths": {"deathExtractNumber": "7/2026", "deathRegisteredOn": "2026-11-23"},
               "/residence-deletions": {"residenceDeletedOn": "2026-11-24"},
               "/funeral-payments": {"funeralPaymentReference": "CT-000123", "funeralPaidOn": "2026-11-25"},
               "/survivor-allowances": {"survivorReference": "HS-TUAT-42"},
               "/lacking": {"deathRegisteredOn": "2026-11-23"}}

    def respond(request, release):
        if request["path"] == "/refuse":
            return 422, {"reason": "Người chết chưa được xóa đăng ký thường trú tại địa bàn khác."}
        return 201, {**answers[request["path"]], "unasked": "dropped"}

    return respond


@pytest.mark.parametrize("part, handle, path, expected, sent", [
    ("death", hand_off_death, "/deaths",
     {"deathExtractNumber": "7/2026", "deathRegisteredOn": "2026-11-23"}, {"declaration": DEATH_DECLARATIONS["death"]}),
    ("residence-deletion", hand_off_residence_deletion, "/residence-deletions",
     {"residenceDeletedOn": "2026-11-24"}, {"declaration": DEATH_DECLARATIONS["residence"]}),
    ("funeral", hand_off_funeral, "/funeral-payments",
     {"funeralPaymentReference": "CT-000123", "funeralPaidOn": "2026-11-25"},
     {"declaration": DEATH_DECLARATIONS["funeral"], "funeralDecision": DECISION}),
    ("survivor", hand_off_survivor, "/survivor-allowances", {"survivorReference": "HS-TUAT-42"},
     {"deceased": death_declaration()["deceased"], "requester": death_declaration()["requester"]}),
], ids=["death", "residence-deletion", "funeral", "survivor"])
def test_http_agencies_of_the_death_group(engine, part, handle, path, expected, sent):
    with loopback_server(agency_systems()) as (url, seen), use_gateway(part, HttpAgency(part, url + path, timeout=2)):
        assert handle(death_task(engine, f"handoff.{part}", key="job-1")) == expected
        assert handle(death_task(engine, f"handoff.{part}", key="job-1")) == expected  # a redo: the same key
    assert [(r["path"], r["headers"]["Idempotency-Key"]) for r in seen] == [(path, "job-1"), (path, "job-1")]
    assert seen[0]["body"] == {"dossierCode": DEATH_CODE, **sent}
    # The agencies keep their own records and change the real register themselves.
    assert records(engine, part) == [] and rows(engine, PopulationChange) == []


def test_http_agencies_of_the_death_group_refuse_or_answer_short(engine):
    with loopback_server(agency_systems()) as (url, _):
        with use_gateway("residence-deletion", HttpAgency("residence-deletion", url + "/refuse", timeout=2)), \
                pytest.raises(BpmnError) as refused:
            hand_off_residence_deletion(death_task(engine, "handoff.residence-deletion"))
        with use_gateway("death", HttpAgency("death", url + "/lacking", timeout=2)), \
                pytest.raises(AgencyUnavailable, match="lacks deathExtractNumber"):
            hand_off_death(death_task(engine, "handoff.death"))
    assert refused.value.variables == {
        "residenceDeletionRefusalReason": "Người chết chưa được xóa đăng ký thường trú tại địa bàn khác."}


def test_dossiers_for_one_death_handed_off_at_once_register_it_once(engine):
    """Two workers, two dossiers, the same person: the unique row per person lets one through."""
    outcomes: list[str] = []

    def run(n: int) -> None:
        try:
            hand_off_death(death_task(engine, "handoff.death", key=f"job-{n}", code=f"UBND-MYAN-261123-{n:04d}"))
            outcomes.append("registered")
        except BpmnError as refusal:
            outcomes.append(refusal.code)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(1, 5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(outcomes) == ["AGENCY_REFUSED"] * 3 + ["registered"]
    assert len(records(engine, "death")) == 1 and len(rows(engine, PopulationChange)) == 1


def test_twins_are_registered_one_by_one_and_get_a_card_each(engine):
    """The diagram's multi-instance gives each instance its element `child` and `loopCounter`; the
    handler registers that child and collects `births`; BHYT then sends one message, a card each."""
    twins = declaration()
    twins["children"] = [twins.pop("child"), {"fullName": "Nguyễn Ngọc Hân", "dateOfBirth": "2026-11-02", "sex": "female"}]
    extracted = {**DECLARATIONS, "birth-2": {"form": "birth", "child": {"fullName": "Nguyễn Ngọc Hân"}},
                 "bhyt-2": {"form": "TK1-TS", "clinic": "Trạm y tế xã Mỹ An"}}
    children = [{"fullName": "Nguyễn Minh Khang", "birth": "birth", "bhyt": "bhyt"},
                {"fullName": "Nguyễn Ngọc Hân", "birth": "birth-2", "bhyt": "bhyt-2"}]
    variables = {"declaration": twins, "declarations": extracted, "children": children}
    first = hand_off_birth(task(engine, "handoff.birth", key="job-1", child=children[0], loopCounter=0, **variables))
    second = hand_off_birth(task(engine, "handoff.birth", key="job-2", child=children[1], loopCounter=1,
                                 births=first["births"], **variables))
    boy, girl = second["births"]
    assert boy == first["births"][0] and girl["fullName"] == "Nguyễn Ngọc Hân"
    assert check_personal_id(girl["childIdNumber"], sex="female", birth_year=2026) == []
    assert second["childIdNumbers"] == f"{boy['childIdNumber']}, {girl['childIdNumber']}"
    assert [r.request["declaration"] for r in records(engine, "birth")] == [extracted["birth"], extracted["birth-2"]]
    # A retried second instance replaces its own entry, never adds one.
    assert hand_off_birth(task(engine, "handoff.birth", key="job-2", child=children[1], loopCounter=1,
                               births=second["births"], **variables))["births"] == second["births"]

    hand_off_bhyt(task(engine, "handoff.bhyt", key="job-3", births=second["births"], **variables))
    [bhyt] = records(engine, "bhyt")
    assert bhyt.request["declarations"] == [extracted["bhyt"], extracted["bhyt-2"]]
    [job] = message_jobs(engine)
    cards = job.schedule["variables"]["bhytCards"]
    assert [(c["fullName"], c["bhytCardNumber"][-10:]) for c in cards] == [
        ("Nguyễn Minh Khang", boy["childIdNumber"][-10:]), ("Nguyễn Ngọc Hân", girl["childIdNumber"][-10:])]
