"""The deploy-time checks of the event constructs (event subprocesses, conditional, link, signal and
escalation events), and the expression check every check shares; engine/validation.py calls them."""
from __future__ import annotations

from .bpmn.normalize import B, local
from .errors import ExpressionError
from .expressions import compile_expression, is_expression

C = "{http://camunda.org/schema/1.0/bpmn}"


def check_event_subprocess(subprocess, refuse) -> None:
    starts = subprocess.findall(B + "startEvent")
    if len(starts) != 1:
        refuse(subprocess, "an event subprocess needs exactly one start event")
    if subprocess.find(B + "incoming") is not None or subprocess.find(B + "outgoing") is not None:
        refuse(subprocess, "an event subprocess has no incoming or outgoing sequence flows")
    for start in starts:
        kinds = {local(c.tag) for c in start}
        if start.get("isInterrupting") == "false" and "errorEventDefinition" in kinds:
            refuse(start, "an error start event always interrupts (Camunda): remove isInterrupting=\"false\"")


def check_conditional(node, refuse) -> None:
    condition = node.find(f"./{B}conditionalEventDefinition/{B}condition")
    text = (condition.text or "").strip() if condition is not None else ""
    if not is_expression(text):
        refuse(node, "a conditional event needs a condition such as ${amount > 100}")
    else:
        compile_check(node, text, "condition", refuse)


def check_link(node, name: str, refuse) -> None:
    link = node.find(f"./{B}linkEventDefinition").get("name")
    if not link:
        refuse(node, "a link event needs a name; the throw and the catch of a link share it")
        return
    if name == "intermediateThrowEvent":
        catches = [n for n in node.getparent().findall(B + "intermediateCatchEvent")
                   if any(d.get("name") == link for d in n.findall(B + "linkEventDefinition"))]
        if len(catches) != 1:
            refuse(node, f"the link '{link}' needs exactly one catch event of that name in the same scope "
                         f"(found {len(catches)})")


def check_reference(node, kind: str, refuse) -> None:
    """A signal or escalation event names a <bpmn:signal>/<bpmn:escalation> of the file."""
    definition = node.find(f"./{B}{kind}EventDefinition")
    ref = definition.get(f"{kind}Ref")
    if not ref:
        if kind == "signal":
            refuse(node, "a signal event needs a signal (signalRef)")
        return  # an escalation catch without a reference catches every escalation
    root = node.getroottree().getroot()
    target = next((e for e in root.iter(B + kind) if e.get("id") == ref), None)
    if target is None:
        pass  # validation_refs.check_references names it, with the nearest known reference
    elif kind == "signal" and not target.get("name"):
        refuse(node, f"the signal '{ref}' needs a name")
    elif kind == "signal" and is_expression(target.get("name")):
        refuse(node, f"the signal name '{target.get('name')}' must be literal; expressions in signal names are not supported")
    for mapping in definition.iter(C + "in"):
        if mapping.get("variables") == "all":
            continue
        if not (mapping.get("source") or mapping.get("sourceExpression")) or \
                (mapping.get("sourceExpression") and not mapping.get("target")):
            refuse(node, "camunda:in on a signal needs variables=\"all\", a source, or a sourceExpression with a target")
        elif mapping.get("sourceExpression"):
            compile_check(node, mapping.get("sourceExpression"), "camunda:in sourceExpression", refuse)


def compile_check(node, text: str, what: str, refuse) -> None:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        refuse(node, f"{what}: {exc}")
