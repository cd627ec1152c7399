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
    EndEventParser,
    EventBasedGatewayParser,
    IntermediateCatchEventParser,
    IntermediateThrowEventParser,
    ReceiveTaskParser,
    StartEventParser,
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
from .io_mapping import parse_mappings
from .multi_instance import add_body
from .specs import TIMER_CLASSES, BoundaryJoin, DecisionTask, ExternalServiceTask, PassThroughManualTask, PassThroughTask

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
        return {"timer": "startTimerEvent", "message": "messageStartEvent"}.get(kind, "startEvent")
    if tag == "endEvent":
        return f"{kind}EndEvent" if kind else "noneEndEvent"
    if tag == "boundaryEvent":
        return "boundary" + (kind or "").capitalize()
    if tag == "intermediateCatchEvent":
        return {"timer": "intermediateTimer", "message": "intermediateMessageCatch"}.get(kind, f"intermediate{(kind or '').capitalize()}Catch")
    if tag == "intermediateThrowEvent":
        return f"intermediate{(kind or 'none').capitalize()}Throw" if kind else "intermediateNoneThrowEvent"
    return tag


class CamundaExtensions:
    """Mixin for every task parser: record Camunda attributes, properties and the activity type."""

    def parse_extensions(self, node=None):
        node = self.node if node is None else node
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
        return ext

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


def _with_extensions(parser_class):
    return type(parser_class.__name__, (CamundaExtensions, parser_class), {})


class EngineParser(CamundaParser):
    """What a deployment is parsed with. Elements the engine cannot run are refused before this
    parser sees them (engine/validation.py), so the table lists only what is supported."""

    OVERRIDE_PARSER_CLASSES = {
        full_tag("startEvent"): (_with_extensions(StartEventParser), StartEvent),
        full_tag("endEvent"): (_with_extensions(EndEventParser), EndEvent),
        full_tag("intermediateCatchEvent"): (_with_extensions(IntermediateCatchEventParser), IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_with_extensions(IntermediateThrowEventParser), IntermediateThrowEvent),
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
        full_tag("inclusiveGateway"): (_with_extensions(ConditionalGatewayParser), InclusiveGateway),
        full_tag("parallelGateway"): (_with_extensions(GatewayParser), ParallelGateway),
        full_tag("subProcess"): (_with_extensions(SubWorkflowParser), SubWorkflowTask),
        full_tag("callActivity"): (_with_extensions(CallActivityParser), CallActivity),
    }

    def _find_dependencies(self, process):
        # Decisions are ours (engine/dmn.py); only call activities are dependencies here.
        BpmnParser._find_dependencies(self, process)
