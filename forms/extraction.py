"""One citizen declaration in, the official declarations out (bước 3: xem lại các tờ khai).

    extract_declarations(declaration, received_on=date(2026, 6, 1), household=household)
    -> {"birth": {...}, "residence": {...}, "bhyt": {...}}   # the parts the citizen chose
    extract_declarations(declaration, procedure="death", received_on=date(2026, 11, 23), household=household)
    -> {"death": {...}, "residence": {...}, "funeral": {...}}

`procedure` names the linked group and so the citizen's declaration (PROCEDURES):
- "birth" (the default): forms/birth.py; parts "birth" -> "birth-registration", "residence" -> the
  CT01 "residence-declaration" registering the newborn, "bhyt" -> "bhyt-declaration" (TK1-TS);
- "death": forms/death.py; parts "death" -> "death-registration", "residence" -> the CT01
  "residence-declaration" deleting the deceased's permanent residence, "funeral" -> "funeral-support"
  (form 04). The part "survivor" (trợ cấp tuất) has no declaration here: it is a stub part
  forwarded to social insurance (BHXH), whose own dossier is not extracted from this declaration,
  so a declaration with all four parts gives three declarations.

`declaration` is loaded again with its schema and `today=received_on`, so a wrong input fails here
with the field at fault. Each extracted declaration is then loaded through its own registered
schema: an extraction bug fails loudly instead of printing a wrong official form. Both failures
raise ExtractionError, a ValueError.

`household` is what the population register knows of the household (registers/population.py,
``Household.to_json()``): the mother's for a birth, the deceased's for a death (householdId from
identity.check), which must list that person:

    {"householdId": "HGD-087-000777", "address": "Ấp 1, xã Mỹ An, Đồng Tháp",
     "members": [{"idNumber", "fullName", "dateOfBirth", "sex", "relationship", ...}, ...]}

where `relationship` is to the head of household, the head's being "Chủ hộ". It fills the CT01
head-of-household fields, the declarant's relationship to the head (and, for a birth, date of
birth), the changed member's relationship to the head, and for a birth the address of the request.
Without it those print as blanks (and a birth's request names the mother's declared residence).

Each declaration is dated `received_on` and made at the receiving agency (`place`, `declaredOn`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError

from .bhyt import FREE_UNDER_SIX, BhytDeclarationSchema
from .birth import BirthDeclarationSchema
from .birth_registration import BirthRegistrationSchema
from .death import DeathDeclarationSchema
from .death_registration import DeathRegistrationSchema
from .funeral import FuneralSupportSchema
from .personal_id import normalise, parse_personal_id
from .printing import date_in_words
from .residence import DECEASED_REQUEST, ResidenceDeclarationSchema, newborn_request

HEAD_OF_HOUSEHOLD = "Chủ hộ"  # the register's word for the head (registers.population.HEAD_OF_HOUSEHOLD)
# When the citizen names no clinic for the child's BHYT card (nơi đăng ký khám chữa bệnh ban đầu).
DEFAULT_CLINIC = "Trạm y tế xã nơi thường trú"
SCHEMAS: dict[str, type[Schema]] = {  # part -> the schema of its declaration (CT01 serves both groups)
    "birth": BirthRegistrationSchema,
    "residence": ResidenceDeclarationSchema,
    "bhyt": BhytDeclarationSchema,
    "death": DeathRegistrationSchema,
    "funeral": FuneralSupportSchema,
}
# The child's relationship to the head of household, from a parent's (lower-cased).
_CHILD_OF_HEAD = {"chủ hộ", "vợ", "chồng"}
_GRANDCHILD_OF_HEAD = {"con", "con đẻ", "con nuôi", "con dâu", "con rể"}

Extractor = Callable[[Mapping, date, Mapping | None], dict]


class ExtractionError(ValueError):
    """The citizen declaration or the household cannot be extracted, or an extraction is invalid."""


@dataclass(frozen=True)
class Procedure:
    """A linked group: the citizen's declaration, an extractor for each part that has a declaration
    of its own, and whose household the register's answer must be (a section of the declaration)."""

    schema: type[Schema]
    extractors: Mapping[str, Extractor]
    household_of: str


def extract_declarations(declaration: Mapping[str, Any], *, procedure: str = "birth", received_on: date,
                         household: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """Each part the citizen chose (declaration["parts"]) that has a declaration, mapped to its
    validated official declaration, in the parts' canonical order."""
    group = PROCEDURES.get(procedure) if isinstance(procedure, str) else None
    if group is None:
        raise ExtractionError(f"unknown procedure {procedure!r}; known: {', '.join(PROCEDURES)}")
    if not isinstance(declaration, Mapping):
        raise ExtractionError(f"the declaration must be an object, not {type(declaration).__name__}")
    if not isinstance(received_on, date):
        raise ExtractionError(f"received_on must be a date, not {type(received_on).__name__}")
    try:
        citizen = group.schema(today=received_on).load(declaration)
    except ValidationError as refused:
        raise ExtractionError(f"the citizen's {procedure} declaration is not valid: {refused.messages}") from None
    if household is not None:
        _check_household(household, citizen, group.household_of)
    extracted = {}
    for part in citizen["parts"]:
        extractor = group.extractors.get(part)
        if extractor is None:
            continue  # "survivor": no declaration of its own (see the module docstring)
        data = extractor(citizen, received_on, household)
        try:
            extracted[part] = SCHEMAS[part]().load(data)
        except ValidationError as refused:
            raise ExtractionError(f"the extracted {part} declaration is not valid: {refused.messages}") from None
    return extracted


# --- the birth group ------------------------------------------------------------------------------

def _birth(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    requester, child = d["requester"], d["child"]
    return {
        "receivingAgency": d["receivingAgency"],
        "requester": {key: requester[key] for key in ("fullName", "idNumber", "residence", "relationship")},
        "child": {**child, "dateOfBirthInWords": date_in_words(date.fromisoformat(child["dateOfBirth"]))},
        "mother": dict(d["mother"]),
        "father": dict(d["father"]) if d["father"] else None,
        "marriage": dict(d["marriage"]) if d["marriage"] else None,
        "copies": d["copies"],
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


def _newborn_residence(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    child, mother, father = d["child"], d["mother"], d["father"]
    members = list(household["members"]) if household else []
    parent_rows = [row for row in (_member(members, mother["idNumber"]),
                                   _member(members, father["idNumber"]) if father else None) if row]
    if household:
        address = household["address"]
        father_here = father is not None and _member(members, father["idNumber"]) is not None
    else:
        address = mother["residence"]
        father_here = father is not None and _same_text(father["residence"], mother["residence"])
    return _ct01(d, received_on, household, request=newborn_request("cha, mẹ" if father_here else "mẹ", address),
                 member={
                     "fullName": child["fullName"],
                     "dateOfBirth": child["dateOfBirth"],
                     "sex": child["sex"],
                     "idNumber": None,  # issued by the birth registration
                     "relationship": child_relationship_to_head([row["relationship"] for row in parent_rows]),
                 })


def _bhyt(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    requester, child, mother, father = d["requester"], d["child"], d["mother"], d["father"]
    parents = {mother["idNumber"]} | ({father["idNumber"]} if father else set())
    return {
        "fullName": child["fullName"],
        "dateOfBirth": child["dateOfBirth"],
        "sex": child["sex"],
        "nationality": child["nationality"],
        "ethnicity": child["ethnicity"],
        "birthRegistrationPlace": d["receivingAgency"],
        "resultAddress": requester["residence"],
        "idNumber": None,  # issued by the birth registration
        "phone": requester["phone"],
        # The parent who files signs as such; anyone else files for the parents: the mother is named.
        "guardianName": requester["fullName"] if requester["idNumber"] in parents else mother["fullName"],
        "contributionLevel": FREE_UNDER_SIX,
        "clinic": d.get("clinic") or DEFAULT_CLINIC,
        "declarantName": requester["fullName"],
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


def with_child_id(declarations: Mapping[str, Any], id_number: str) -> dict[str, dict]:
    """The birth group's declarations once birth registration issued the child's personal ID number:
    the BHYT declaration's number (TK1-TS item [07]) and the newborn's row of CT01 carry it, each
    loaded again through its schema (a number that does not fit the child's sex and birth year fails
    here, as ExtractionError). The birth declaration itself is unchanged: it was made before the
    number existed."""
    completed = {part: dict(data) for part, data in declarations.items()}
    if "bhyt" in completed:
        completed["bhyt"]["idNumber"] = id_number
    if "residence" in completed:  # a birth's CT01 lists the newborn alone, the one member without a number
        completed["residence"]["members"] = [{**member, "idNumber": member.get("idNumber") or id_number}
                                             for member in completed["residence"]["members"]]
    for part in ("bhyt", "residence"):
        if part in completed:
            try:
                completed[part] = SCHEMAS[part]().load(completed[part])
            except ValidationError as refused:
                raise ExtractionError(f"the {part} declaration with the child's ID number is not valid: "
                                      f"{refused.messages}") from None
    return completed


# --- the death group ------------------------------------------------------------------------------

def _death(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    requester = d["requester"]
    return {
        "receivingAgency": d["receivingAgency"],
        "requester": {key: requester[key] for key in ("fullName", "dateOfBirth", "residence", "idNumber", "relationship")},
        "deceased": dict(d["deceased"]),
        "death": dict(d["death"]),
        "copies": d["copies"],
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


def _deceased_residence(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    deceased = d["deceased"]
    row = _member(list(household["members"]), deceased["idNumber"]) if household else None
    return _ct01(d, received_on, household, request=DECEASED_REQUEST, member={
        "fullName": deceased["fullName"],
        "dateOfBirth": deceased["dateOfBirth"],
        "sex": deceased["sex"],
        "idNumber": deceased["idNumber"],
        "relationship": row["relationship"] if row else None,
    })


def _funeral(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    requester, deceased, death, burial = d["requester"], d["deceased"], d["death"], d["burial"]
    return {
        "receivingAgency": d["receivingAgency"],
        "deceased": {
            "fullName": deceased["fullName"].upper(),  # form 04: "Họ và tên (viết chữ in hoa)"
            "dateOfBirth": deceased["dateOfBirth"],
            "sex": deceased["sex"],
            "ethnicity": deceased["ethnicity"],
            "residence": deceased["lastResidence"],
            "diedOn": death["diedAt"][:10],
            "cause": death["cause"],
        },
        "burial": {"date": burial["date"], "place": burial["place"]},
        # The family organised the burial: the requester signs for it (part II.2 of the form).
        "organiser": {key: requester[key] for key in ("fullName", "dateOfBirth", "idNumber", "residence", "relationship")},
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


PROCEDURES: dict[str, Procedure] = {
    "birth": Procedure(BirthDeclarationSchema, {"birth": _birth, "residence": _newborn_residence, "bhyt": _bhyt},
                       household_of="mother"),
    "death": Procedure(DeathDeclarationSchema, {"death": _death, "residence": _deceased_residence, "funeral": _funeral},
                       household_of="deceased"),
}


# --- CT01 and the household -----------------------------------------------------------------------

def _ct01(d: Mapping, received_on: date, household: Mapping | None, *, request: str, member: dict) -> dict:
    """The residence declaration CT01 of either group: the requester declares, `member` changes."""
    requester = d["requester"]
    members = list(household["members"]) if household else []
    head = next((m for m in members if _is_head(m)), None)
    as_member = _member(members, requester["idNumber"])
    return {
        "receivingAgency": d["receivingAgency"],
        "declarant": {
            "fullName": requester["fullName"],
            # A death declaration's requester declares it; for a birth's, only the register knows it.
            "dateOfBirth": requester.get("dateOfBirth") or (as_member["dateOfBirth"] if as_member else None),
            "sex": parse_personal_id(requester["idNumber"]).sex,
            "idNumber": requester["idNumber"],
            "phone": requester["phone"],
            "email": requester.get("email"),
            "relationshipToHead": as_member["relationship"] if as_member else None,
        },
        "headOfHousehold": {"fullName": head["fullName"], "idNumber": head["idNumber"]} if head else None,
        "request": request,
        "members": [member],
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


def child_relationship_to_head(parent_relationships: list[str]) -> str | None:
    """A newborn's relationship to the head, from its parents' (the first that decides it).

    A parent who is the head or the head's spouse makes the child "Con"; a parent who is the head's
    child (or child-in-law) makes it "Cháu". Otherwise (a sibling's household, "Khác"...) the
    register's words do not say, and None prints a blank for the officer to fill.
    """
    for relationship in parent_relationships:
        key = " ".join(str(relationship).split()).casefold()
        if key in _CHILD_OF_HEAD:
            return "Con"
        if key in _GRANDCHILD_OF_HEAD:
            return "Cháu"
    return None


def _check_household(household: Mapping, citizen: Mapping, role: str) -> None:
    """A well-formed household with one head that lists citizen[role] (the mother, the deceased)."""
    where = f"household {household.get('householdId')!r}" if isinstance(household, Mapping) else "household"
    if not isinstance(household, Mapping) or not isinstance(household.get("members"), list):
        raise ExtractionError(f"{where}: expected an object with a list of members")
    if not str(household.get("address") or "").strip():
        raise ExtractionError(f"{where}: has no address")
    for member in household["members"]:
        if not isinstance(member, Mapping) or not all(member.get(k) for k in ("idNumber", "fullName", "relationship")):
            raise ExtractionError(f"{where}: a member lacks idNumber, fullName or relationship: {member!r}")
    heads = [m for m in household["members"] if _is_head(m)]
    if len(heads) != 1:
        raise ExtractionError(f"{where}: has {len(heads)} heads of household ({HEAD_OF_HOUSEHOLD!r}), not 1")
    id_number = citizen[role]["idNumber"]
    if _member(household["members"], id_number) is None:
        raise ExtractionError(f"{where} does not list the {role} {id_number}: "
                              f"pass the {role}'s household (householdId from identity.check)")


def _is_head(member: Mapping) -> bool:
    return _same_text(str(member.get("relationship") or ""), HEAD_OF_HOUSEHOLD)


def _member(members: list[Mapping], id_number: str) -> Mapping | None:
    return next((m for m in members if normalise(str(m.get("idNumber") or "")) == id_number), None)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
