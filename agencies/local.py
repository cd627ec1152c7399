"""The local agency stand-ins: each records the hand-off in ``agency_record`` and issues the numbers
the real agency would, so the embedded service runs end to end alone.

They read the citizen's declaration (forms/birth.py and forms/death.py fix its shape) for what a
real agency would read from its own records. The death and residence-deletion stand-ins also
change the local population register (registers/population.py): a death marks the person deceased,
a deletion takes them out of their household. The BHYT stand-in "issues" the card shortly after the
hand-off by scheduling the message ``bhyt.card-issued`` (``LIENTHONG_BHYT_CARD_DELAY_SECONDS``
later; ``LIENTHONG_BHYT_CARD_AUTO=off`` waits for a real one).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.handler_registry import TaskContext
from forms.birth import CHILD_AGE_LIMIT_MONTHS, add_months, children_of
from forms.death import deceased_and_day_of_death, deceased_id_number
from forms.personal_id import century_sex_digit, check_personal_id
from registers.population import (
    current_register,
    record_death,
    record_leaving_household,
)

from .models import AgencyRecord, record_once
from .port import citizen_declaration, refused

CARD_ISSUED = "bhyt.card-issued"
# BHYT card code (Decision 1351/QĐ-BHXH): "TE" = a child under 6, benefit level 1 = 100 %.
CHILD_CARD_PREFIX = "TE1"


def _today(task: TaskContext) -> date:
    return task.today()


def _record(task: TaskContext, agency: str, request: Mapping, result: dict, **numbers) -> AgencyRecord:
    return AgencyRecord(agency=agency, idempotency_key=task.idempotency_key, dossier_code=request["dossierCode"],
                        request=dict(request), result=result, created=task.now(), **numbers)


def _next_entry(session, agency: str, book: str) -> int:
    """The next entry in `agency`'s `book` (the table refuses one drawn twice: record_once draws again)."""
    last = session.scalar(select(func.max(AgencyRecord.entry)).where(
        AgencyRecord.agency == agency, AgencyRecord.book == book))
    return (last or 0) + 1


class LocalCivilStatusRegister:
    """Registers births in a book per year and issues the child's personal ID number."""

    agency = "birth"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        declaration = citizen_declaration(task)
        child = _child_registered(declaration, request)
        born = date.fromisoformat(child["dateOfBirth"])
        # The province where the birth is registered: that of the mother's ID number stands in for
        # the registering commune's, which this local register does not know.
        prefix = (declaration["mother"]["idNumber"][:3] + str(century_sex_digit(born, child["sex"]))
                  + f"{born.year % 100:02d}")

        def register(session) -> AgencyRecord:
            today = _today(task)
            book = str(today.year)
            entry = _next_entry(session, self.agency, book)
            # Random, and unique because the table refuses a number issued before (record_once draws again).
            child_id = prefix + f"{secrets.randbelow(10**6):06d}"
            result = {"childIdNumber": child_id, "birthCertificateNumber": f"{entry}/{book}",
                      "birthRegisteredOn": today.isoformat()}
            return _record(task, self.agency, request, result, issued_number=child_id, book=book, entry=entry)

        return record_once(task.database, self.agency, task.idempotency_key, register)


def _child_registered(declaration: Mapping, request: Mapping) -> Mapping:
    """The child of the citizen's declaration whose birth registration `request` sends: the one of
    its name (the children of one declaration have different names, forms/birth.py)."""
    children = children_of(declaration)
    name = ((request.get("declaration") or {}).get("child") or {}).get("fullName")
    named = [child for child in children if child.get("fullName") == name]
    if len(named) == 1:
        return named[0]
    if len(children) == 1:
        return children[0]
    raise TypeError(f"the birth registration sent names no child of the declaration: {name!r}")


class LocalResidenceDatabase:
    """Registers the newborn's permanent residence at the mother's, in her household."""

    agency = "residence"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        declaration = citizen_declaration(task)

        def register(session) -> AgencyRecord:
            result = {"residenceRegisteredOn": _today(task).isoformat(),
                      "residenceAddress": declaration["mother"]["residence"]}
            # identity.check found the mother's household in the population register; the newborn joins it.
            if task.variables.get("householdId"):
                result["householdId"] = task.variables["householdId"]
            return _record(task, self.agency, request, result)

        return record_once(task.database, self.agency, task.idempotency_key, register)


def child_card_number(child_id_number: str) -> str:
    """A child's BHYT card code: TE1, the 2-digit province code, the last 10 digits of the ID number.

    (The card's last 10 digits are the social insurance number; the personal ID number stands in
    for it here. The 2-digit province codes are the 3-digit ones without their leading 0.)
    """
    return CHILD_CARD_PREFIX + child_id_number[1:3] + child_id_number[-10:]


class LocalSocialInsurance:
    """Takes the BHYT hand-off, then "issues" the card shortly after by sending bhyt.card-issued."""

    agency = "bhyt"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        # One card per child, each from the ID number its birth registration issued (`births`, one
        # entry per child; `childIdNumber` alone in dossiers registered before twins).
        births = task.variables.get("births") or [{"childIdNumber": task.variables.get("childIdNumber")}]
        children = children_of(citizen_declaration(task))
        if len(births) != len(children):
            raise TypeError(f"{task.topic} needs one birth registration per child: {len(births)} for "
                            f"{len(children)} children (birth registration comes first)")
        cards = []
        for birth, declaration in zip(births, children):
            child_id = birth.get("childIdNumber") if isinstance(birth, Mapping) else None
            if not isinstance(child_id, str) or check_personal_id(child_id):
                raise TypeError(f"{task.topic} needs each child's 'childIdNumber' (birth registration comes first)")
            born = date.fromisoformat(declaration["dateOfBirth"])
            cards.append({"fullName": declaration["fullName"], "bhytCardNumber": child_card_number(child_id),
                          "bhytValidFrom": born.isoformat(),
                          # Free and valid until the child is 72 months old: the last day is the day before.
                          "bhytValidUntil": (add_months(born, CHILD_AGE_LIMIT_MONTHS) - timedelta(days=1)).isoformat()})
        # One message for the dossier: the first card's fields (as for one child) and every card.
        card = {key: cards[0][key] for key in ("bhytCardNumber", "bhytValidFrom", "bhytValidUntil")}
        card.update(bhytCards=cards, bhytCardNumbers=", ".join(c["bhytCardNumber"] for c in cards))

        def hand_off(session) -> AgencyRecord:
            result = {"bhytHandedOffOn": _today(task).isoformat()}
            # No issued_number: the card number derives from the child's ID number, so a dossier
            # handed off again (a new job) repeats it, and that is the same card, not a duplicate.
            return _record(task, self.agency, request, result)

        result = record_once(task.database, self.agency, task.idempotency_key, hand_off)
        if os.environ.get("LIENTHONG_BHYT_CARD_AUTO", "on").strip().lower() != "off":
            # On every run, not only the first: a redo after a crash between recording and
            # scheduling must still send the card. The job id makes it one message: that job stays
            # until delivered, and it is delivered only to an instance waiting for the card, that
            # is, once this hand-off has completed (a redo comes before that).
            delay = timedelta(seconds=float(os.environ.get("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "1")))
            task.schedule_message(CARD_ISSUED, business_key=request["dossierCode"], variables=card,
                                         delay=delay, job_id=f"{task.idempotency_key}:card")
        return result


class LocalDeathRegistration:
    """Registers deaths in a book per year and marks the person deceased in the local population register.

    Refuses a death the population register already records (an earlier dossier's, or the
    sample's): the same check identity.check makes at receipt, made again because two dossiers
    for one person may both have passed it.
    """

    agency = "death"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        id_number, died = deceased_and_day_of_death(citizen_declaration(task), task.topic, task.timezone)
        register = current_register(task.database)

        def register_death(session) -> AgencyRecord:
            citizen = register.find(id_number)
            already = citizen is not None and citizen.deceased
            if already or not record_death(session, id_number, died, request["dossierCode"], task.now()):
                raise refused(self.agency, f"Người có số định danh cá nhân {id_number} đã được đăng ký khai tử.")
            today = _today(task)
            book = str(today.year)
            entry = _next_entry(session, self.agency, book)
            result = {"deathExtractNumber": f"{entry}/{book}", "deathRegisteredOn": today.isoformat()}
            return _record(task, self.agency, request, result, book=book, entry=entry)

        return record_once(task.database, self.agency, task.idempotency_key, register_death)


class LocalResidenceDeletion:
    """Deletes the deceased's permanent residence: the local population register takes them out of their household."""

    agency = "residence-deletion"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        id_number = deceased_id_number(citizen_declaration(task), task.topic)

        def delete(session) -> AgencyRecord:
            today = _today(task)
            if not record_leaving_household(session, id_number, today, request["dossierCode"], task.now()):
                raise refused(self.agency, f"Đăng ký thường trú của người có số định danh cá nhân {id_number} "
                                           f"đã được xóa trước đó.")
            return _record(task, self.agency, request, {"residenceDeletedOn": today.isoformat()})

        return record_once(task.database, self.agency, task.idempotency_key, delete)


class LocalFuneralPayment:
    """Pays the decided funeral support or allowance; one payment order per paying agency and year."""

    agency = "funeral"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        paying = request["funeralDecision"]["funeralAgency"]

        def pay(session) -> AgencyRecord:
            today = _today(task)
            book = f"{paying}-{today.year}"
            entry = _next_entry(session, self.agency, book)
            reference = f"MT-{paying.upper()}-{today.year}-{entry:06d}"
            result = {"funeralPaymentReference": reference, "funeralPaidOn": today.isoformat()}
            return _record(task, self.agency, request, result, issued_number=reference, book=book, entry=entry)

        return record_once(task.database, self.agency, task.idempotency_key, pay)


class LocalSurvivorAllowance:
    """The survivor allowance is a stub part: Social Insurance takes the request and gives a reference."""

    agency = "survivor"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        def take(session) -> AgencyRecord:
            year = _today(task).year
            entry = _next_entry(session, self.agency, str(year))
            reference = f"TUAT-{year}-{entry:06d}"
            return _record(task, self.agency, request, {"survivorReference": reference},
                           issued_number=reference, book=str(year), entry=entry)

        return record_once(task.database, self.agency, task.idempotency_key, take)


LOCAL_GATEWAYS = {"birth": LocalCivilStatusRegister, "residence": LocalResidenceDatabase, "bhyt": LocalSocialInsurance,
                  "death": LocalDeathRegistration, "residence-deletion": LocalResidenceDeletion,
                  "funeral": LocalFuneralPayment, "survivor": LocalSurvivorAllowance}

