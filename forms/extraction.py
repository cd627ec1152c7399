"""One citizen declaration in, up to three official declarations out (bước 3: xem lại các tờ khai).

    extract_declarations(declaration, received_on=date(2026, 6, 1), household=household)
    -> {"birth": {...}, "residence": {...}, "bhyt": {...}}   # the parts the citizen chose

`declaration` is the citizen's birth declaration (forms/birth.py); it is loaded again with
`BirthDeclarationSchema(today=received_on)`, so a wrong input fails here with the field at fault.
Each extracted declaration is then loaded through its own schema ("birth-registration",
"residence-declaration", "bhyt-declaration"): an extraction bug fails loudly instead of printing
a wrong official form. Both failures raise ExtractionError, a ValueError.

`household` is what the population register knows of the mother's household (handlers/identity.py,
``Household.to_json()``):

    {"householdId": "HGD-087-000777", "address": "Ấp 1, xã Mỹ An, Đồng Tháp",
     "members": [{"idNumber", "fullName", "dateOfBirth", "sex", "relationship", ...}, ...]}

where `relationship` is to the head of household, the head's being "Chủ hộ". It fills the CT01
head-of-household fields, the declarant's date of birth and relationship to the head, the child's
relationship to the head, and the address of the request. Without it those print as blanks (and
the request names the mother's declared residence).

Each declaration is dated `received_on` and made at the receiving agency (`place`, `declaredOn`).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError

from .bhyt import FREE_UNDER_SIX, BhytDeclarationSchema
from .birth import BirthDeclarationSchema
from .birth_registration import BirthRegistrationSchema
from .identity import normalise, parse_personal_id
from .printing import date_in_words
from .residence import ResidenceDeclarationSchema

HEAD_OF_HOUSEHOLD = "Chủ hộ"  # the register's word for the head (handlers.identity.HEAD_OF_HOUSEHOLD)
# When the citizen names no clinic for the child's BHYT card (nơi đăng ký khám chữa bệnh ban đầu).
DEFAULT_CLINIC = "Trạm y tế xã nơi thường trú"
SCHEMAS: dict[str, type[Schema]] = {
    "birth": BirthRegistrationSchema,
    "residence": ResidenceDeclarationSchema,
    "bhyt": BhytDeclarationSchema,
}
# The child's relationship to the head of household, from a parent's (lower-cased).
_CHILD_OF_HEAD = {"chủ hộ", "vợ", "chồng"}
_GRANDCHILD_OF_HEAD = {"con", "con đẻ", "con nuôi", "con dâu", "con rể"}


class ExtractionError(ValueError):
    """The citizen declaration or the household cannot be extracted, or an extraction is invalid."""


def extract_declarations(declaration: Mapping[str, Any], *, received_on: date,
                         household: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """Each part the citizen chose (declaration["parts"]) mapped to its validated official declaration."""
    if not isinstance(declaration, Mapping):
        raise ExtractionError(f"the declaration must be an object, not {type(declaration).__name__}")
    if not isinstance(received_on, date):
        raise ExtractionError(f"received_on must be a date, not {type(received_on).__name__}")
    try:
        citizen = BirthDeclarationSchema(today=received_on).load(declaration)
    except ValidationError as refused:
        raise ExtractionError(f"the citizen's birth declaration is not valid: {refused.messages}") from None
    if household is not None:
        _check_household(household, citizen)
    extractors = {"birth": _birth, "residence": _residence, "bhyt": _bhyt}
    extracted = {}
    for part in citizen["parts"]:
        data = extractors[part](citizen, received_on, household)
        try:
            extracted[part] = SCHEMAS[part]().load(data)
        except ValidationError as refused:
            raise ExtractionError(f"the extracted {part} declaration is not valid: {refused.messages}") from None
    return extracted


# --- one extractor per part -------------------------------------------------------------------

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


def _residence(d: Mapping, received_on: date, household: Mapping | None) -> dict:
    requester, child, mother, father = d["requester"], d["child"], d["mother"], d["father"]
    members = list(household["members"]) if household else []
    head = next((m for m in members if _is_head(m)), None)
    as_member = _member(members, requester["idNumber"])
    parent_rows = [row for row in (_member(members, mother["idNumber"]),
                                   _member(members, father["idNumber"]) if father else None) if row]
    if household:
        address = household["address"]
        father_here = father is not None and _member(members, father["idNumber"]) is not None
    else:
        address = mother["residence"]
        father_here = father is not None and _same_text(father["residence"], mother["residence"])
    parents = "cha, mẹ" if father_here else "mẹ"
    return {
        "receivingAgency": d["receivingAgency"],
        "declarant": {
            "fullName": requester["fullName"],
            "dateOfBirth": as_member["dateOfBirth"] if as_member else None,
            "sex": parse_personal_id(requester["idNumber"]).sex,
            "idNumber": requester["idNumber"],
            "phone": requester["phone"],
            "email": requester.get("email"),
            "relationshipToHead": as_member["relationship"] if as_member else None,
        },
        "headOfHousehold": {"fullName": head["fullName"], "idNumber": head["idNumber"]} if head else None,
        "request": f"Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của {parents}: {address}",
        "members": [{
            "fullName": child["fullName"],
            "dateOfBirth": child["dateOfBirth"],
            "sex": child["sex"],
            "idNumber": None,  # issued by the birth registration
            "relationship": child_relationship_to_head([row["relationship"] for row in parent_rows]),
        }],
        "place": d["receivingAgency"],
        "declaredOn": received_on.isoformat(),
    }


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


# --- the household ------------------------------------------------------------------------------

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


def _check_household(household: Mapping, citizen: Mapping) -> None:
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
    if _member(household["members"], citizen["mother"]["idNumber"]) is None:
        raise ExtractionError(f"{where} does not list the mother {citizen['mother']['idNumber']}: "
                              "pass the mother's household (householdId from identity.check)")


def _is_head(member: Mapping) -> bool:
    return _same_text(str(member.get("relationship") or ""), HEAD_OF_HOUSEHOLD)


def _member(members: list[Mapping], id_number: str) -> Mapping | None:
    return next((m for m in members if normalise(str(m.get("idNumber") or "")) == id_number), None)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
