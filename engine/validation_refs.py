"""References inside a BPMN file that must name something, checked before SpiffWorkflow's parser
sees the file (which reports a typo in a targetRef as "we found two items, perhaps a form has the
same ID?", and a missing message with an internal error): ids unique, every sequence flow joining
two elements of its own scope, a default flow leaving its element, a boundary event attached to an
activity, and every messageRef, errorRef, escalationRef and signalRef naming a definition."""
from __future__ import annotations

import difflib

from .bpmn.normalize import B, GATEWAYS, SPLITTING, local

NODES = SPLITTING | GATEWAYS | {"endEvent", "transaction", "adHocSubProcess"}
SCOPES = (B + "process", B + "subProcess", B + "transaction", B + "adHocSubProcess")
ROOT_REFS = {"messageRef": "message", "errorRef": "error", "escalationRef": "escalation", "signalRef": "signal"}


def check_references(root, refuse) -> None:
    seen = {}
    for element in root.iter():
        # BPMN's ids only: a camunda:formField's id is a variable name, repeated across forms.
        element_id = element.get("id") if element.tag.startswith(B) else None
        if element_id and element_id in seen:
            refuse(element, f"the id '{element_id}' is also used on line {seen[element_id].sourceline}; "
                            "every element needs its own id")
        elif element_id:
            seen[element_id] = element
    for scope in root.iter(*SCOPES):
        _check_scope(scope, refuse)
    defined = {kind: {e.get("id") for e in root.findall(B + kind)} for kind in ROOT_REFS.values()}
    for element in root.iter():
        for attribute, kind in ROOT_REFS.items():
            ref = element.get(attribute)
            if ref and ref not in defined[kind]:
                refuse(_owner(element), f"{attribute} '{ref}' names no bpmn:{kind} of this file"
                                        f"{_nearest(ref, defined[kind])}")


def _check_scope(scope, refuse) -> None:
    nodes = {n.get("id"): n for n in scope if local(n.tag) in NODES}
    what = "process" if scope.tag == B + "process" else "subprocess"
    flows = scope.findall(B + "sequenceFlow")
    for flow in flows:
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if not ref:
                refuse(flow, f"the sequence flow has no {end}")
            elif ref not in nodes:
                refuse(flow, f"the sequence flow's {end} '{ref}' names no element of this {what}{_nearest(ref, nodes)}")
    for node_id, node in nodes.items():
        default = node.get("default")
        if default and not any(f.get("id") == default and f.get("sourceRef") == node_id for f in flows):
            refuse(node, f"the default flow '{default}' is not a sequence flow leaving this element")
        attached = node.get("attachedToRef")
        if local(node.tag) == "boundaryEvent" and (attached not in nodes or local(nodes[attached].tag) in GATEWAYS):
            refuse(node, f"the boundary event is attached to '{attached}', which is no activity of this {what}")


def _owner(element):
    if local(element.tag).endswith("EventDefinition"):
        element = element.getparent()  # the event is what the analyst sees
    while element.getparent() is not None and not element.get("id"):
        element = element.getparent()
    return element


def _nearest(ref: str, known) -> str:
    nearest = difflib.get_close_matches(ref, sorted(k for k in known if k), n=1, cutoff=0.6)
    return f"; did you mean '{nearest[0]}'?" if nearest else ""
