"""Hand-off of a dossier's parts to each agency's software (liên thông).

Topics and the agencies behind them:

* ``handoff.birth``: the Ministry of Justice civil-status software registers the birth and
  answers ``childIdNumber`` (the child's 12-digit personal ID number), ``birthCertificateNumber``
  ("123/2026": the entry in that year's birth register) and ``birthRegisteredOn`` (ISO date);
* ``handoff.residence``: the Ministry of Public Security residence database answers
  ``residenceRegisteredOn``, ``residenceAddress`` and, when known, ``householdId``;
* ``handoff.bhyt``: Social Insurance (BHXH) answers ``bhytHandedOffOn``. The card itself comes
  later as the message ``bhyt.card-issued`` (correlated by the dossier code, the business key)
  with ``bhytCardNumber``, ``bhytValidFrom`` and ``bhytValidUntil``.

The death group (the process variable ``declaration`` is then the death declaration):

* ``handoff.death``: the civil-status software registers the death and answers
  ``deathExtractNumber`` ("12/2026": the entry in that year's death register, printed on the
  extract, trích lục khai tử) and ``deathRegisteredOn`` (ISO date);
* ``handoff.residence-deletion``: the residence database deletes the deceased's permanent
  residence and answers ``residenceDeletedOn``;
* ``handoff.funeral``: the paying agency pays the funeral support or allowance the business-rule
  task decided, the process variable ``funeralDecision`` = ``{"funeralAgency": "ldtbxh" | "bhxh",
  "funeralAmount": <VND, whole>, "funeralLegalBasis": <text>}`` (workflows/funeral_support.dmn),
  and answers ``funeralPaymentReference`` and ``funeralPaidOn``. A decision that nobody pays
  ("none") is a modelling error: the diagram must not hand that off;
* ``handoff.survivor``: the survivor allowance (trợ cấp tuất), a stub part forwarded to Social
  Insurance, answers ``survivorReference``.

Each handler sends ``{"dossierCode": ..., "declaration": declarations[key]}``, the part's
extracted declaration (key: the part's name, but ``residence`` for ``residence-deletion``), to
the agency's gateway; ``funeral`` adds ``funeralDecision``; ``survivor`` has no declaration of
its own and sends ``deceased`` and ``requester`` from the citizen's declaration instead. The
gateway is chosen per part on first use: ``HttpAgency`` when ``LIENTHONG_AGENCY_<PART>_URL`` is
set (the part upper-cased, "-" as "_": ``LIENTHONG_AGENCY_DEATH_URL``,
``LIENTHONG_AGENCY_RESIDENCE_DELETION_URL``, ``LIENTHONG_AGENCY_FUNERAL_URL``,
``LIENTHONG_AGENCY_SURVIVOR_URL``...), else a local stand-in that records the hand-off in
``agency_record`` and issues the numbers itself; the death and residence-deletion stand-ins also
change the local population register (handlers/identity.py): a death marks the person deceased,
a deletion takes them out of their household. Tests swap one with ``use_gateway(part, ...)``.

Outcomes: the result variables; a refusal by the agency is ``BpmnError("AGENCY_REFUSED",
reason, {"<part>RefusalReason": reason})`` (the part in camelCase: ``residenceDeletionRefusalReason``)
for the diagram to catch (a refused residence leaves the birth registration standing); an agency
that cannot answer is ``AgencyUnavailable``, a technical failure, so the job is retried and then
becomes an incident.
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Protocol, runtime_checkable

import requests
from sqlalchemy import func, select

from engine.handlers import BpmnError, TaskContext, handler
from forms.birth import CHILD_AGE_LIMIT_MONTHS, add_months
from forms.identity import century_sex_digit, check_personal_id

from .adapters import AdapterSlot
from .eligibility import deceased_and_day_of_death, deceased_id_number
from .identity import current_register, record_death, record_leaving_household
from .models import AgencyRecord, record_once

log = logging.getLogger("lienthong.handlers.handoff")

# What each agency answers: required, then optional. Only these become process variables, so an
# agency can never overwrite the dossier's other variables (its declaration, its code).
RESULT_VARIABLES = {
    "birth": (("childIdNumber", "birthCertificateNumber", "birthRegisteredOn"), ()),
    "residence": (("residenceRegisteredOn", "residenceAddress"), ("householdId",)),
    "bhyt": (("bhytHandedOffOn",), ()),
    "death": (("deathExtractNumber", "deathRegisteredOn"), ()),
    "residence-deletion": (("residenceDeletedOn",), ()),
    "funeral": (("funeralPaymentReference", "funeralPaidOn"), ()),
    "survivor": (("survivorReference",), ()),
}
# The extracted declaration (its key in `declarations`) each part sends; survivor has none.
DECLARATION_OF = {"birth": "birth", "residence": "residence", "bhyt": "bhyt",
                  "death": "death", "residence-deletion": "residence", "funeral": "funeral"}
PAYING_AGENCIES = ("ldtbxh", "bhxh")  # funeralDecision.funeralAgency, when somebody pays
REFUSED = "AGENCY_REFUSED"
CARD_ISSUED = "bhyt.card-issued"
# BHYT card code (Decision 1351/QĐ-BHXH): "TE" = a child under 6, benefit level 1 = 100 %.
CHILD_CARD_PREFIX = "TE1"


class AgencyUnavailable(Exception):
    """The agency could not answer (technical failure: the job is retried, then an incident)."""


@runtime_checkable
class AgencyGateway(Protocol):
    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        """Hand `request` over under `task.idempotency_key`; the result variables, or raise."""
        ...


def refusal_variable(part: str) -> str:
    """The variable carrying an agency's reason for refusing: "residence-deletion" -> residenceDeletionRefusalReason."""
    first, *rest = part.split("-")
    return first + "".join(word.capitalize() for word in rest) + "RefusalReason"


def refused(part: str, reason: str) -> BpmnError:
    return BpmnError(REFUSED, reason, {refusal_variable(part): reason})


# --- the local stand-ins ------------------------------------------------------------------------
# They read the citizen's declaration (forms/birth.py and forms/death.py fix its shape) for what
# a real agency would read from its own records, and issue numbers the way the agency does.

def _today(task: TaskContext) -> date:
    return task.engine.clock.now().astimezone(task.engine.timezone).date()


def _declaration(task: TaskContext) -> Mapping[str, Any]:
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError(f"{task.topic} needs the process variable 'declaration' (the citizen's declaration)")
    return declaration


def _record(task: TaskContext, agency: str, request: Mapping, result: dict, **numbers) -> AgencyRecord:
    return AgencyRecord(agency=agency, idempotency_key=task.idempotency_key, dossier_code=request["dossierCode"],
                        request=dict(request), result=result, created=task.engine.clock.now(), **numbers)


def _next_entry(session, agency: str, book: str) -> int:
    """The next entry in `agency`'s `book` (the table refuses one drawn twice: record_once draws again)."""
    last = session.scalar(select(func.max(AgencyRecord.entry)).where(
        AgencyRecord.agency == agency, AgencyRecord.book == book))
    return (last or 0) + 1


class LocalCivilStatusRegister:
    """Registers births in a book per year and issues the child's personal ID number."""

    agency = "birth"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        declaration = _declaration(task)
        child = declaration["child"]
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

        return record_once(task.engine.db, self.agency, task.idempotency_key, register)


class LocalResidenceDatabase:
    """Registers the newborn's permanent residence at the mother's, in her household."""

    agency = "residence"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        declaration = _declaration(task)

        def register(session) -> AgencyRecord:
            result = {"residenceRegisteredOn": _today(task).isoformat(),
                      "residenceAddress": declaration["mother"]["residence"]}
            # identity.check found the mother's household in the population register; the newborn joins it.
            if task.variables.get("householdId"):
                result["householdId"] = task.variables["householdId"]
            return _record(task, self.agency, request, result)

        return record_once(task.engine.db, self.agency, task.idempotency_key, register)


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
        child_id = task.variables.get("childIdNumber")
        if not isinstance(child_id, str) or check_personal_id(child_id):
            raise TypeError(f"{task.topic} needs the process variable 'childIdNumber' (birth registration comes first)")
        born = date.fromisoformat(_declaration(task)["child"]["dateOfBirth"])
        card = {"bhytCardNumber": child_card_number(child_id), "bhytValidFrom": born.isoformat(),
                # Free and valid until the child is 72 months old: the last day is the day before.
                "bhytValidUntil": (add_months(born, CHILD_AGE_LIMIT_MONTHS) - timedelta(days=1)).isoformat()}

        def hand_off(session) -> AgencyRecord:
            result = {"bhytHandedOffOn": _today(task).isoformat()}
            # No issued_number: the card number derives from the child's ID number, so a dossier
            # handed off again (a new job) repeats it, and that is the same card, not a duplicate.
            return _record(task, self.agency, request, result)

        result = record_once(task.engine.db, self.agency, task.idempotency_key, hand_off)
        if os.environ.get("LIENTHONG_BHYT_CARD_AUTO", "on").strip().lower() != "off":
            # On every run, not only the first: a redo after a crash between recording and
            # scheduling must still send the card. The job id makes it one message: that job stays
            # until delivered, and it is delivered only to an instance waiting for the card, that
            # is, once this hand-off has completed (a redo comes before that).
            delay = timedelta(seconds=float(os.environ.get("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "1")))
            task.engine.schedule_message(CARD_ISSUED, business_key=request["dossierCode"], variables=card,
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
        id_number, died = deceased_and_day_of_death(_declaration(task), task.topic)
        register = current_register(task.engine.db)

        def register_death(session) -> AgencyRecord:
            citizen = register.find(id_number)
            already = citizen is not None and citizen.deceased
            if already or not record_death(session, id_number, died, request["dossierCode"], task.engine.clock.now()):
                raise refused(self.agency, f"Người có số định danh cá nhân {id_number} đã được đăng ký khai tử.")
            today = _today(task)
            book = str(today.year)
            entry = _next_entry(session, self.agency, book)
            result = {"deathExtractNumber": f"{entry}/{book}", "deathRegisteredOn": today.isoformat()}
            return _record(task, self.agency, request, result, book=book, entry=entry)

        return record_once(task.engine.db, self.agency, task.idempotency_key, register_death)


class LocalResidenceDeletion:
    """Deletes the deceased's permanent residence: the local population register takes them out of their household."""

    agency = "residence-deletion"

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        id_number = deceased_id_number(_declaration(task), task.topic)

        def delete(session) -> AgencyRecord:
            today = _today(task)
            if not record_leaving_household(session, id_number, today, request["dossierCode"], task.engine.clock.now()):
                raise refused(self.agency, f"Đăng ký thường trú của người có số định danh cá nhân {id_number} "
                                           f"đã được xóa trước đó.")
            return _record(task, self.agency, request, {"residenceDeletedOn": today.isoformat()})

        return record_once(task.engine.db, self.agency, task.idempotency_key, delete)


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

        return record_once(task.engine.db, self.agency, task.idempotency_key, pay)


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

        return record_once(task.engine.db, self.agency, task.idempotency_key, take)


# --- the HTTP adapter ---------------------------------------------------------------------------

class HttpAgency:
    """POST the hand-off as JSON with an Idempotency-Key header; the answer's JSON is the result.

    2xx: the result variables. 4xx with a JSON {"reason": ...}: the agency refused the dossier
    (a business outcome). Anything else (5xx, 408/429, a 4xx without a reason such as a wrong
    URL's 404, a timeout, no connection, no JSON object): the agency could not answer.
    """

    def __init__(self, agency: str, url: str, timeout: float = 10):
        self.agency = agency
        self.url = url
        self.timeout = timeout

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        try:
            response = requests.post(self.url, json=dict(request), timeout=(self.timeout, self.timeout),
                                     headers={"Idempotency-Key": task.idempotency_key, "Accept": "application/json"})
        except requests.Timeout as exc:
            raise AgencyUnavailable(f"{self.agency}: timed out after {self.timeout}s: POST {self.url}") from exc
        except requests.RequestException as exc:
            raise AgencyUnavailable(f"{self.agency}: unreachable: POST {self.url}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        status = response.status_code
        reason = answer.get("reason") if isinstance(answer, dict) else None
        if 400 <= status < 500 and status not in (408, 429) and isinstance(reason, str) and reason.strip():
            raise refused(self.agency, reason.strip())
        if not 200 <= status < 300:
            raise AgencyUnavailable(f"{self.agency}: answered {status} to POST {self.url}: {response.text[:200]}")
        if not isinstance(answer, dict):
            raise AgencyUnavailable(f"{self.agency}: answered no JSON object to POST {self.url}: {response.text[:200]}")
        return answer


# --- the gateway each agency uses ------------------------------------------------------------------

LOCAL_GATEWAYS = {"birth": LocalCivilStatusRegister, "residence": LocalResidenceDatabase, "bhyt": LocalSocialInsurance,
                  "death": LocalDeathRegistration, "residence-deletion": LocalResidenceDeletion,
                  "funeral": LocalFuneralPayment, "survivor": LocalSurvivorAllowance}


def url_variable(part: str) -> str:
    """LIENTHONG_AGENCY_BIRTH_URL, LIENTHONG_AGENCY_RESIDENCE_DELETION_URL..."""
    return f"LIENTHONG_AGENCY_{part.upper().replace('-', '_')}_URL"


def gateway_from_environment(part: str) -> AgencyGateway:
    url = os.environ.get(url_variable(part), "").strip()
    if not url:
        return LOCAL_GATEWAYS[part]()
    return HttpAgency(part, url, timeout=float(os.environ.get("LIENTHONG_AGENCY_TIMEOUT_SECONDS", "10")))


_gateways: AdapterSlot[AgencyGateway] = AdapterSlot(gateway_from_environment)


def current_gateway(part: str) -> AgencyGateway:
    """The part's gateway, created on first use from the environment."""
    return _gateways.current(part)


def use_gateway(part: str, gateway: AgencyGateway):
    """Use `gateway` for `part` inside the block, then put the previous one back (for tests)."""
    return _gateways.use(gateway, part)


# --- the handlers ---------------------------------------------------------------------------------

def dossier_code(task: TaskContext) -> str:
    code = task.variables.get("dossierCode") or task.business_key
    if not code:
        raise TypeError(f"{task.topic} needs the process variable 'dossierCode'")
    return code


def filed_declaration(task: TaskContext, key: str) -> dict:
    """The extracted declaration `key` (declarations.extract made one for each part the citizen filed)."""
    declarations = task.variables.get("declarations")
    if not isinstance(declarations, Mapping) or not isinstance(declarations.get(key), Mapping):
        # A diagram handing off a part the citizen did not file: a modelling error, not the citizen's.
        raise TypeError(f"{task.topic} needs the process variable 'declarations' with the '{key}' declaration")
    return dict(declarations[key])


def hand_off(part: str, task: TaskContext, **content: Any) -> dict:
    """Send the part's declaration (if it has one) and `content` to its agency; its result variables."""
    code = dossier_code(task)
    request = {"dossierCode": code}
    if part in DECLARATION_OF:
        request["declaration"] = filed_declaration(task, DECLARATION_OF[part])
    request.update(content)
    log.info("handing off", extra={"dossier": code, "activity": task.activity_id, "agency": part, "attempt": task.attempt})
    try:
        answer = current_gateway(part).submit(task, request)
    except BpmnError as refusal:
        log.info("agency refused", extra={"dossier": code, "activity": task.activity_id, "agency": part,
                                          "reason": refusal.message})
        raise
    result = _result_variables(part, answer)
    log.info("handed off", extra={"dossier": code, "activity": task.activity_id, "agency": part,
                                  "result": sorted(result)})
    return result


def _result_variables(part: str, answer: Mapping[str, Any]) -> dict:
    required, optional = RESULT_VARIABLES[part]
    missing = [name for name in required if not answer.get(name)]
    if missing:
        raise AgencyUnavailable(f"{part}: the answer lacks {', '.join(missing)}")
    if part == "birth" and check_personal_id(str(answer["childIdNumber"])):
        raise AgencyUnavailable(f"birth: the answer's childIdNumber {answer['childIdNumber']!r} is not a personal ID number")
    return {name: answer[name] for name in (*required, *optional) if answer.get(name) is not None}


@handler("handoff.birth")
def hand_off_birth(task: TaskContext) -> dict:
    return hand_off("birth", task)


@handler("handoff.residence")
def hand_off_residence(task: TaskContext) -> dict:
    return hand_off("residence", task)


@handler("handoff.bhyt")
def hand_off_bhyt(task: TaskContext) -> dict:
    return hand_off("bhyt", task)


@handler("handoff.death")
def hand_off_death(task: TaskContext) -> dict:
    return hand_off("death", task)


@handler("handoff.residence-deletion")
def hand_off_residence_deletion(task: TaskContext) -> dict:
    return hand_off("residence-deletion", task)


def funeral_decision(task: TaskContext) -> dict:
    """The process variable funeralDecision, checked: somebody pays a whole, positive amount on a stated basis."""
    decision = task.variables.get("funeralDecision")
    where = f"{task.topic} needs the process variable 'funeralDecision'"
    if not isinstance(decision, Mapping):
        raise TypeError(f"{where} (the funeral support DMN's result)")
    paying, amount, basis = (decision.get(name) for name in ("funeralAgency", "funeralAmount", "funeralLegalBasis"))
    if paying not in PAYING_AGENCIES:
        raise TypeError(f"{where} with funeralAgency one of {', '.join(PAYING_AGENCIES)}, not {paying!r}: "
                        f"a dossier nobody pays must not reach the payment")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not float(amount).is_integer() or amount <= 0:
        raise TypeError(f"{where} with funeralAmount a whole number of VND above 0, not {amount!r}")
    if not isinstance(basis, str) or not basis.strip():
        raise TypeError(f"{where} with funeralLegalBasis, the legal basis of the payment")
    return {"funeralAgency": paying, "funeralAmount": int(amount), "funeralLegalBasis": basis.strip()}


@handler("handoff.funeral")
def hand_off_funeral(task: TaskContext) -> dict:
    return hand_off("funeral", task, funeralDecision=funeral_decision(task))


@handler("handoff.survivor")
def hand_off_survivor(task: TaskContext) -> dict:
    declaration = _declaration(task)
    if not isinstance(declaration.get("deceased"), Mapping) or not isinstance(declaration.get("requester"), Mapping):
        raise TypeError(f"{task.topic} needs the death declaration's 'deceased' and 'requester'")
    return hand_off("survivor", task, deceased=dict(declaration["deceased"]), requester=dict(declaration["requester"]))
