"""SpiffWorkflow's CamundaParser, taught the rest of what Camunda Modeler 7 writes.

Every parsed element keeps, in `spec.extensions`, the Camunda attributes the engine needs at
run time (topic, candidate groups, due date, decisionRef, properties, retry cycle...) and its
Camunda activity type for history. Spiff serializes `extensions` as plain JSON, so the specs
round-trip without custom converters.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    EventBasedGatewayParser,
    IntermediateCatchEventParser,
    ReceiveTaskParser,
)
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventBasedGateway,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ParallelGateway,
    ReceiveTask,
    StartEvent,
    SubWorkflowTask,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    CallActivityParser,
    SubWorkflowParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask

from ..delegates import delegate_of
from .expression_names import message_definition
from .io_mapping import parse_mappings
from .multi_instance import add_body
from .event_subprocess import EngineProcessParser, StartParser
from .events import EndParser, EngineConditional, EngineSignal, LinkThrowParser
from .normalize import IMPLICIT, SOURCE
from .specs import (
    TIMER_CLASSES,
    BoundaryJoin,
    DecisionTask,
    ExternalServiceTask,
    FlowSplit,
    PassThroughManualTask,
    PassThroughTask,
)

CAMUNDA = "{%s}" % CAMUNDA_MODEL_NS
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Attributes kept as written; the engine evaluates the ones that may hold ${...} at run time.
DELEGATING = {"{%s}serviceTask" % BPMN_NS, "{%s}sendTask" % BPMN_NS}
CAMUNDA_ATTRIBUTES = (
    "type", "topic", "taskPriority", "candidateGroups", "candidateUsers", "assignee", "dueDate",
    "followUpDate", "priority", "formKey", "decisionRef", "decisionRefBinding", "decisionRefVersion",
    "resultVariable", "mapDecisionResult", "calledElementBinding", "asyncBefore", "asyncAfter",
    "class", "delegateExpression", "expression",
)

def activity_type(node) -> str:
    """Camunda's activityType for history (startTimerEvent, boundaryError, intermediateTimer...)."""
    tag = node.tag.split("}", 1)[-1]
    kind = None
    for child in node:
        local = child.tag.split("}", 1)[-1]
        if local.endswith("EventDefinition"):
            kind = local[: -len("EventDefinition")]
            break
    if tag == "startEvent":
        return {"timer": "startTimerEvent", None: "startEvent"}.get(kind, f"{kind}StartEvent")
    if tag == "endEvent":
        return f"{kind}EndEvent" if kind else "noneEndEvent"
    if tag == "boundaryEvent":
        return "boundary" + (kind or "").capitalize()
    if tag == "intermediateCatchEvent":
        return {"timer": "intermediateTimer", "message": "intermediateMessageCatch", "conditional": "intermediateConditional"}.get(
            kind, f"intermediate{(kind or '').capitalize()}Catch")
    if tag == "intermediateThrowEvent":
        return f"intermediate{(kind or 'none').capitalize()}Throw" if kind else "intermediateNoneThrowEvent"
    return tag


class CamundaExtensions:
    """Mixin for every task parser: record Camunda attributes, properties and the activity type."""

    def parse_extensions(self, node=None):
        node = self.node if node is None else node
        if node.get(IMPLICIT):
            # No activity type: an implicit element (engine/bpmn/normalize.py) leaves no rows.
            return {"implicit": node.get(IMPLICIT), "source": node.get(SOURCE), "properties": {}}
        ext = {"activityType": activity_type(node), "properties": {}}
        for name in CAMUNDA_ATTRIBUTES:
            value = node.get(CAMUNDA + name)
            if value is not None:
                ext[name] = value
        for prop in self.xpath("./bpmn:extensionElements/camunda:properties/camunda:property"):
            ext["properties"][prop.get("name")] = prop.get("value")
        cycle = self.xpath("./bpmn:extensionElements/camunda:failedJobRetryTimeCycle")
        if cycle and (cycle[0].text or "").strip():
            ext["retryCycle"] = cycle[0].text.strip()
        for definition in self.xpath("./bpmn:errorEventDefinition"):
            for name in ("errorCodeVariable", "errorMessageVariable"):
                if definition.get(CAMUNDA + name):
                    ext[name] = definition.get(CAMUNDA + name)
        if "topic" not in ext and node.tag in DELEGATING:
            # A Java delegate is served by the Python handler registered for its class or bean.
            key = delegate_of(node)[0]
            if key is not None:
                ext["topic"] = key
        ext.update(parse_mappings(node))
        if node.get("calledElement"):
            ext["calledElement"] = node.get("calledElement")
        for definition in self.xpath("./bpmn:conditionalEventDefinition"):
            # Camunda: only a change of this variable (of these kinds: create, update, delete) triggers it.
            for name, key in (("variableName", "conditionVariable"), ("variableEvents", "conditionEvents")):
                if definition.get(CAMUNDA + name):
                    ext[key] = definition.get(CAMUNDA + name)
        mappings = self.xpath("./bpmn:signalEventDefinition/bpmn:extensionElements/camunda:in")
        if mappings:  # the variables a thrown signal carries
            ext["signalIn"] = [{k: m.get(k) for k in ("source", "sourceExpression", "target", "variables") if m.get(k)}
                               for m in mappings]
        if node.get("isInterrupting") == "false":  # an event subprocess's start event
            ext["interrupting"] = False
        return ext

    def parse_message_event(self, message_event):
        return message_definition(super().parse_message_event(message_event))

    def get_position(self, node=None):
        """Spiff orders a node's outgoing flows by where their targets are drawn; Camunda by the
        flows' order in the XML (an exclusive gateway takes the first true condition so)."""
        if node is None:
            return super().get_position()
        targets = [f.get("targetRef") for f in self.process_parser.get_outgoing_sequence_flows(self.bpmn_id)]
        return {"x": 0.0, "y": float(targets.index(node.get("id")))} if node.get("id") in targets else super().get_position(node)

    def _add_multiinstance_task(self, loop_characteristics):
        add_body(self, loop_characteristics)

    def _add_boundary_event(self, children):
        split = super()._add_boundary_event(children)
        join = self.spec.task_specs[f"{self.bpmn_id}.BoundaryEventJoin"]
        join.__class__ = BoundaryJoin  # same state, Camunda's behaviour for repeating timers' paths
        return split

    def parse_timer_event(self, event):
        definition = super().parse_timer_event(event)
        clock_class = TIMER_CLASSES[type(definition)]
        return clock_class(definition.name, definition.expression, description=definition.description)

    def parse_signal_event(self, event):
        definition = super().parse_signal_event(event)
        return EngineSignal(definition.name, description=definition.description)

    def parse_conditional_event(self, event):
        definition = super().parse_conditional_event(event)
        return EngineConditional(definition.expression, description=definition.description)


def _with_extensions(parser_class):
    return type(parser_class.__name__, (CamundaExtensions, parser_class), {})


class _InclusiveGatewayParser(_with_extensions(ConditionalGatewayParser)):
    def create_task(self):
        if self.node.get(IMPLICIT) == "split":
            return FlowSplit(self.spec, self.bpmn_id, **self.bpmn_attributes)
        return super().create_task()


class EngineParser(CamundaParser):
    """What a deployment is parsed with. Elements the engine cannot run are refused before this
    parser sees them (engine/validation.py), so the table lists only what is supported."""

    PROCESS_PARSER_CLASS = EngineProcessParser
    OVERRIDE_PARSER_CLASSES = {
        full_tag("startEvent"): (_with_extensions(StartParser), StartEvent),
        full_tag("endEvent"): (_with_extensions(EndParser), EndEvent),
        full_tag("intermediateCatchEvent"): (_with_extensions(IntermediateCatchEventParser), IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_with_extensions(LinkThrowParser), IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_with_extensions(BoundaryEventParser), BoundaryEvent),
        full_tag("receiveTask"): (_with_extensions(ReceiveTaskParser), ReceiveTask),
        full_tag("eventBasedGateway"): (_with_extensions(EventBasedGatewayParser), EventBasedGateway),
        full_tag("userTask"): (_with_extensions(UserTaskParser), UserTask),
        full_tag("serviceTask"): (_with_extensions(TaskParser), ExternalServiceTask),
        # Camunda 7 models a send task exactly like an external service task.
        full_tag("sendTask"): (_with_extensions(TaskParser), ExternalServiceTask),
        full_tag("businessRuleTask"): (_with_extensions(TaskParser), DecisionTask),
        full_tag("task"): (_with_extensions(TaskParser), PassThroughTask),
        full_tag("manualTask"): (_with_extensions(TaskParser), PassThroughManualTask),
        full_tag("exclusiveGateway"): (_with_extensions(ConditionalGatewayParser), ExclusiveGateway),
        full_tag("inclusiveGateway"): (_InclusiveGatewayParser, InclusiveGateway),
        full_tag("parallelGateway"): (_with_extensions(GatewayParser), ParallelGateway),
        full_tag("subProcess"): (_with_extensions(SubWorkflowParser), SubWorkflowTask),
        full_tag("callActivity"): (_with_extensions(CallActivityParser), CallActivity),
    }

    def _find_dependencies(self, process):
        # Decisions are ours (engine/dmn.py); only call activities are dependencies here.
        BpmnParser._find_dependencies(self, process)
