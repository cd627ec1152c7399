"""The death group end to end, over HTTP only: the real diagram (workflows/death_linked.bpmn) and
decision table (workflows/funeral_support.dmn), the real handlers with their local registers,
and an injected clock for the deadlines."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.clock import ManualClock
from tests.death_cases import CASES
from tests.death_examples import death_declaration
from tests.live import wait_for
from tests.portal import MONDAY_9AM, running_service, workflow_files

CASE = {case["case"]: case for case in CASES}


@pytest.fixture
def clock():
    return ManualClock(MONDAY_9AM)


@pytest.fixture
def service(database, clock, monkeypatch, request):
    # Printing (WeasyPrint, ~0.2 s a page) is checked where it matters; elsewhere it would only slow the run.
    if request.node.get_closest_marker("printing") is None:
        monkeypatch.setenv("LIENTHONG_PRINTING", "off")
    with running_service(database, clock, "death") as portal:
        yield portal


def deceased(case: dict) -> dict:
    """The declaration's changes that make `case`'s person the deceased."""
    changes = {"deceased__idNumber": case["idNumber"], "deceased__fullName": case["fullName"],
               "deceased__dateOfBirth": case["dateOfBirth"], "deceased__sex": case["sex"]}
    changes.update(case.get("declarationChanges") or {})
    return changes


@pytest.mark.printing
def test_two_parts_then_the_register_knows_the_death(service):
    filed = service.file(death_declaration(parts=["death", "residence"]))
    code = filed["code"]
    assert [p["part"] for p in filed["parts"]] == ["death", "residence"]
    death = service.wait_part(code, "death", "processing")
    assert death["agency"] == "Công chức tư pháp – hộ tịch (UBND xã)"
    assert death["dueAt"] == "2026-11-30T17:00:00+07:00"  # the same working day
    assert {d["form"] for d in service.status(code)["declarations"]} == {"death", "residence"}
    service.decide("tu-phap-ho-tich", code, "approve")
    assert service.wait_part(code, "death", "approved")["result"]["deathExtractNumber"]
    service.decide("cong-an", code, "approve")
    done = service.wait_dossier(code, "completed")
    assert [p["state"] for p in done["parts"]] == ["approved", "approved"]
    assert done["parts"][1]["result"]["residenceDeletedOn"]

    # A second declaration of the same death is refused at receipt, naming the first dossier.
    again = service.file(death_declaration(parts=["death", "residence"]), expect=400)
    assert again["fieldErrors"] == {"declaration.deceased.idNumber": [
        f"Người này đã có hồ sơ khai tử {code} đang giải quyết hoặc đã đăng ký; không nộp lại. "
        f"Tra cứu hồ sơ {code} hoặc liên hệ cơ quan tiếp nhận."]}


def test_residence_deletion_refused_while_the_death_registration_stands(service):
    code = service.file(death_declaration(parts=["death", "residence"]))["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    service.decide("cong-an", code, "refuse", note="Người yêu cầu không phải thành viên hộ gia đình")
    done = service.wait_dossier(code, "completed")
    assert [(p["part"], p["state"]) for p in done["parts"]] == [("death", "approved"), ("residence", "refused")]
    assert done["parts"][1]["note"] == "Người yêu cầu không phải thành viên hộ gia đình"


def test_a_supplement_loop_on_the_death_registration(service):
    code = service.file(death_declaration(parts=["death", "residence"]))["code"]
    service.decide("tu-phap-ho-tich", code, "supplement", note="Bổ sung bản chụp giấy báo tử")
    service.wait_part(code, "death", "awaiting-supplement")
    assert service.inbox("tu-phap-ho-tich", code) == []
    service.supplement(code, "residence", expect=409)  # not the part that was sent back
    service.supplement(code, "death")
    service.decide("tu-phap-ho-tich", code, "approve")
    service.wait_part(code, "death", "approved")
    states = [e["state"] for e in service.status(code)["timeline"] if e["part"] == "death"]
    assert states == ["processing", "awaiting-supplement", "processing", "handed-off", "approved"]


def test_a_deadline_breach_is_escalated(service, clock):
    code = service.file(death_declaration(parts=["death", "residence"]))["code"]
    service.wait_part(code, "death", "processing")
    clock.set(datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc))  # 17:01 in Hanoi
    assert wait_for(lambda: service.part(code, "death"), lambda p: p["overdue"], timeout=20)["state"] == "processing"
    wait_for(lambda: service.inbox("tu-phap-ho-tich-lanh-dao", code), lambda t: len(t) == 1, timeout=20)


@pytest.mark.parametrize("changes, why", [
    ({"deceased__idNumber": "087040009999"}, "Không tìm thấy"),  # the register does not know them
    ({"requester__fullName": "Nguyễn Văn Ân"}, "không khớp"),
])
def test_an_unknown_or_mismatched_person_is_rejected_at_receipt(service, changes, why):
    code = service.file(death_declaration(parts=["death", "residence"], **changes))["code"]
    rejected = service.wait_dossier(code, "rejected")
    assert why in rejected["reason"]
    assert service.inbox("tu-phap-ho-tich", code) == []


@pytest.mark.printing
@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_funeral_support_for_each_eligibility_row(service, case):
    code = service.file(death_declaration(parts=["death", "residence", "funeral"], **deceased(case)))["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    service.decide("cong-an", code, "approve")
    expected = case["expected"]
    if expected["funeralAgency"] == "none":
        funeral = service.wait_part(code, "funeral", "not-eligible")
        assert funeral["result"]["funeralDecision"]["funeralAmount"] == 0
    else:
        if expected["funeralAgency"] == "ldtbxh" and not case["eligibility"]["meritoriousPerson"]:
            # Decree 20/2021 (issue 15): the commune chairman forwards first, then the labour office decides.
            chairman = wait_for(lambda: service.inbox("lanh-dao-ubnd-xa", code), lambda t: len(t) == 1, timeout=20)
            assert chairman[0]["name"] == "Chủ tịch UBND xã xem xét, chuyển hồ sơ đến phòng LĐTBXH"
            assert service.inbox("ldtbxh", code) == []
            service.rest.post(f"/task/{chairman[0]['id']}/complete",
                              {"variables": {"chairmanNote": {"value": "Đủ điều kiện, chuyển phòng LĐTBXH"}}}, expect=204)
        # The table chose the paying agency: its officers get the task.
        service.decide(expected["funeralAgency"], code, "approve")
        funeral = service.wait_part(code, "funeral", "approved")
        decision = funeral["result"]["funeralDecision"]
        assert (decision["funeralAgency"], decision["funeralAmount"]) == (expected["funeralAgency"], expected["funeralAmount"])
        assert funeral["result"]["funeralPaymentReference"]
    done = service.wait_dossier(code, "completed")
    assert done["parts"][2]["part"] == "funeral"
    # Form 04 is Decree 20/2021's request: printed for those cases only, never for social insurance's allowance.
    form04 = expected["funeralAgency"] == "ldtbxh" and not case["eligibility"]["meritoriousPerson"]
    assert ("funeral" in {d["form"] for d in done["declarations"]}) is form04


def test_all_four_parts_with_the_survivor_allowance(service):
    pensioner = CASE["social-insurance-pensioner"]
    code = service.file(death_declaration(parts=["death", "residence", "funeral", "survivor"], **deceased(pensioner)))["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    for group in ("cong-an", "bhxh"):  # BHXH has two tasks: the funeral allowance and the survivor allowance
        wait_for(lambda: service.inbox(group, code), lambda t: len(t) >= 1, timeout=20)
    service.decide("cong-an", code, "approve")
    tasks = wait_for(lambda: service.inbox("bhxh", code), lambda t: len(t) == 2, timeout=20)
    for task in tasks:
        service.rest.post(f"/task/{task['id']}/complete", {"variables": {"decision": {"value": "approve"}}}, expect=204)
    done = service.wait_dossier(code, "completed")
    assert [p["state"] for p in done["parts"]] == ["approved"] * 4
    assert done["parts"][3]["result"]["survivorReference"]


def test_a_changed_table_is_version_2_while_a_running_dossier_finishes_on_version_1(service):
    pensioner = CASE["social-insurance-pensioner"]
    first = service.file(death_declaration(parts=["death", "residence", "funeral"], **deceased(pensioner)))["code"]
    service.wait_part(first, "death", "processing")

    # The analyst raises the reference salary in the Modeler and deploys the table again.
    table = workflow_files()["funeral_support.dmn"].replace(b"<text>2340000</text>", b"<text>2530000</text>")
    deployed = service.rest.call("POST", "/deployment/create", files={"data": ("funeral_support.dmn", table)}, expect=200)
    versions = {d["key"]: d["version"] for d in deployed["deployedDecisionDefinitions"].values()}
    assert versions["funeral_support"] == 2

    service.decide("tu-phap-ho-tich", first, "approve")
    service.decide("cong-an", first, "approve")
    service.decide("bhxh", first, "approve")
    old = service.wait_part(first, "funeral", "approved")["result"]["funeralDecision"]
    assert old["funeralAmount"] == 23_400_000  # version 1, which the dossier started on

    second = service.file(death_declaration(parts=["death", "residence", "funeral"], **deceased(CASE["several-apply"])))["code"]
    service.decide("tu-phap-ho-tich", second, "approve")
    service.decide("cong-an", second, "approve")
    service.decide("bhxh", second, "approve")
    new = service.wait_part(second, "funeral", "approved")["result"]["funeralDecision"]
    assert new["funeralAmount"] == 25_300_000  # filed after the change: version 2


def test_a_death_before_the_base_levels_table_is_an_incident_not_an_old_amount(service, clock):
    """Issue 15: a death before 1 July 2021 (the base levels table's first row) was paid the 2021
    levels; the decision now has no result and the gateway after it takes no path: an incident."""
    case = next(c for c in CASES if c["case"] == "social-insurance-pensioner")
    changes = {**deceased(case), "death__diedAt": "2020-03-01T08:00", "death__noticeIssuedOn": "2020-03-01",
               "burial__date": "2020-03-03"}
    code = service.file(death_declaration(parts=["death", "residence", "funeral"], **changes))["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    service.decide("cong-an", code, "approve")
    [instance] = service.rest.get(f"/process-instance?businessKey={code}")

    def incidents():
        clock.advance(timedelta(hours=1))  # past each retry's back-off
        return service.rest.get(f"/incident?processInstanceId={instance['id']}")

    incident = wait_for(incidents, bool, timeout=30)
    # The decision runs as the eligibility lookup completes, so the incident is on that step.
    assert [(i["activityId"], i["incidentMessage"].strip()) for i in incident] == [
        ("Task_Eligibility", "No conditions satisfied for Gateway_Eligible.")]
    assert service.part(code, "funeral")["state"] not in ("approved", "not-eligible")
    assert service.inbox("bhxh", code) == []
