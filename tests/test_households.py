"""handlers/identity.py: what the population register knows of a household (for the CT01 declaration)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from handlers.identity import (
    Citizen,
    Household,
    HouseholdMember,
    HttpRegister,
    LocalRegister,
    PopulationRegister,
    RegisterUnavailable,
)
from tests.loopback import loopback_server

DONG_THAP = {
    "householdId": "HGD-087-000777", "address": "Ấp 1, xã Mỹ An, Đồng Tháp",
    "members": [
        {"idNumber": "087084000999", "fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
         "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "householdId": "HGD-087-000777", "deceased": False,
         "relationship": "Chủ hộ"},
        {"idNumber": "087190001234", "fullName": "Trần Thị Bình", "dateOfBirth": "1990-07-08", "sex": "female",
         "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "householdId": "HGD-087-000777", "deceased": False,
         "relationship": "Vợ"},
    ],
}


def test_the_sample_register_knows_every_citizens_household_and_its_one_head():
    register = LocalRegister()
    assert isinstance(register, PopulationRegister)
    for citizen in register:
        household = register.household(citizen.household_id)
        assert household is not None, citizen
        assert household.member(citizen.id_number).citizen == citizen
        assert household.head.relationship == "Chủ hộ"
    assert register.household("HGD-000-000000") is None


def test_the_sample_household_of_the_example_couple():
    household = LocalRegister().household(" HGD-087-000777 ")
    assert household.head.citizen.full_name == "Nguyễn Văn An"
    assert household.member("087 190 001 234").relationship == "Vợ"
    assert household.to_json() == DONG_THAP
    assert Household.from_json(DONG_THAP) == household


def test_a_household_has_exactly_one_head():
    an = Citizen.from_json(DONG_THAP["members"][0])
    with pytest.raises(ValueError, match="0 heads"):
        Household("H", "Ấp 1", (HouseholdMember(an, "Con"),))
    with pytest.raises(ValueError, match="2 heads"):
        Household("H", "Ấp 1", (HouseholdMember(an, "Chủ hộ"), HouseholdMember(an, "Chủ hộ")))


def test_a_register_built_from_citizens_alone_knows_no_households():
    register = LocalRegister([Citizen.from_json(DONG_THAP["members"][0])])
    assert register.household("HGD-087-000777") is None


@contextmanager
def household_server(households: dict[str, object]):
    def respond(request, release):
        key = request["path"].rsplit("/", 1)[-1]
        if not request["path"].startswith("/api/households/") or key not in households:
            return 404, {}
        answer = households[key]
        if isinstance(answer, int):
            return answer, {"error": "x"}
        return 200, answer

    with loopback_server(respond) as (url, seen):
        yield url + "/api", seen


def test_http_register_household():
    answers = {"HGD-087-000777": DONG_THAP, "BROKEN": 503, "GARBLED": b"not json",
               "HEADLESS": {**DONG_THAP, "members": DONG_THAP["members"][1:]}}
    with household_server(answers) as (url, seen):
        register = HttpRegister(url, timeout=2)
        assert register.household("HGD-087-000777") == LocalRegister().household("HGD-087-000777")
        assert register.household("HGD-000-000000") is None
        with pytest.raises(RegisterUnavailable, match="503"):
            register.household("BROKEN")
        with pytest.raises(RegisterUnavailable, match="unreadable"):
            register.household("GARBLED")
        with pytest.raises(RegisterUnavailable, match="unreadable"):  # no head: not a household we can use
            register.household("HEADLESS")
    assert [r["path"] for r in seen[:2]] == ["/api/households/HGD-087-000777", "/api/households/HGD-000-000000"]
