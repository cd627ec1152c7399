"""Deadlines as the law counts them, through the REST API, for each order in which the parts of a
birth dossier can be sent back, supplemented, verified and decided (issue 15, Deliver 1).

A supplement restarts the clock of its part from the day it is received (working days, the 15:00
rule); residence and BHYT count from when they really start (the birth registered); the dossier is
never due before one of its parts; the filing answer already has every due date. The rules are
the diagram's properties (workflows/birth_linked.bpmn, death_linked.bpmn); the dates below are
Vietnam time, in late 2026 (30 Nov is a Monday; no public holiday until 1 Jan). Also the texts a
late part and the end of a dossier send, and the funeral support's two steps.
"""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import select

from agencies.models import SmsOutbox
from engine.clock import default_zone
from tests import documents
from tests.auth import logged_in
from tests.birth_examples import birth_declaration
from tests.citizens import start_service
from tests.death_examples import death_declaration
from tests.test_death_group import CASE, deceased

ZONE = default_zone()
GROUPS = {"birth": "tu-phap-ho-tich", "residence": "cong-an", "bhyt": "bhxh"}
SUPERVISORS = {"birth": "tu-phap-ho-tich-lanh-dao", "residence": "cong-an-lanh-dao", "bhyt": "bhxh-lanh-dao"}


def at(text: str) -> datetime:
    """'Mon 30/11 09:00' -> that moment in Vietnam, 2026 (the weekday checked)."""
    weekday, day, clock = text.split()
    moment = datetime.strptime(f"{day}/2026 {clock}", "%d/%m/%Y %H:%M").replace(tzinfo=ZONE)
    assert moment.strftime("%a") == weekday, f"{day} is a {moment:%a}"
    return moment


def due(text: str) -> str:
    """'Wed 2/12' -> '2026-12-02T17:00:00+07:00', as the API writes a due moment."""
    return at(f"{text} 17:00").isoformat()


class Dossier:
    def __init__(self, service, groups: dict[str, str] = GROUPS):
        self.service = service
        self.groups = groups
        self.citizen = service.citizen("087084000999")
        self.admin = logged_in(service.app, service.engine.db)
        self.code = None

    def at(self, text: str) -> None:
        self.service.clock.set(at(text))
        self.service.drain()  # timers that fell due on the way

    def file(self, when: str, **changes) -> dict:
        self.at(when)
        response = self.citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration(**changes)})
        assert response.status_code == 201, response.get_json()
        self.code = response.get_json()["code"]
        answer = response.get_json()
        self.service.drain()
        return answer

    def decide(self, when: str, part: str, decision: str) -> None:
        self.at(when)
        tasks = self.admin.get(f"/engine-rest/task?candidateGroup={self.groups[part]}&processInstanceBusinessKey={self.code}").get_json()
        assert len(tasks) == 1, (part, tasks)
        done = self.admin.post(f"/engine-rest/task/{tasks[0]['id']}/complete",
                               json={"variables": {"decision": {"value": decision}, "note": {"value": "Ghi chú"}}})
        assert done.status_code == 204, done.get_json()
        self.service.drain()

    def supplement(self, when: str, part: str) -> None:
        self.at(when)
        sent = self.citizen.post(f"/api/dossiers/{self.code}/supplements", content_type="multipart/form-data",
                                 data={"part": part, "giay-to": (io.BytesIO(documents.pdf()), "bo-sung.pdf",
                                                                 "application/pdf")})
        assert sent.status_code == 200, sent.get_json()
        self.service.drain()

    def status(self) -> dict:
        return self.citizen.get(f"/api/dossiers/{self.code}").get_json()

    def dues(self) -> dict:
        status = self.status()
        return {"dossier": status["dueAt"], **{p["part"]: p["dueAt"] for p in status["parts"]}}

    def overdue(self) -> set[str]:
        return {p["part"] for p in self.status()["parts"] if p["overdue"]}

    def escalated(self, part: str) -> bool:
        return bool(self.admin.get(f"/engine-rest/task?candidateGroup={SUPERVISORS[part]}"
                                   f"&processInstanceBusinessKey={self.code}").get_json())


@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_AUTO", "off")
    return start_service(database, monkeypatch)


def test_the_filing_answer_carries_every_due_date(service):
    dossier = Dossier(service)
    answer = dossier.file("Mon 30/11 09:00")
    assert answer["dueAt"] == due("Thu 3/12")  # the group: 3 working days
    assert {p["part"]: p["dueAt"] for p in answer["parts"]} == {
        "birth": due("Mon 30/11"), "residence": due("Wed 2/12"), "bhyt": due("Wed 2/12")}


# Each scenario: steps in order, then the due moments they leave and the parts that were late.
# ("decide", when, part, decision) | ("supplement", when, part) | ("expect", {part: due}, {overdue parts})
SCENARIOS = {
    "all in time": [
        ("decide", "Mon 30/11 10:00", "birth", "approve"),
        ("expect", {"birth": "Mon 30/11", "residence": "Wed 2/12", "bhyt": "Wed 2/12", "dossier": "Thu 3/12"}, set()),
    ],
    "birth registered after 15:00: the later parts count from the next working day": [
        ("decide", "Mon 30/11 16:00", "birth", "approve"),
        ("expect", {"residence": "Thu 3/12", "bhyt": "Thu 3/12", "dossier": "Thu 3/12"}, set()),
    ],
    "birth supplemented late: its clock restarts, the later parts and the dossier move with it": [
        ("decide", "Mon 30/11 10:00", "birth", "supplement"),
        ("supplement", "Thu 3/12 10:00", "birth"),
        ("expect", {"birth": "Thu 3/12", "residence": "Mon 7/12", "bhyt": "Mon 7/12", "dossier": "Tue 8/12"}, set()),
        ("decide", "Thu 3/12 11:00", "birth", "approve"),
        ("expect", {"birth": "Thu 3/12", "residence": "Mon 7/12", "bhyt": "Mon 7/12", "dossier": "Tue 8/12"}, set()),
    ],
    "birth registered late: residence and BHYT do not open overdue": [
        ("decide", "Mon 30/11 10:00", "birth", "supplement"),
        ("supplement", "Tue 1/12 16:00", "birth"),  # after 15:00: counts from Wednesday
        ("expect", {"birth": "Wed 2/12", "residence": "Fri 4/12", "bhyt": "Fri 4/12", "dossier": "Mon 7/12"}, set()),
        ("decide", "Fri 4/12 09:00", "birth", "approve"),  # two days late
        ("expect", {"birth": "Wed 2/12", "residence": "Tue 8/12", "bhyt": "Tue 8/12", "dossier": "Tue 8/12"}, {"birth"}),
    ],
    "verification: 5 days from when residence started, and the dossier follows": [
        ("decide", "Wed 2/12 10:00", "birth", "approve"),
        ("expect", {"residence": "Fri 4/12", "bhyt": "Fri 4/12", "dossier": "Fri 4/12"}, {"birth"}),
        ("decide", "Thu 3/12 09:00", "residence", "verify"),
        ("expect", {"residence": "Wed 9/12", "bhyt": "Fri 4/12", "dossier": "Wed 9/12"}, {"birth"}),
    ],
    "residence supplemented, then verified: 5 days from the supplement": [
        ("decide", "Mon 30/11 10:00", "birth", "approve"),
        ("decide", "Mon 30/11 11:00", "bhyt", "approve"),
        ("decide", "Tue 1/12 09:00", "residence", "supplement"),
        ("supplement", "Fri 4/12 16:00", "residence"),  # counts from Monday 7
        ("expect", {"residence": "Wed 9/12", "bhyt": "Wed 2/12", "dossier": "Wed 9/12"}, set()),
        ("decide", "Mon 7/12 10:00", "residence", "verify"),
        ("expect", {"residence": "Mon 14/12", "dossier": "Mon 14/12"}, set()),
    ],
    "BHYT supplemented after the residence was verified: the latest part decides": [
        ("decide", "Mon 30/11 10:00", "birth", "approve"),
        ("decide", "Mon 30/11 11:00", "residence", "verify"),
        ("expect", {"residence": "Mon 7/12", "dossier": "Mon 7/12"}, set()),
        ("decide", "Tue 1/12 09:00", "bhyt", "supplement"),
        ("supplement", "Thu 3/12 09:00", "bhyt"),
        ("expect", {"residence": "Mon 7/12", "bhyt": "Mon 7/12", "dossier": "Mon 7/12"}, set()),
        ("decide", "Thu 3/12 10:00", "bhyt", "supplement"),
        ("supplement", "Mon 7/12 09:00", "bhyt"),
        ("expect", {"residence": "Mon 7/12", "bhyt": "Wed 9/12", "dossier": "Wed 9/12"}, set()),
    ],
    "both later parts supplemented, BHYT first": [
        ("decide", "Mon 30/11 10:00", "birth", "approve"),
        ("decide", "Mon 30/11 11:00", "bhyt", "supplement"),
        ("decide", "Mon 30/11 12:00", "residence", "supplement"),
        ("supplement", "Tue 1/12 10:00", "bhyt"),
        ("supplement", "Wed 2/12 10:00", "residence"),
        ("expect", {"bhyt": "Thu 3/12", "residence": "Fri 4/12", "dossier": "Fri 4/12"}, set()),
        ("decide", "Wed 2/12 11:00", "residence", "approve"),
        ("decide", "Wed 2/12 12:00", "bhyt", "approve"),
        ("expect", {"bhyt": "Thu 3/12", "residence": "Fri 4/12", "dossier": "Fri 4/12"}, set()),
    ],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_due_dates_in_every_order(service, steps):
    dossier = Dossier(service)
    dossier.file("Mon 30/11 09:00")
    for step in steps:
        if step[0] == "decide":
            dossier.decide(*step[1:])
        elif step[0] == "supplement":
            dossier.supplement(*step[1:])
        else:
            expected, late = step[1], step[2]
            dues = dossier.dues()
            assert {part: dues[part] for part in expected} == {part: due(day) for part, day in expected.items()}
            assert all(dues["dossier"] >= moment for moment in dues.values()), dues  # same offset: text order is time order
            assert dossier.overdue() == late
            assert not any(dossier.escalated(part) for part in GROUPS if part not in late)  # nobody's supervisor called in


def test_a_part_that_becomes_overdue_is_texted_and_the_last_text_says_where_to_collect(service, monkeypatch):
    """Issue 15: no text when a part is overdue; the last text did not say where and how to collect."""
    def texts() -> list[str]:
        with service.engine.db.reading() as session:
            return list(session.scalars(select(SmsOutbox.text).where(SmsOutbox.dossier_code == dossier.code)
                                        .order_by(SmsOutbox.id)))

    monkeypatch.setenv("LIENTHONG_BHYT_CARD_AUTO", "on")  # the card comes by itself, at once
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    dossier = Dossier(service)
    dossier.file("Mon 30/11 09:00", delivery="desk")
    sent = len(texts())
    dossier.at("Mon 30/11 17:01")  # the birth's same-day deadline passed
    late = texts()[sent:]
    assert late == [f"Ho so {dossier.code}: thu tuc dang ky khai sinh da qua han giai quyet. Lanh dao co quan da "
                    "duoc bao de xu ly ngay. Xin loi ong/ba vi su cham tre."]
    assert len(late[0]) <= 160 and late[0].isascii()
    dossier.decide("Tue 1/12 09:00", "birth", "approve")
    dossier.decide("Tue 1/12 10:00", "residence", "approve")
    dossier.decide("Tue 1/12 11:00", "bhyt", "approve")
    assert dossier.status()["state"] == "ready-for-collection"
    last = texts()[-1]  # the example files at the desk of H19.87.001 (dossiers/data/agencies.json)
    assert last == (f"Ho so {dossier.code} da co ket qua. Nhan ket qua tai Bo phan Mot cua, so 1 duong 30/4, ap 1, "
                    "xa My An; T2-T6 7h30-11h30, 13h30-17h.")
    [desk] = dossier.admin.get(f"/engine-rest/task?candidateGroup=mot-cua&processInstanceBusinessKey={dossier.code}").get_json()
    handed = dossier.admin.post(f"/engine-rest/task/{desk['id']}/complete", json={"variables": {
        "originalsMatch": {"value": True}, "receivedBy": {"value": "Nguyễn Văn An"}}})
    assert handed.status_code == 204, handed.get_json()
    service.drain()
    assert dossier.status()["state"] == "completed"
    # Handed over: the last text no longer sends the citizen to the desk (the hand-over's output parameter).
    assert texts()[-1] == f"Ho so {dossier.code} da hoan thanh. Ong/ba da nhan ket qua tai Bo phan Mot cua."
    assert not any("qua han" in text for text in texts()[sent + 1:])  # residence and BHYT were in time


# --- the death group: the funeral support's two steps (Decree 20/2021) -----------------------------

def test_funeral_support_the_chairmans_two_days_then_the_labour_offices_three(service):
    """Issue 15: one 5-day task where the brief has the commune chairman's 2 days, then the labour
    office's 3 counted from when it receives the dossier."""
    dossier = Dossier(service, groups={"death": "tu-phap-ho-tich", "residence": "cong-an"})
    dossier.at("Mon 30/11 09:00")
    filed = dossier.citizen.post("/api/dossiers", json={"procedure": "death", "declaration": death_declaration(
        parts=["death", "residence", "funeral"], **deceased(CASE["monthly-social-allowance"]))})
    assert filed.status_code == 201, filed.get_json()
    dossier.code = filed.get_json()["code"]
    assert {p["part"]: p["dueAt"] for p in filed.get_json()["parts"]}["funeral"] == due("Mon 7/12")
    service.drain()
    dossier.decide("Tue 1/12 10:00", "death", "approve")  # a day late: the later parts count from now
    assert dossier.dues()["funeral"] == due("Tue 8/12")
    [chairman] = dossier.admin.get(f"/engine-rest/task?candidateGroup=lanh-dao-ubnd-xa"
                                   f"&processInstanceBusinessKey={dossier.code}").get_json()
    assert datetime.strptime(chairman["due"], "%Y-%m-%dT%H:%M:%S.%f%z") == at("Thu 3/12 17:00")  # 2 working days
    assert dossier.admin.get(f"/engine-rest/task?candidateGroup=ldtbxh&processInstanceBusinessKey={dossier.code}").get_json() == []
    dossier.at("Fri 4/12 10:00")  # the chairman forwards a day late
    assert dossier.admin.post(f"/engine-rest/task/{chairman['id']}/complete", json={"variables": {}}).status_code == 204
    service.drain()
    [labour] = dossier.admin.get(f"/engine-rest/task?candidateGroup=ldtbxh&processInstanceBusinessKey={dossier.code}").get_json()
    assert datetime.strptime(labour["due"], "%Y-%m-%dT%H:%M:%S.%f%z") == at("Wed 9/12 17:00")  # 3 working days from its receipt
    dues = dossier.dues()
    assert dues["funeral"] == due("Wed 9/12") and dues["dossier"] >= dues["funeral"]
