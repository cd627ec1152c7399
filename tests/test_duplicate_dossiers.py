"""Issue 15: the same child filed twice was registered twice (two certificates, two personal ID
numbers for one child), and a death was filed again. A second dossier for the same subject is now
refused at receipt, naming the earlier dossier, while the earlier one stands; over HTTP, with the
real diagrams and the officers' decisions."""
from __future__ import annotations

import threading

import pytest
import requests

from engine.clock import ManualClock
from tests.birth_examples import birth_declaration
from tests.portal import MONDAY_9AM, running_service


@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    with running_service(database, ManualClock(MONDAY_9AM), "birth") as portal:
        yield portal


def refusal(code: str) -> dict:
    return {"declaration.child": [f"Trẻ này đã có hồ sơ khai sinh {code} đang giải quyết hoặc đã đăng ký; không nộp lại. "
                                  f"Tra cứu hồ sơ {code} hoặc liên hệ cơ quan tiếp nhận."]}


def test_the_same_child_filed_twice_is_refused_with_the_earlier_code(service):
    first = service.file(birth_declaration(parts=["birth", "bhyt"]))["code"]
    # The same mother, the same child's name (however spaced or cased) and date of birth.
    again = service.file(birth_declaration(child__fullName="nguyễn  minh KHANG"), expect=400)
    assert again["fieldErrors"] == refusal(first)
    # Still refused once the birth is registered: one child, one certificate.
    service.decide("tu-phap-ho-tich", first, "approve")
    service.wait_part(first, "birth", "approved")
    assert service.file(birth_declaration(), expect=400)["fieldErrors"] == refusal(first)
    # Another child of the same mother (another name, or born another day) is another dossier.
    service.file(birth_declaration(child__fullName="Nguyễn Minh Khôi"))
    service.file(birth_declaration(child__dateOfBirth="2024-05-21"))


def test_a_child_whose_birth_registration_was_refused_may_be_filed_again(service):
    first = service.file(birth_declaration(parts=["birth", "residence"]))["code"]
    service.decide("tu-phap-ho-tich", first, "refuse", note="Giấy chứng sinh không hợp lệ")
    service.wait_part(first, "birth", "refused")
    assert service.file(birth_declaration())["code"] != first


def test_each_twin_is_a_subject_of_its_own(service):
    """Twins filed together are two subjects: either one filed again, alone or in another twins
    declaration, is refused naming the twins' dossier and the child at fault."""
    from tests.birth_examples import twins_declaration

    twins = service.file(twins_declaration(parts=["birth", "bhyt"]))["code"]
    second_alone = service.file(birth_declaration(child__fullName="Nguyễn Ngọc Hân", child__sex="female"), expect=400)
    assert second_alone["fieldErrors"] == refusal(twins)
    again = service.file(twins_declaration(), expect=400)["fieldErrors"]
    assert sorted(again) == ["declaration.children.0", "declaration.children.1"]
    assert again["declaration.children.1"] == refusal(twins)["declaration.child"]
    # Another child of the same mother is another dossier.
    service.file(birth_declaration(child__fullName="Nguyễn Minh Khôi"))


def test_two_filings_of_the_same_child_at_the_same_moment_store_one_dossier(service, database, monkeypatch):
    """Both filings pass the look-up before either is stored (a barrier holds them there); the
    database's unique index on standing subjects refuses the second: 409 naming the first.
    On SQLite the writers take the write lock at BEGIN, so the second filing's look-up already sees
    the first (the 400 above): the race exists on PostgreSQL, where filings run side by side."""
    if not database.is_postgresql:
        pytest.skip("SQLite serialises writers at BEGIN IMMEDIATE: no two filings run side by side")
    from dossiers.service import DossierService
    barrier = threading.Barrier(2, timeout=20)
    look_up = DossierService._standing_dossier
    held = []

    def looked_up_together(session, subject):
        earlier = look_up(session, subject)
        if len(held) < 2:  # the two filings' look-ups, not the one naming the winner afterwards
            held.append(subject)
            barrier.wait()
        return earlier
    monkeypatch.setattr(DossierService, "_standing_dossier", staticmethod(looked_up_together))

    answers = []

    def file():
        body = {"procedure": "birth", "declaration": birth_declaration()}
        response = requests.post(f"{service.base}/api/dossiers", json=body, auth=service.http.auth, timeout=60)
        answers.append(response)
    threads = [threading.Thread(target=file) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    filed = next(r for r in answers if r.status_code == 201).json()["code"]
    refused = next(r for r in answers if r.status_code == 409).json()
    assert refused["fieldErrors"] == refusal(filed)
    assert len(service.http.get(f"{service.base}/api/dossiers", timeout=30).json()) == 1
