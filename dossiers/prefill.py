"""Pre-filling a declaration from the population register for the citizen who is logged in.

The citizen's login names them (their personal ID number: VNeID's subject, or the local account's
name); the register knows their name, date of birth, residence and household. A birth declaration
gets the requester (the citizen), the mother and the father (the citizen and their spouse in the
household: the head of household and the member who is "Vợ" or "Chồng" to them), the residence and
the household; a death declaration gets the requester and the household (the deceased is whom the
citizen names, not pre-filled). What the register does not hold (ethnicity, nationality, phone)
stays for the citizen to fill; everything pre-filled is checked again at receipt.
"""
from __future__ import annotations

from engine.errors import InvalidRequest, NotFound
from registers.population import Citizen, Household, PopulationRegister

from .service import PROCEDURES

_SPOUSES = {"vợ", "chồng"}


def prefill(procedure: str, id_number: str, register: PopulationRegister) -> dict:
    """{"procedure", "declaration": the pre-filled fields, "household": who lives there} (NotFound
    when the register does not know the citizen)."""
    if procedure not in PROCEDURES:
        raise InvalidRequest(f"Unknown procedure {procedure!r}",
                             {"procedure": [f"Vui lòng chọn thủ tục liên thông: {', '.join(sorted(PROCEDURES))}."]})
    citizen = register.find(id_number)
    if citizen is None:
        raise NotFound("Không tìm thấy thông tin của bạn trong Cơ sở dữ liệu quốc gia về dân cư; vui lòng tự khai.")
    household = register.household(citizen.household_id) if citizen.household_id else None
    declaration: dict = {"requester": {"fullName": citizen.full_name, "idNumber": citizen.id_number,
                                       "residence": citizen.residence}}
    if procedure == "birth":
        spouse = _spouse(citizen, household)
        for person in (citizen, spouse):
            if person is not None:
                declaration["mother" if person.sex == "female" else "father"] = _parent(person)
        declaration["requester"]["relationship"] = "mẹ" if citizen.sex == "female" else "cha"
    return {"procedure": procedure, "declaration": declaration,
            "household": _household_view(household) if household else None}


def _spouse(citizen: Citizen, household: Household | None) -> Citizen | None:
    if household is None:
        return None
    me = household.member(citizen.id_number)
    if me is None:
        return None
    if me is household.head:
        return next((m.citizen for m in household.members if m.relationship.strip().casefold() in _SPOUSES), None)
    if me.relationship.strip().casefold() in _SPOUSES:
        return household.head.citizen
    return None


def _parent(person: Citizen) -> dict:
    return {"fullName": person.full_name, "idNumber": person.id_number,
            "birthYear": int(person.date_of_birth[:4]), "residence": person.residence}


def _household_view(household: Household) -> dict:
    return {"householdId": household.household_id, "address": household.address,
            "head": household.head.citizen.full_name,
            "members": [{"fullName": m.citizen.full_name, "relationship": m.relationship} for m in household.members]}
