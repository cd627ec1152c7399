"""SpiffWorkflow serialization with the engine's spec classes registered.

Instances are stored without their specs: the spec of a definition version is stored once, in
its row, restored once per process, and shared by every instance loaded (engine/definitions.py).
"""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    ConditionalGatewayConverter,
    EventConverter,
    EventJoinConverter,
    MultiInstanceTaskConverter,
    SubWorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.config import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    MessageEventDefinitionConverter,
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from ..errors import EngineError
from .expression_names import ExpressionMessage
from .multi_instance import ParallelBody, SequentialBody
from .event_subprocess import EventSubprocess, EventSubprocessStart, ScopeEndJoin
from .events import EngineConditional, EngineSignal, install
from .specs import (
    BoundaryJoin,
    ClockCycle,
    ClockDuration,
    ClockTimeDate,
    DecisionTask,
    ExternalServiceTask,
    FlowSplit,
    PassThroughManualTask,
    PassThroughTask,
)


class _SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Builds a workflow around spec objects already restored, instead of restoring them again."""

    def from_dict(self, dct):
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        if isinstance(spec, dict):
            return super().from_dict({**dct, "spec": spec, "subprocess_specs": subprocess_specs})
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _config() -> dict:
    config = dict(CAMUNDA_CONFIG)
    # The engine uses BPMN's own message semantics (payload merged into the variables).
    config[MessageEventDefinition] = MessageEventDefinitionConverter
    config[ExpressionMessage] = MessageEventDefinitionConverter
    for spec_class in (ExternalServiceTask, DecisionTask, PassThroughTask, PassThroughManualTask):
        config[spec_class] = BpmnTaskSpecConverter
    for timer_class in (ClockTimeDate, ClockDuration, ClockCycle):
        config[timer_class] = TimerConditionalEventDefinitionConverter
    config[BoundaryJoin] = EventJoinConverter
    config[FlowSplit] = ConditionalGatewayConverter
    config[ParallelBody] = config[SequentialBody] = MultiInstanceTaskConverter
    config[EventSubprocess] = SubWorkflowConverter
    config[EventSubprocessStart] = EventConverter
    config[ScopeEndJoin] = BpmnTaskSpecConverter
    config[EngineConditional] = TimerConditionalEventDefinitionConverter
    config[EngineSignal] = CAMUNDA_CONFIG[SignalEventDefinition]
    config[BpmnWorkflow] = _SharedSpecWorkflowConverter
    return config


SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config()))


VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY


def _checked(dct: dict) -> dict:
    """Stored state records the serializer version; a SpiffWorkflow upgrade that changes the
    format needs a data migration (Spiff's own migrations work on whole workflows, spec included,
    which the engine stores apart), so a mismatch is refused rather than misread."""
    stored = dct.get(VERSION_KEY, SERIALIZER.VERSION)
    if stored != SERIALIZER.VERSION:
        raise EngineError(f"state stored by SpiffWorkflow serializer {stored}, this engine reads {SERIALIZER.VERSION}: "
                          "run the data migration for the upgrade first")
    return {k: v for k, v in dct.items() if k != VERSION_KEY}


def spec_to_dict(spec) -> dict:
    return {**SERIALIZER.to_dict(spec), VERSION_KEY: SERIALIZER.VERSION}


def spec_from_dict(dct: dict):
    return SERIALIZER.from_dict(_checked(dct))


def workflow_to_dict(workflow: BpmnWorkflow) -> dict:
    """The instance state without its specs (they come from the definition)."""
    dct = SERIALIZER.to_dict(workflow)
    dct.pop("spec")
    dct.pop("subprocess_specs")
    dct[VERSION_KEY] = SERIALIZER.VERSION
    return dct


def workflow_from_dict(state: dict, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:
    dct = {**_checked(state), "spec": spec, "subprocess_specs": subprocess_specs}
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    install(workflow)
    return workflow
