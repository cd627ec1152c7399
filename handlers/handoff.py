"""Hand-off of a dossier's parts to each agency's software (liên thông): topics ``handoff.<part>``.

Each handler sends ``{"dossierCode": ..., "declaration": declarations[key]}`` (the part's extracted
declaration, the key in ``DECLARATION_OF``; survivor has none and sends ``deceased`` and
``requester`` from the citizen's declaration; funeral adds the checked ``funeralDecision``, the
result of workflows/funeral_support.dmn) to the part's gateway (agencies/gateways.py), and returns
the variables ``RESULT_VARIABLES`` names for the part, no others, so an agency can never overwrite
the dossier's other variables. The BHYT card itself comes later, as the message
``bhyt.card-issued`` correlated by the dossier code: one message with a card per child
(``bhytCards``), because the dossier waits for the cards at one catch event and a message
correlates to the dossier, not to a child.

Several children (twins): birth runs once per child (a sequential multi-instance over
``children``) and collects ``births``, one entry per child; BHYT is one hand-off listing every
child's declaration.

Outcomes: the result variables; a refusal by the agency is ``BpmnError("AGENCY_REFUSED", reason,
{"<part>RefusalReason": reason})`` (agencies/port.py, ``refusal_variable``) for the diagram to
catch; an agency that cannot answer, or answers without the result variables, is
``AgencyUnavailable``, a technical failure, so the job is retried and then becomes an incident.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agencies.gateways import current_gateway
from agencies.port import AgencyUnavailable, citizen_declaration
from engine.handler_registry import BpmnError, TaskContext, handler
from forms.personal_id import check_personal_id

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
    """One child's registration: the instance's element variable ``child`` (an entry of ``children``,
    the diagram's multi-instance over the children) names its declaration; a diagram without
    multi-instance registers the one child of ``declarations["birth"]``.

    Returns the child's result variables, which each instance overwrites as Camunda does (the last
    child's), and ``births``: the list of every child's results so far, this one at its index
    (``loopCounter``), so a sequential multi-instance collects one entry per child and a redo
    replaces its own entry.
    """
    child = task.variables.get("child")
    if isinstance(child, Mapping):
        key, index = child.get("birth"), task.variables.get("loopCounter")
        if not isinstance(key, str) or isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise TypeError(f"{task.topic} needs the element variable 'child' with its 'birth' declaration key "
                            f"and 'loopCounter' (a multi-instance over the variable 'children')")
    else:
        key, index = "birth", 0
    declaration = filed_declaration(task, key)
    result = hand_off("birth", task, declaration=declaration)
    births = [dict(entry) for entry in task.variables.get("births") or [] if isinstance(entry, Mapping)]
    births += [{}] * (index + 1 - len(births))
    births[index] = {"fullName": declaration["child"]["fullName"], **result}
    return {**result, "births": births, "childIdNumbers": ", ".join(b.get("childIdNumber", "?") for b in births)}


@handler("handoff.residence")
def hand_off_residence(task: TaskContext) -> dict:
    return hand_off("residence", task)


@handler("handoff.bhyt")
def hand_off_bhyt(task: TaskContext) -> dict:
    """One hand-off for all the children: ``declarations`` lists each child's TK1-TS (bhyt, bhyt-2...),
    ``declaration`` is the first's (what an agency written for one child reads)."""
    keys = [child["bhyt"] for child in task.variables.get("children") or []
            if isinstance(child, Mapping) and child.get("bhyt")]  # none before twins: "bhyt" alone
    return hand_off("bhyt", task, declarations=[filed_declaration(task, key) for key in keys or ["bhyt"]])


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
    declaration = citizen_declaration(task)
    if not isinstance(declaration.get("deceased"), Mapping) or not isinstance(declaration.get("requester"), Mapping):
        raise TypeError(f"{task.topic} needs the death declaration's 'deceased' and 'requester'")
    return hand_off("survivor", task, deceased=dict(declaration["deceased"]), requester=dict(declaration["requester"]))
