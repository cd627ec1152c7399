"""Moving running instances to another version of their process (Camunda 7's migration).

A plan maps activities of the source definition to activities of the target; `generate` maps
those with the same id and kind, `validate` checks a plan on its own (the target activity
exists, both are of the same kind: a user task stays a user task, an external service task an
external service task, a message catch a message catch, a timer a timer), and `execute` applies
it to instances, each in its own transaction, after checking each instance against it (every
activity it waits in has an instruction).

Applying a plan rebinds the instance's SpiffWorkflow tasks to the target's specs, keeping their
ids (so an officer's open task, its assignee, a timer's due date stay what they were, as in
Camunda), drops the predicted part of the tree and predicts it again from the target, and moves
the rows beside the state (tasks, jobs, external tasks, open history) to the target. A timer keeps
its due date unless its instruction says `updateEventTrigger`; then the target's definition sets it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import update
from sqlalchemy.orm import Session

from . import models as m
from .bpmn.serializer import workflow_from_dict, workflow_to_dict
from .errors import InvalidRequest, MigrationRefused, NotFound
from .runtime import Runtime

log = logging.getLogger("lienthong.engine")

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# Activities an instance never rests in: Camunda's generator leaves them out of a plan.
_TRANSIENT = ("startEvent", "messageStartEvent", "startTimerEvent", "exclusiveGateway")
# Activities waiting for an event whose trigger (a timer's date, a message's name) can be updated.
_EVENT_TRIGGERS = ("boundaryTimer", "boundaryMessage", "intermediateTimer", "intermediateMessageCatch", "receiveTask")
NO_INSTRUCTION = "There is no migration instruction for this instance's activity"


@dataclass(frozen=True)
class Activity:
    id: str
    kind: str  # Camunda's activityType: userTask, serviceTask, boundaryTimer, intermediateMessageCatch...
    attached_to: str | None  # a boundary event's activity


def _activities(spec, embedded: dict) -> dict[str, Activity]:
    found = {}
    for process in (spec, *embedded.values()):
        for task_spec in process.task_specs.values():
            kind = (getattr(task_spec, "extensions", None) or {}).get("activityType")
            if kind is None:
                continue
            split = next((i.name for i in task_spec.inputs if i.name.endswith(".BoundaryEventSplit")), None)
            attached = split.rsplit(".", 1)[0] if kind.startswith("boundary") and split else None
            found[task_spec.name] = Activity(task_spec.name, kind, attached)
    return found


def _instruction(source: str, target: str, update_trigger: bool) -> dict:
    return {"sourceActivityIds": [source], "targetActivityIds": [target], "updateEventTrigger": update_trigger}


class Migrations:
    def __init__(self, engine):
        self.engine = engine

    # --- plans ---------------------------------------------------------------------------------

    def _definition(self, session: Session, definition_id, field: str) -> m.ProcessDefinition:
        row = session.get(m.ProcessDefinition, definition_id) if isinstance(definition_id, str) else None
        if row is None:
            raise InvalidRequest(f"{field} '{definition_id}' is not a deployed process definition",
                                 {field: ["is not a deployed process definition"]})
        return row

    def _specs(self, session: Session, definition: m.ProcessDefinition) -> tuple:
        return self.engine.resolver.specs.process(definition.id, lambda: definition.spec)

    def generate(self, source_id: str, target_id: str, update_event_triggers: bool = False) -> dict:
        """Camunda's generated plan: every activity an instance can rest in, mapped to the target's
        activity with the same id and kind."""
        with self.engine.db.reading() as session:
            source = _activities(*self._specs(session, self._definition(session, source_id, "sourceProcessDefinitionId")))
            target = _activities(*self._specs(session, self._definition(session, target_id, "targetProcessDefinitionId")))
        instructions = [
            _instruction(a.id, a.id, update_event_triggers and a.kind in _EVENT_TRIGGERS)
            for a in source.values()
            if a.id in target and target[a.id].kind == a.kind and a.kind not in _TRANSIENT and not a.kind.endswith("EndEvent")
        ]
        return {"sourceProcessDefinitionId": source_id, "targetProcessDefinitionId": target_id,
                "instructions": sorted(instructions, key=lambda i: i["sourceActivityIds"]), "variables": None}

    def validate(self, plan: dict) -> dict:
        """Camunda's MigrationPlanReport: {"instructionReports": [...], "variableReports": {}}."""
        with self.engine.db.reading() as session:
            return self._report(session, plan)

    def _report(self, session: Session, plan: dict) -> dict:
        source = _activities(*self._specs(session, self._definition(
            session, plan.get("sourceProcessDefinitionId"), "sourceProcessDefinitionId")))
        target = _activities(*self._specs(session, self._definition(
            session, plan.get("targetProcessDefinitionId"), "targetProcessDefinitionId")))
        instructions = plan.get("instructions") or []
        mapping = {i["sourceActivityIds"][0]: i["targetActivityIds"][0] for i in instructions
                   if len(i["sourceActivityIds"]) == 1 and len(i["targetActivityIds"]) == 1}
        sources = [s for i in instructions for s in i["sourceActivityIds"]]
        targets = [t for i in instructions for t in i["targetActivityIds"]]
        reports = []
        for instruction in instructions:
            failures = self._instruction_failures(instruction, source, target, mapping, sources, targets)
            if failures:
                reports.append({"instruction": instruction, "failures": failures})
        return {"instructionReports": reports, "variableReports": {}}

    @staticmethod
    def _instruction_failures(instruction: dict, source: dict, target: dict, mapping: dict, sources: list,
                              targets: list) -> list[str]:
        source_ids, target_ids = instruction["sourceActivityIds"], instruction["targetActivityIds"]
        if len(source_ids) != 1 or len(target_ids) != 1:
            return ["An instruction maps exactly one source activity to exactly one target activity"]
        failures = []
        from_, to = source.get(source_ids[0]), target.get(target_ids[0])
        if from_ is None:
            failures.append(f"Source activity '{source_ids[0]}' does not exist")
        if to is None:
            failures.append(f"Target activity '{target_ids[0]}' does not exist")
        if sources.count(source_ids[0]) > 1:
            failures.append(f"There are multiple mappings for source activity id '{source_ids[0]}'")
        if targets.count(target_ids[0]) > 1:
            failures.append(f"Target activity '{target_ids[0]}' is mapped multiple times")
        if from_ is None or to is None:
            return failures
        if from_.kind != to.kind:
            failures.append(f"Activities have incompatible types ({from_.kind} is not compatible with {to.kind})")
        if instruction.get("updateEventTrigger") and from_.kind not in _EVENT_TRIGGERS:
            failures.append("Cannot update event trigger because the activity does not define a persistent event trigger")
        if from_.attached_to is not None and mapping.get(from_.attached_to) != to.attached_to:
            failures.append(f"The source activity's event scope ({from_.attached_to}) must be mapped to the target "
                            f"activity's event scope ({to.attached_to})")
        return failures

    # --- execution -----------------------------------------------------------------------------

    def execute(self, plan: dict, instance_ids: list[str], actor: str | None = None) -> None:
        """Migrate `instance_ids`: the plan is checked first, then every instance against it
        (nothing is migrated when one cannot be); then each instance in its own transaction,
        checked again there (it may have moved on since)."""
        if not instance_ids:
            raise InvalidRequest("no process instance to migrate: give processInstanceIds or a processInstanceQuery",
                                 {"processInstanceIds": ["is empty"]})
        with self.engine.db.reading() as session:
            report = self._report(session, plan)
        if report["instructionReports"]:
            raise MigrationRefused("MigrationPlanValidationException",
                                   f"Migration plan for process definition '{plan['sourceProcessDefinitionId']}' is not valid",
                                   report)
        with self.engine.db.reading() as session:  # every instance fits, or nothing is written
            for instance_id in instance_ids:
                self._prepare(session, plan, instance_id)
                session.expunge_all()  # a thousand dossiers' states are not kept in memory together
        for instance_id in instance_ids:
            self.engine.retrying(lambda i=instance_id: self._migrate_one(plan, i, actor))

    def _migrate_one(self, plan: dict, instance_id: str, actor: str | None) -> None:
        with self.engine.command() as session:
            runtime, mapping, triggers = self._prepare(session, plan, instance_id)
            source_id, target = runtime.row.definition_id, session.get(m.ProcessDefinition, plan["targetProcessDefinitionId"])
            self._rebind(session, runtime, target, mapping, triggers)
            runtime.variables().update(plan.get("variables") or {})  # Camunda 7.22: set in the instance's scope
            runtime.save()
            self._move_rows(session, instance_id, target, mapping)
            self.engine.record_operation(session, "Migrate", "ProcessInstance", actor, instance_id=instance_id,
                                         processDefinitionId=source_id, targetProcessDefinitionId=target.id)
            log.info("instance migrated", extra={"instance": instance_id, "definition": target.id})

    def _prepare(self, session: Session, plan: dict, instance_id: str) -> tuple[Runtime, dict, set]:
        """The instance, loaded (a suspended one too), and the plan's mapping; refused with
        Camunda's MigratingProcessInstanceValidationReport when the plan does not fit it."""
        try:
            runtime = Runtime.load(self.engine.runtime_context, session, instance_id, suspended_ok=True)
        except NotFound as exc:
            raise InvalidRequest(str(exc), {"processInstanceIds": [str(exc)]}) from None
        mapping = {i["sourceActivityIds"][0]: i["targetActivityIds"][0] for i in plan["instructions"]}
        triggers = {i["targetActivityIds"][0] for i in plan["instructions"] if i.get("updateEventTrigger")}
        general, activities = [], []
        if runtime.row.definition_id != plan["sourceProcessDefinitionId"]:
            general.append(f"Process instance runs on '{runtime.row.definition_id}', not on the plan's source "
                           f"'{plan['sourceProcessDefinitionId']}'")
        else:
            target = session.get(m.ProcessDefinition, plan["targetProcessDefinitionId"])
            target_specs = self._target_specs(session, runtime, target)
            processes = _process_names(runtime.workflow, target, mapping)
            called = set(runtime.row.bindings.get("processes") or {})
            for workflow in (runtime.workflow, *runtime.workflow.subprocesses.values()):
                # A called process stays on its version (Camunda migrates the instance, not what it calls).
                local = {} if workflow.spec.name in called else mapping
                for task in workflow.tasks.values():
                    self._check_task(task, local, workflow.spec.name in called, processes, target_specs, general,
                                     activities)
        if general or activities:
            report = {"processInstanceId": instance_id, "failures": general,
                      "activityInstanceValidationReports": activities, "transitionInstanceValidationReports": []}
            raise MigrationRefused("MigratingProcessInstanceValidationException",
                                   f"Cannot migrate process instance '{instance_id}'", report)
        return runtime, mapping, triggers

    @staticmethod
    def _check_task(task, mapping: dict, in_called: bool, processes: dict, target_specs: dict, general: list,
                    activities: list) -> None:
        if task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            return  # predicted again from the target
        name = task.task_spec.name
        is_activity = "activityType" in (getattr(task.task_spec, "extensions", None) or {})
        if is_activity and task.has_state(ACTIVE) and name not in mapping and not in_called:
            activities.append({"migrationInstruction": None, "activityInstanceId": str(task.id), "sourceScopeId": name,
                               "failures": [NO_INSTRUCTION]})
            return
        process = task.workflow.spec.name
        if _renamed(name, mapping, process, processes[process]) not in target_specs.get(processes[process], {}):
            general.append(f"The instance's state still holds '{name}', which the target process does not have")

    def _target_specs(self, session: Session, runtime: Runtime, target: m.ProcessDefinition) -> dict:
        """Task spec names by process spec name, in the target and the processes it calls."""
        spec, subprocesses = self.engine.resolver.specs_for(session, target.id, self._bindings(session, runtime, target))
        return {s.name: s.task_specs for s in (spec, *subprocesses.values())}

    def _bindings(self, session: Session, runtime: Runtime, target: m.ProcessDefinition) -> dict:
        """The target's called processes and decisions, latest versions; a called process already
        running inside the instance stays on the version it runs."""
        fresh = self.engine.resolver.bindings_for(session, target)
        running = {sub.spec.name for sub in runtime.workflow.subprocesses.values()}
        pinned = runtime.row.bindings.get("processes") or {}
        kept = {key: called for key, called in pinned.items() if key in running}
        return {"processes": {**fresh["processes"], **kept}, "decisions": fresh["decisions"]}

    def _rebind(self, session: Session, runtime: Runtime, target: m.ProcessDefinition, mapping: dict,
                triggers: set) -> None:
        workflow, row = runtime.workflow, runtime.row
        bindings = self._bindings(session, runtime, target)
        spec, subprocess_specs = self.engine.resolver.specs_for(session, target.id, bindings)
        by_name = {spec.name: spec, **{s.name: s for s in subprocess_specs.values()}}
        processes = _process_names(workflow, target, mapping)
        called = set(row.bindings.get("processes") or {})
        for part in (workflow, *workflow.subprocesses.values()):
            new_spec = by_name[processes[part.spec.name]]
            local = {} if part.spec.name in called else mapping
            for task in list(part.tasks.values()):
                if (task.id in part.tasks and task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE)
                        and task.parent is not None and task.parent.has_state(ACTIVE)):
                    part._remove_task(task.id)  # and its predicted subtree
            if part.last_task is not None and part.last_task.id not in part.tasks:
                part.last_task = None
            for task in part.tasks.values():
                task.task_spec = new_spec.task_specs[_renamed(task.task_spec.name, local, part.spec.name, new_spec.name)]
                if task.task_spec.name in triggers:
                    task.internal_data.pop("event_value", None)  # the target's timer sets the due date again
            part.spec = new_spec
        # Rebuilt from its serialized form on the target's specs, as any later command loads it
        # (the event manager and the subprocesses' links are derived there).
        row.definition_id, row.definition_key, row.bindings = target.id, target.key, bindings
        script_engine = self.engine.resolver.script_engine_for(session, bindings)
        runtime.workflow = workflow_from_dict(workflow_to_dict(workflow), spec, subprocess_specs, script_engine)
        for part in (runtime.workflow, *runtime.workflow.subprocesses.values()):
            for task in part.get_tasks(state=ACTIVE):
                _predict_again(task)
        runtime._guard(runtime.workflow.refresh_timers)  # timers never fire here: they only get their due date

    @staticmethod
    def _move_rows(session: Session, instance_id: str, target: m.ProcessDefinition, mapping: dict) -> None:
        """The rows beside the state follow the instance to the target (their ids stay)."""
        for model in (m.Task, m.Job, m.ExternalTask, m.Incident, m.ActivityInstance):
            mine = [model.instance_id == instance_id]
            if model is m.ActivityInstance:
                mine.append(model.end_time.is_(None))
            values = {"definition_id": target.id}
            if hasattr(model, "definition_key"):
                values["definition_key"] = target.key
            session.execute(update(model).where(*mine).values(**values).execution_options(synchronize_session=False))
            for source, renamed in mapping.items():
                if source != renamed:
                    session.execute(update(model).where(*mine, model.activity_id == source).values(activity_id=renamed)
                                    .execution_options(synchronize_session=False))


def _process_names(workflow, target: m.ProcessDefinition, mapping: dict) -> dict:
    """Each process spec of the instance -> its spec in the target: the top one the target's,
    an embedded subprocess the one its instruction maps it to (a called process stays itself)."""
    names = {sub.spec.name: mapping.get(sub.spec.name, sub.spec.name) for sub in workflow.subprocesses.values()}
    return {**names, workflow.spec.name: target.key}


def _renamed(name: str, mapping: dict, process: str, target_process: str) -> str:
    """A task spec's name in the target: its instruction's target, or the same id; the specs
    SpiffWorkflow derives from an element ("Task_X.BoundaryEventSplit") or from the process
    ("birth_linked.EndJoin") follow that element or process."""
    if name in mapping:
        return mapping[name]
    head, dot, tail = name.partition(".")
    if dot and head == process:
        return target_process + dot + tail
    if dot and head in mapping:
        return mapping[head] + dot + tail
    return name


def _predict_again(task) -> None:
    """The predicted children of a task the instance rests in, from the target's flows."""
    task.task_spec._predict_hook(task)
    for child in task.children:
        if child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
