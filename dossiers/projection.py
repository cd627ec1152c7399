"""The citizen's view of a dossier, kept by the diagram itself.

Elements of a procedure's diagram carry `camunda:properties` that say what the citizen should see
when the process reaches them; the analyst sets them in the Modeler's properties panel:

  dossier.part    birth | residence | bhyt ... (a part of the dossier) or `dossier` (the whole)
  dossier.state   the state from the moment the element begins, e.g. processing,
                  awaiting-supplement, handed-off, approved, refused; for the whole dossier
                  received, processing, completed, rejected, refused, withdrawn. `overdue` flags the part as
                  overdue without changing its state.
  dossier.due     a variable holding the part's (or the dossier's) due moment
  dossier.dues    several at once: `birth=birthDue,residence=residenceDue,dossier=dossierDue`
  dossier.note    a variable holding the reason or note the citizen is shown
  dossier.result  comma-separated variables copied into the part's result (numbers issued...)

The agency handling a part is the lane of the element that last set its state. Every marked
element also adds a line to the timeline, titled with the element's name. The observer runs
inside the engine's command, so the status and the process state never disagree.
"""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition

from agencies.sms import queue_in as queue_sms
from agencies.sms import unaccented

from .models import Dossier, DossierEvent, DossierPart
from .subjects import still_stands

# `withdrawn`: the citizen took the dossier back (a diagram's withdrawal path marks it);
# `terminated`: the instance ended on an error end event nothing caught (Camunda ends it as a none end event).
FINAL_DOSSIER_STATES = {"completed", "rejected", "refused", "cancelled", "withdrawn", "terminated"}
FINAL_PART_STATES = {"approved", "refused", "rejected", "not-processed", "not-eligible"}


def _properties(spec) -> dict:
    return dict((getattr(spec, "extensions", None) or {}).get("properties") or {})


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


# How an instance that ends without its diagram marking the dossier's end shows, and the SMS that
# tells the citizen (GSM text; the diagrams' own notices cover the ends they mark). Without this a
# cancelled dossier kept saying "processing", and one ended by an uncaught error too.
_END_TITLES = {"cancelled": "Hồ sơ đã bị hủy", "withdrawn": "Hồ sơ đã được rút", "terminated": "Hồ sơ dừng giải quyết",
               "completed": "Hồ sơ đã kết thúc"}
_END_SMS = {
    "cancelled": "Ho so {code} da bi huy{reason}. Lien he co quan tiep nhan neu can biet them.",
    "withdrawn": "Ho so {code} da duoc rut theo de nghi cua ban{reason}. Ban co the nop ho so moi khi can.",
    "terminated": "Ho so {code} da dung giai quyet{reason}. Vui long lien he co quan tiep nhan de duoc huong dan.",
}


def observe(runtime, transitions) -> None:
    opened = [(t, _properties(t.spec)) for t in transitions if t.opened]
    marked = [(t, p) for t, p in opened if p.get("dossier.part") and p.get("dossier.state")]
    dated = [p for t, p in opened if p.get("dossier.dues") and not (p.get("dossier.part") and p.get("dossier.state"))]
    if not runtime.row.business_key:
        return
    if marked or dated:
        _marked(runtime, marked, dated)
    end = _end_of(runtime, transitions)
    if end is not None:  # after the marks: an end event the diagram marks says the end itself
        _ended(runtime, *end)


def _marked(runtime, marked, dated) -> None:
    session = runtime.session
    dossier = session.get(Dossier, runtime.row.business_key)
    if dossier is None or dossier.instance_id not in ("", runtime.row.id):
        return
    dossier.instance_id = runtime.row.id  # "" while the filing command starts the instance
    variables = runtime.variables()
    now = runtime.clock.now()
    parts = {row.part: row for row in session.query(DossierPart).filter(DossierPart.dossier_code == dossier.code)}
    for properties in dated:  # the variables are the command's last: a computing step's results are in them
        _dues(dossier, parts, properties, variables)
    for transition, properties in marked:
        _apply(dossier, parts, transition.spec, properties, variables, now)
        session.add(DossierEvent(dossier_code=dossier.code, at=now, part=properties["dossier.part"],
                                 state=properties["dossier.state"], activity_id=transition.spec.bpmn_id,
                                 title=transition.spec.bpmn_name or transition.spec.bpmn_id))
    _hold_subject(dossier, parts)


def _end_of(runtime, transitions) -> tuple[str, str | None] | None:
    """(the dossier's state, the reason) for an instance that has just ended, or None if it runs on."""
    row = runtime.row
    if row.state == "EXTERNALLY_TERMINATED":
        return "cancelled", row.delete_reason
    if row.state == "INTERNALLY_TERMINATED":
        return "terminated", row.delete_reason
    if row.state == "COMPLETED":
        top = runtime.workflow.spec  # an error end event in a subprocess is its boundary's to catch
        error = next((t.spec for t in transitions if t.closed and not t.canceled and getattr(t.spec, "_wf_spec", None) is top
                      and isinstance(getattr(t.spec, "event_definition", None), ErrorEventDefinition)), None)
        if error is not None:
            return "terminated", error.bpmn_name or error.event_definition.name or None
        return "completed", None
    return None


def _ended(runtime, state: str, reason: str | None) -> None:
    session = runtime.session
    dossier = session.get(Dossier, runtime.row.business_key)
    if dossier is None or dossier.instance_id != runtime.row.id or dossier.state in FINAL_DOSSIER_STATES:
        return
    now = runtime.clock.now()
    parts = {row.part: row for row in session.query(DossierPart).filter(DossierPart.dossier_code == dossier.code)}
    _apply(dossier, parts, None, {"dossier.part": "dossier", "dossier.state": state}, {}, now)
    if reason:
        dossier.state_reason = reason
    session.add(DossierEvent(dossier_code=dossier.code, at=now, part="dossier", state=state, activity_id=None,
                             title=_END_TITLES[state]))
    if state in _END_SMS:  # no diagram step will send a notice after this: the workers' outbox round does
        said = f". Ly do: {unaccented(reason)[:120]}" if reason else ""
        queue_sms(session, key=f"ended:{dossier.code}", dossier_code=dossier.code, phone=dossier.phone,
                  text=_END_SMS[state].format(code=dossier.code, reason=said), now=now, by_workers=True)
    _hold_subject(dossier, parts)


def _hold_subject(dossier: Dossier, parts: dict) -> None:
    """Release the dossier's subject once it no longer stands, so the same child (or death) may be
    filed again; never taken back, so a released subject cannot collide with a newer dossier."""
    if dossier.subject_standing and not still_stands(dossier.procedure, dossier.state,
                                                     {name: row.state for name, row in parts.items()}):
        dossier.subject_standing = False


def _dues(dossier: Dossier, parts: dict, properties: dict, variables: dict) -> None:
    """The due moments the element's dossier.due / dossier.dues name, from the variables."""
    dues = dict(pair.split("=", 1) for pair in _names(properties.get("dossier.dues")) if "=" in pair)
    if properties.get("dossier.due"):
        dues[properties["dossier.part"]] = properties["dossier.due"]
    for name, variable in dues.items():
        due = _moment(variables.get(variable.strip()))
        if name.strip() == "dossier":
            dossier.due_at = due or dossier.due_at
        elif name.strip() in parts:
            parts[name.strip()].due_at = due or parts[name.strip()].due_at


def _apply(dossier: Dossier, parts: dict, spec, properties: dict, variables: dict, now: datetime) -> None:
    part, state = properties["dossier.part"], properties["dossier.state"]
    note = variables.get(properties["dossier.note"]) if properties.get("dossier.note") else None
    _dues(dossier, parts, properties, variables)
    if part == "dossier":
        dossier.state = state
        if note not in (None, ""):
            dossier.state_reason = str(note)
        if state in FINAL_DOSSIER_STATES:
            dossier.completed_at = now
            for row in parts.values():  # what never started will not: say so
                if row.state not in FINAL_PART_STATES:
                    row.state = "rejected" if state == "rejected" else "not-processed"
                    row.updated_at = now
        return
    row = parts.get(part)
    if row is None:  # a part the citizen did not choose: nothing to show
        return
    row.updated_at = now
    if state == "overdue":
        row.overdue = True
        return
    row.state = state
    row.agency = getattr(spec, "lane", None) or row.agency
    # The part's note is its last decision's: a step that names no note clears an earlier one (the
    # supplement request's note no longer shows once the part is approved).
    row.note = None if note in (None, "") else str(note)
    results = {name: variables[name] for name in _names(properties.get("dossier.result")) if name in variables}
    if results:
        row.result = {**(row.result or {}), **results}
