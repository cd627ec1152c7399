"""Rewrite a checked BPMN tree into the shape SpiffWorkflow runs the way Camunda 7 runs the original.

Three things the BPMN schema allows, Camunda runs and SpiffWorkflow gets wrong without a word:
- a sequence flow without an `id`: Spiff drops it and the token vanishes. It gets an id made of
  its ends (`Flow_<source>_<target>`), the same on every deploy of the same file;
- several outgoing flows, or conditional ones, leaving an activity or event (not a gateway):
  Camunda takes every flow whose condition is true, the default flow when none is, and fails the
  command when there is no flow to take. Spiff takes them all (or refuses the diagram). Here an
  implicit split gateway carries them: it evaluates the conditions (an unconditional flow is
  always taken) and names the activity when nothing can be taken;
- a path ending at an activity or gateway with no outgoing flow: Camunda ends that path there
  (an implicit end); Spiff never completes the instance. Here an implicit end event follows it;
- a flow without a condition leaving an exclusive or inclusive gateway, not its default: Camunda
  takes it as true (in XML order); Spiff refuses the diagram. Here it gets the condition ${true}.

Implicit elements carry the `lt:implicit` attribute; the parser gives them no activity type, so
they leave no history and no runtime rows (engine/row_image.py), as in Camunda. The stored
resource stays the analyst's file; only the parsed spec sees the rewrite. Comments and
processing instructions, which nothing executes, are dropped first.
"""
from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
LIENTHONG = "urn:lienthong:implicit"
IMPLICIT = "{%s}implicit" % LIENTHONG  # "split" or "end"
SOURCE = "{%s}source" % LIENTHONG  # on a split: the activity whose flows it carries
SPLIT_SUFFIX, END_SUFFIX = "__split", "__end"
B = "{%s}" % BPMN

GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
# Flow nodes whose outgoing flows Camunda treats as an implicit split (and whose path may end there).
SPLITTING = {
    "startEvent", "userTask", "serviceTask", "sendTask", "businessRuleTask", "task", "manualTask",
    "receiveTask", "scriptTask", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "subProcess", "callActivity",
}
SCOPES = {"process", "subProcess"}


def local(tag) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def drop_comments(root) -> None:
    """Remove comments and processing instructions: nothing executes them, and the checks and
    the parser then see elements only."""
    for node in [n for n in root.iter() if not isinstance(n.tag, str)]:
        _drop(node)


def normalize(root) -> None:
    """Rewrite `root` (a checked bpmn:definitions, comments dropped) in place."""
    taken = {element.get("id") for element in root.iter() if element.get("id")}  # ids are file-wide
    for scope in [s for s in root.iter() if s.tag in {B + name for name in SCOPES}]:
        _name_flows(scope, taken)
        _split_outgoing(scope)
        _unconditional_gateway_flows(scope)
        _end_implicitly(scope)


def _drop(node) -> None:
    """Remove a comment or processing instruction, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _flows(scope) -> list:
    return scope.findall(B + "sequenceFlow")


def _name_flows(scope, taken: set) -> None:
    for flow in _flows(scope):
        if flow.get("id"):
            continue
        base = f"Flow_{flow.get('sourceRef')}_{flow.get('targetRef')}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        flow.set("id", name)
        taken.add(name)


def _split_outgoing(scope) -> None:
    flows = _flows(scope)
    for node in [n for n in scope if local(n.tag) in SPLITTING]:
        outgoing = [f for f in flows if f.get("sourceRef") == node.get("id")]
        conditional = any(f.find(B + "conditionExpression") is not None for f in outgoing)
        if len(outgoing) < 2 and not conditional:
            continue
        split = _add(scope, node, "inclusiveGateway", SPLIT_SUFFIX, "split")
        split.set(SOURCE, node.get("id"))
        default = node.attrib.pop("default", None)
        if default:
            split.set("default", default)
        for flow in outgoing:
            flow.set("sourceRef", split.get("id"))
            _always(flow, default)


def _unconditional_gateway_flows(scope) -> None:
    flows = _flows(scope)
    for gateway in [n for n in scope if local(n.tag) in ("exclusiveGateway", "inclusiveGateway")]:
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) > 1:
            for flow in outgoing:
                _always(flow, gateway.get("default"))


def _always(flow, default: str | None) -> None:
    """An unconditional flow that is not the default one is always taken, as in Camunda."""
    if flow.get("id") != default and flow.find(B + "conditionExpression") is None:
        always = etree.SubElement(flow, B + "conditionExpression")
        always.set(XSI_TYPE, "bpmn:tFormalExpression")
        always.text = "${true}"


def _end_implicitly(scope) -> None:
    sources = {f.get("sourceRef") for f in _flows(scope)}
    for node in list(scope):
        name = local(node.tag)
        if (name in SPLITTING or name in GATEWAYS) and node.get("id") not in sources:
            _add(scope, node, "endEvent", END_SUFFIX, "end")


def _add(scope, node, kind: str, suffix: str, role: str):
    """An implicit `kind` element after `node`, and the flow from `node` to it."""
    element = etree.Element(B + kind, {"id": node.get("id") + suffix, IMPLICIT: role})
    node.addnext(element)
    element.tail = node.tail
    flow = etree.Element(B + "sequenceFlow", {
        "id": f"{node.get('id')}{suffix}_flow", "sourceRef": node.get("id"), "targetRef": element.get("id"),
    })
    scope.append(flow)
    return element


def implicit_role(node) -> str | None:
    return node.get(IMPLICIT)
