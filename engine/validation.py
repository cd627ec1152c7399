"""What the engine refuses at deploy time, with the file, the element id and the reason.

A diagram that deploys must run: anything the engine would otherwise accept and then stall on
(a Java delegate, a script, a loop, a signal, an expression that does not parse, a topic nobody
serves) is refused here, before anything is stored. Every problem in a file is reported at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


from .bpmn.io_mapping import mapping_problems
from .bpmn.multi_instance import problems as multi_instance_problems
from .bpmn.specs import ClockCycle, parse_datetime, parse_duration
from .delegates import delegate_of, registration_hint
from .errors import Problem
from .expressions import is_expression
from .retries import parse_retry_cycle
from .validation_camunda import check_camunda_names
from .validation_events import check_conditional as _check_conditional
from .validation_events import check_event_subprocess as _check_event_subprocess
from .validation_events import check_link as _check_link
from .validation_events import check_reference as _check_reference
from .validation_events import compile_check as _compile
from .validation_refs import check_references

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
B = "{%s}" % BPMN
C = "{%s}" % CAMUNDA

FLOW_NODES = {
    "startEvent", "endEvent", "userTask", "serviceTask", "sendTask", "businessRuleTask", "task",
    "manualTask", "receiveTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "subProcess", "callActivity",
}
# Part of a diagram, but nothing the engine executes.
INERT = {
    "sequenceFlow", "laneSet", "lane", "childLaneSet", "flowNodeRef", "textAnnotation", "text",
    "association", "documentation", "extensionElements", "incoming", "outgoing", "conditionExpression",
    "dataObject", "dataObjectReference", "dataStoreReference", "dataInputAssociation",
    "dataOutputAssociation", "sourceRef", "targetRef", "group", "property",
    "timerEventDefinition", "messageEventDefinition", "errorEventDefinition",
    "terminateEventDefinition", "timeDate", "timeDuration", "timeCycle", "signalEventDefinition",
    "escalationEventDefinition", "conditionalEventDefinition", "linkEventDefinition", "condition",
    # checked with the activity that carries it (_check_multi_instance)
    "multiInstanceLoopCharacteristics",
}
NOT_RUNNABLE = {
    "scriptTask": "script tasks are not run by this engine; use a service task with a topic",
    "transaction": "transactions (compensation) are not supported",
    "adHocSubProcess": "ad-hoc subprocesses are not supported",
    "complexGateway": "complex gateways are not supported",
    "standardLoopCharacteristics": "loop activities are not supported; model the loop with a gateway",
    "compensateEventDefinition": "compensation events are not supported",
    "cancelEventDefinition": "cancel events are not supported",
}
# Which event definitions each event may carry (None: no definition, a none event).
ALLOWED_EVENTS = {
    "startEvent": {None, "message", "timer", "signal"},
    "endEvent": {None, "error", "terminate", "escalation", "signal"},
    "intermediateCatchEvent": {"message", "timer", "signal", "conditional", "link"},
    "intermediateThrowEvent": {None, "signal", "escalation", "link"},
    "boundaryEvent": {"error", "timer", "message", "signal", "escalation", "conditional"},
}
# An event subprocess starts with one of these (a none start would start with its scope).
EVENT_SUBPROCESS_STARTS = {"message", "timer", "signal", "error", "escalation", "conditional"}
CAMUNDA_CODE = {
    "executionListener": "execution listeners run Java or scripts and are not supported",
    "taskListener": "task listeners run Java or scripts and are not supported",
    "connector": "connectors are not supported; use camunda:type=\"external\" with a topic",
}
EXPRESSION_ATTRIBUTES = ("assignee", "candidateGroups", "candidateUsers", "dueDate", "followUpDate", "priority")
# SpiffWorkflow names its own internal tasks so; an element with such an id would collide.
RESERVED_IDS = {"Start", "End"}
RESERVED_SUFFIXES = ("__split", "__end", ".BoundaryEventSplit", ".BoundaryEventJoin", ".EndJoin", ".StartEventSplit", ".StartEventJoin")
DECISION_MAPPINGS = {None, "singleEntry", "singleResult", "collectEntries", "resultList"}


@dataclass
class Reach:
    """What a deployment can refer to: topics served, and keys deployed or being deployed."""

    serves_topic: Callable[[str], bool]
    has_form: Callable[[str], bool] = lambda name: True
    process_keys: set[str] = field(default_factory=set)
    decision_keys: set[str] = field(default_factory=set)


def local(tag) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def check_bpmn(root, filename: str, reach: Reach) -> list[Problem]:
    problems: list[Problem] = []

    def refuse(element, reason: str) -> None:
        problems.append(Problem(filename, element.get("id"), reason, element.sourceline))

    if root.tag != B + "definitions":
        return [Problem(filename, root.get("id"), f"not a BPMN 2.0 file: the root element is <{local(root.tag)}>, expected <bpmn:definitions>")]
    processes = root.findall(B + "process")
    if not any(p.get("isExecutable") == "true" for p in processes):
        refuse(root, "no executable process (set isExecutable=\"true\" on the process)")
    for process in processes:
        if process.get("isExecutable") == "true":
            _check_scope(process, refuse, reach)
            # Spiff would run every start event at once (a message start would also fire the none start).
            for extra in process.findall(B + "startEvent")[1:]:
                refuse(extra, "a process may have only one start event; split it into separate processes")
    check_references(root, refuse)
    check_camunda_names(root, refuse)
    return problems


def _check_scope(scope, refuse, reach: Reach) -> None:
    for element in scope:
        name = local(element.tag)
        if element.tag.startswith(C):
            continue
        if name in NOT_RUNNABLE:
            refuse(element, NOT_RUNNABLE[name])
        elif name in FLOW_NODES:
            _check_node(element, name, refuse, reach)
            if name == "subProcess":
                if element.get("triggeredByEvent") == "true":
                    _check_event_subprocess(element, refuse)
                _check_scope(element, refuse, reach)
        elif name == "sequenceFlow":
            _check_condition(element, refuse)
        elif element.tag.startswith(B) and name not in INERT:
            refuse(element, f"<bpmn:{name}> is not supported by this engine")


def _check_node(node, name: str, refuse, reach: Reach) -> None:
    if node.get("id") in RESERVED_IDS or any(node.get("id", "").endswith(s) for s in RESERVED_SUFFIXES):
        refuse(node, f"the id '{node.get('id')}' is reserved by the engine; give the element another id")
    for child in node.iter():
        if child is node:
            continue
        child_name = local(child.tag)
        if child.tag.startswith(B) and child_name in NOT_RUNNABLE and child.getparent() is node:
            refuse(node, NOT_RUNNABLE[child_name])
        elif child.tag.startswith(C) and child_name in CAMUNDA_CODE:
            refuse(node, CAMUNDA_CODE[child_name])
    for reason, expression in mapping_problems(node):
        if reason:
            refuse(node, reason)
        else:
            _compile(node, expression, "mapping", refuse)
    loop = node.find(B + "multiInstanceLoopCharacteristics")
    if loop is not None:
        _check_multi_instance(loop, node, refuse)
    if name in ALLOWED_EVENTS:
        kinds = [local(c.tag)[: -len("EventDefinition")] for c in node if local(c.tag).endswith("EventDefinition")]
        if len(kinds) > 1:
            refuse(node, "an event with several event definitions is not supported")
        kind = kinds[0] if kinds else None
        in_event_subprocess = name == "startEvent" and node.getparent().get("triggeredByEvent") == "true"
        allowed = EVENT_SUBPROCESS_STARTS if in_event_subprocess else ALLOWED_EVENTS[name]
        if in_event_subprocess and kind is None:
            refuse(node, "the start event of an event subprocess needs an event (message, timer, signal, error, "
                         "escalation or conditional)")
        elif kind not in allowed and f"{kind}EventDefinition" not in NOT_RUNNABLE:
            what = f"a {kind} {name}" if kind else f"a {name} without an event definition"
            refuse(node, f"{what} is not supported by this engine")
        if kind == "conditional":
            _check_conditional(node, refuse)
        elif kind == "link":
            _check_link(node, name, refuse)
        elif kind in ("signal", "escalation"):
            _check_reference(node, kind, refuse)
        if kind == "timer":
            _check_timer(node, refuse)
            if name == "startEvent" and node.getparent().tag != B + "process" and not in_event_subprocess:
                refuse(node, "a timer start event inside a subprocess is not supported")
            elif name == "startEvent" and is_expression("".join(node.itertext())):
                refuse(node, "a timer start event needs a literal date, duration or cycle (no variables exist before the start)")
        if kind == "message" and name == "startEvent" and node.getparent().tag == B + "subProcess" and not in_event_subprocess:
            refuse(node, "a message start event inside a subprocess is not supported")
        if kind == "message":
            _check_message_name(node, name, refuse)
    if name == "eventBasedGateway":
        _check_event_gateway(node, refuse)
    if name in ("serviceTask", "sendTask"):
        _check_service(node, refuse, reach)
    elif name == "businessRuleTask":
        _check_decision(node, refuse, reach)
    elif name == "callActivity":
        _check_call(node, refuse, reach)
    elif name == "userTask" and (node.get(C + "formKey") or "").startswith("schema:"):
        form = node.get(C + "formKey")[len("schema:"):]
        if not reach.has_form(form):
            refuse(node, f"camunda:formKey names the form '{form}', which no module in forms/ registers")
    elif name == "receiveTask" and not node.get("messageRef"):
        refuse(node, "a receive task needs a message (messageRef)")
    cycle = node.find(f"./{B}extensionElements/{C}failedJobRetryTimeCycle")
    if cycle is not None and (cycle.text or "").strip():
        try:
            parse_retry_cycle(cycle.text)
        except Exception as exc:  # noqa: BLE001 - Spiff raises a bare Exception for bad durations
            refuse(node, f"camunda:failedJobRetryTimeCycle '{cycle.text.strip()}' is not valid ({exc})")
    for attribute in EXPRESSION_ATTRIBUTES:
        value = node.get(C + attribute)
        if value is not None and is_expression(value):
            _compile(node, value, f"camunda:{attribute}", refuse)


def _check_message_name(node, name: str, refuse) -> None:
    """A message name may be ${...} (evaluated when the event is reached), except where no variable
    exists yet: a message start event."""
    ref = node.find(f"./{B}messageEventDefinition").get("messageRef")
    message = next((m for m in node.getroottree().getroot().findall(B + "message") if m.get("id") == ref), None)
    text = message.get("name") if message is not None else None
    if not is_expression(text):
        return
    if name == "startEvent":
        refuse(node, f"a message start event needs a literal message name, not '{text}' "
                     "(no variables exist before the start)")
    else:
        _compile(node, text, "the message name", refuse)


def _check_multi_instance(loop, node, refuse) -> None:
    for reason in multi_instance_problems(loop):
        refuse(node, reason)
    cardinality = loop.find(B + "loopCardinality")
    texts = [("loopCardinality", cardinality.text if cardinality is not None else None),
             ("completionCondition", loop.findtext(B + "completionCondition")),
             ("camunda:collection", loop.get(C + "collection"))]
    for what, text in texts:
        if text and is_expression(text):
            _compile(node, text.strip(), what, refuse)
def _check_event_gateway(gateway, refuse) -> None:
    scope = gateway.getparent()
    targets = {f.get("targetRef") for f in scope.findall(B + "sequenceFlow") if f.get("sourceRef") == gateway.get("id")}
    timers = [n for n in scope if n.get("id") in targets and n.find(f".//{B}timerEventDefinition") is not None]
    if len(timers) > 1:
        refuse(gateway, "an event-based gateway may wait for at most one timer")


def _check_service(node, refuse, reach: Reach) -> None:
    key, attribute, named = delegate_of(node)
    if attribute is not None:
        if key is None:
            refuse(node, f"{attribute} '{named}' names no bean: write ${{beanName}} or ${{beanName.method(...)}}")
        elif not reach.serves_topic(key):
            refuse(node, f"{attribute} '{named}' names Java code with no Python handler; register one with "
                         f"{registration_hint(attribute, named)} in handlers/")
        return
    topic = node.get(C + "topic")
    if node.get(C + "type") != "external" or not topic:
        refuse(node, "a service task needs camunda:type=\"external\" and a camunda:topic")
        return
    if is_expression(topic):
        # Evaluated when the task is reached: a handler serves it if one is registered for the
        # resulting topic, else it waits for a remote worker.
        _compile(node, topic, "camunda:topic", refuse)
        return
    if not reach.serves_topic(topic) and not _marked_external(node):
        refuse(node, f"no handler is registered for topic '{topic}'; register one in handlers/, "
                     "or mark the task as served by a remote worker with the property worker=external")


def _marked_external(node) -> bool:
    for prop in node.iter(C + "property"):
        if prop.get("name") == "worker" and (prop.get("value") or "").strip().lower() == "external":
            return True
    return False


def _check_decision(node, refuse, reach: Reach) -> None:
    ref = node.get(C + "decisionRef")
    if not ref:
        refuse(node, "a business rule task needs camunda:decisionRef (DMN); other implementations are not supported")
        return
    if is_expression(ref):
        refuse(node, "camunda:decisionRef must name a decision, not an expression")
    elif ref not in reach.decision_keys:
        refuse(node, f"camunda:decisionRef '{ref}' names no deployed decision (deploy its DMN file first or with it)")
    if node.get(C + "mapDecisionResult") not in DECISION_MAPPINGS:
        refuse(node, f"camunda:mapDecisionResult '{node.get(C + 'mapDecisionResult')}' is not one of "
                     "singleEntry, singleResult, collectEntries, resultList")
    if node.get(C + "decisionRefBinding") not in (None, "latest", "deployment"):
        refuse(node, "camunda:decisionRefBinding: only 'latest' is supported (an instance keeps the version in force when it started)")


def _check_call(node, refuse, reach: Reach) -> None:
    called = node.get("calledElement")
    if not called:
        refuse(node, "a call activity needs calledElement")
    elif is_expression(called):
        refuse(node, "calledElement must name a process, not an expression")
    elif called not in reach.process_keys:
        refuse(node, f"calledElement '{called}' names no deployed process (deploy it first or with this file)")
    if node.get(C + "calledElementBinding") not in (None, "latest", "deployment"):
        refuse(node, "camunda:calledElementBinding: only 'latest' is supported (an instance keeps the version in force when it started)")


def _check_condition(flow, refuse) -> None:
    condition = flow.find(B + "conditionExpression")
    if condition is None:
        return
    if condition.get("language") not in (None, "", "juel"):
        refuse(flow, f"condition language '{condition.get('language')}' is not supported; write ${{...}}")
        return
    text = (condition.text or "").strip()
    if not is_expression(text):
        refuse(flow, f"the condition '{text}' must be an expression such as ${{amount > 100}}")
        return
    _compile(flow, text, "condition", refuse)


def _check_timer(node, refuse) -> None:
    for kind in ("timeDate", "timeDuration", "timeCycle"):
        element = node.find(f".//{B}{kind}")
        if element is None:
            continue
        text = (element.text or "").strip()
        if not text:
            refuse(node, f"the timer's {kind} is empty")
        elif is_expression(text):
            _compile(node, text, kind, refuse)
        else:
            try:
                _parse_timer_literal(kind, text)
            except Exception as exc:  # noqa: BLE001 - Spiff raises a bare Exception for bad durations
                if kind == "timeCycle":  # an ISO 8601 cycle or a cron expression; the reason says which
                    refuse(node, f"the timer's timeCycle is not valid: {exc}")
                else:
                    refuse(node, f"the timer's {kind} '{text}' is not valid ISO 8601 ({exc})")
        return
    refuse(node, "a timer needs timeDate, timeDuration or timeCycle")


def _parse_timer_literal(kind: str, text: str) -> None:
    """The same bounds the run time applies (engine/bpmn/specs.py), so a literal is refused here."""
    from datetime import datetime, timezone

    if kind == "timeDate":
        parse_datetime(text, timezone.utc)
    elif kind == "timeDuration":
        parse_duration(text)
    else:
        ClockCycle._first_state(text, datetime.now(timezone.utc), timezone.utc)
