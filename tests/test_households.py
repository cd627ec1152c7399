"""registers/population.py: what the population register knows of a household (for the CT01 declaration),
and how the local agency stand-ins change it (a death, a deleted residence)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from registers import population
from registers.population import (
    Citizen,
    Household,
    HouseholdMember,
    HttpRegister,
    LocalRegister,
    PopulationRegister,
    RegisterUnavailable,
    current_register,
    record_death,
    record_leaving_household,
    use_register,
)
from registers.models import PopulationChange
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
        {"idNumber": "087040000888", "fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male",
         "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "householdId": "HGD-087-000777", "deceased": False,
         "relationship": "Bố"},
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
    assert household.member("087040000888").relationship == "Bố"  # the head's father, the death group's example
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


# --- what the local agency stand-ins change, seen through the database ------------------------------

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
TAM, AN, BINH = "087040000888", "087084000999", "087190001234"


def change(database, recording, id_number: str, on: date, dossier: str = "UBND-MYAN-261123-0001") -> bool:
    with database.session() as session:
        return recording(session, id_number, on, dossier, NOW)


def test_a_death_and_a_deleted_residence_are_seen_through_the_database(database):
    register = LocalRegister().with_changes_from(database)
    assert register.household("HGD-087-000777") == LocalRegister().household("HGD-087-000777")

    assert change(database, record_death, TAM, date(2026, 11, 20)) is True
    assert register.find(TAM).deceased is True
    assert register.household("HGD-087-000777").member(TAM).citizen.deceased is True  # dead, still a member

    assert change(database, record_leaving_household, "087 040 000 888", date(2026, 11, 23)) is True
    tam = register.find(TAM)
    assert (tam.deceased, tam.household_id, tam.full_name) == (True, "", "Nguyễn Văn Tám")
    household = register.household("HGD-087-000777")
    assert [m.citizen.id_number for m in household.members] == [AN, BINH]
    assert household.head.citizen.full_name == "Nguyễn Văn An"
    assert {c.id_number: c.deceased for c in register}[TAM] is True

    # Another process's register (a fresh one over the same database) sees the same; the sample does not change.
    assert LocalRegister().with_changes_from(database).find(TAM) == tam
    assert LocalRegister().find(TAM).deceased is False
    assert len(LocalRegister().household("HGD-087-000777").members) == 3


def test_each_change_is_recorded_once(database):
    assert change(database, record_death, TAM, date(2026, 11, 20)) is True
    assert change(database, record_death, TAM, date(2026, 11, 21), dossier="UBND-MYAN-261124-0002") is False
    assert change(database, record_leaving_household, TAM, date(2026, 11, 23)) is True
    assert change(database, record_leaving_household, TAM, date(2026, 11, 24)) is False
    with database.session() as session:
        [row] = session.scalars(select(PopulationChange))
        assert (row.id_number, row.deceased_on, row.left_household_on, row.dossier_code) == (
            TAM, date(2026, 11, 20), date(2026, 11, 23), "UBND-MYAN-261123-0001")


def test_a_household_everyone_left_is_gone_and_one_its_head_left_needs_a_new_head(database):
    register = LocalRegister().with_changes_from(database)
    change(database, record_leaving_household, "001165007788", date(2026, 11, 23))  # the only member
    assert register.household("HGD-001-002290") is None
    change(database, record_leaving_household, AN, date(2026, 11, 23))  # the head, while his wife and father stay
    with pytest.raises(ValueError, match=r"HGD-087-000777: its head Nguyễn Văn An .*\(thay đổi chủ hộ\)"):
        register.household("HGD-087-000777")


def test_the_local_register_is_read_through_the_tasks_database(database, monkeypatch):
    monkeypatch.delenv(population.ENVIRONMENT_VARIABLE, raising=False)
    change(database, record_death, TAM, date(2026, 11, 20))
    with use_register(LocalRegister()) as local:
        assert current_register() is local and local.find(TAM).deceased is False
        assert current_register(database).find(TAM).deceased is True
    remote = HttpRegister("http://register.example")
    with use_register(remote):
        assert current_register(database) is remote  # the agencies' own systems change the real register
