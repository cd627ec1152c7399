"""Issue 15: the same child filed twice was registered twice (two certificates, two personal ID
numbers for one child), and a death was filed again. A second dossier for the same subject is now
refused at receipt, naming the earlier dossier, while the earlier one stands; over HTTP, with the
real diagrams and the officers' decisions."""
from __future__ import annotations

import pytest

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
