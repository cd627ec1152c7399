"""Multi-instance activities as Camunda 7 runs them (docs: "Multiple Instance" in the BPMN reference).

An activity with `multiInstanceLoopCharacteristics` becomes a *body* (activity id `X#multiInstanceBody`
in the history, type `multiInstanceBody`) around one instance of the activity per element:

- `loopCardinality` (`3` or `${n}`) gives the number of instances; `camunda:collection` (a variable
  name or `${...}`) gives one instance per element, the element in the instance's local variable
  `camunda:elementVariable`;
- the body holds `nrOfInstances`, `nrOfActiveInstances`, `nrOfCompletedInstances`, each instance
  `loopCounter` (0-based): local variables, visible to the instance and to its condition, never
  written to the process scope (engine/bpmn/script_engine.py, `local_variables`);
- `completionCondition` is evaluated each time an instance completes; when true the remaining
  instances are cancelled (parallel) or never started (sequential) and the body completes;
- `isSequential="true"` starts instance i+1 when instance i completes, so `nrOfActiveInstances` is 1.

SpiffWorkflow's multi-instance specs give the tree shape (the body, its `[child]` instances, the
merge on completion); SpiffWorkflow's Camunda flavour reads collections as data references and
rewrites the shared spec at run time, so the item handling here is ours.
"""
from __future__ import annotations

from collections.abc import Mapping

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from ..expressions import is_expression

LOCALS = "locals"  # in a task's internal data: its local variables (Camunda's local scope)
ITEMS = "items"  # in the body's internal data: the collection's elements, or None (cardinality)
BODY_SUFFIX = "#multiInstanceBody"


class _CamundaMultiInstance:
    """Shared by the parallel and the sequential body; `extensions` carries what the Modeler wrote."""

    def _start(self, my_task) -> int:
        """Evaluate cardinality or collection when the body starts; the number of instances."""
        BpmnTaskSpec._update_hook(self, my_task)
        my_task.internal_data["merged"] = []
        ext = self.extensions
        engine = my_task.workflow.script_engine
        if ext.get("collection"):
            text = ext["collection"]
            value = (engine.evaluate(my_task, text) if is_expression(text)
                     else engine.evaluate(my_task, "${" + text + "}"))
            if isinstance(value, Mapping) or not isinstance(value, (list, tuple)):
                raise WorkflowTaskException(
                    f"camunda:collection '{text}' must be a list, got {type(value).__name__}", task=my_task)
            my_task.internal_data[ITEMS] = list(value)
            count = len(value)
        else:
            text = ext["loopCardinality"]
            value = engine.evaluate(my_task, text) if is_expression(text) else text.strip()
            try:
                count = int(value)
            except (TypeError, ValueError):
                raise WorkflowTaskException(f"loopCardinality '{text}' is not a whole number ({value!r})",
                                            task=my_task) from None
            if count < 0:
                raise WorkflowTaskException(f"loopCardinality '{text}' is negative ({count})", task=my_task)
            my_task.internal_data[ITEMS] = None
        my_task.internal_data["cardinality"] = count
        return count

    def create_child(self, my_task, index):
        task_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not task_spec.completed_event.is_connected(self.merge_child):
            task_spec.completed_event.connect(self.merge_child)
        child = my_task._add_child(task_spec, TaskState.WAITING)
        child.triggered = True
        local = {"loopCounter": index}
        items = my_task.internal_data.get(ITEMS)
        if items is not None and self.extensions.get("elementVariable"):
            local[self.extensions["elementVariable"]] = items[index]
        child.internal_data[LOCALS] = local
        child.internal_data["key_or_index"] = index
        child.task_spec._update(child)

    def _record(self, child) -> bool:
        """Note a finished instance; True when the completion condition says the body is done."""
        my_task = child.parent
        my_task.internal_data["merged"].append(str(child.id))
        condition = self.extensions.get("completionCondition")
        if not condition:
            return False
        return my_task.workflow.script_engine.evaluate(child, condition) is True

    def body_variables(self, my_task) -> dict:
        total = my_task.internal_data.get("cardinality", 0)
        completed = len(my_task.internal_data.get("merged", []))
        if my_task.has_state(TaskState.FINISHED_MASK):
            active = 0
        elif self.extensions.get("isSequential"):
            active = 1 if completed < total else 0
        else:
            active = sum(1 for c in self._instances(my_task) if not c.has_state(TaskState.FINISHED_MASK))
        return {"nrOfInstances": total, "nrOfActiveInstances": active, "nrOfCompletedInstances": completed}


class ParallelBody(_CamundaMultiInstance, ParallelMultiInstanceTask):
    def _update_hook(self, my_task):
        count = self._start(my_task)
        for index in range(count):
            self.create_child(my_task, index)
        if count and not self.children_complete(my_task):
            my_task._set_state(TaskState.STARTED)
            return None
        return True

    def merge_child(self, workflow, child):
        my_task = child.parent
        if self._record(child):
            for other in self._instances(my_task):
                if not other.has_state(TaskState.FINISHED_MASK):
                    other.cancel()
            my_task._set_state(TaskState.READY)
        elif self.children_complete(my_task):
            my_task._set_state(TaskState.READY)


class SequentialBody(_CamundaMultiInstance, SequentialMultiInstanceTask):
    def _update_hook(self, my_task):
        count = self._start(my_task)
        if count == 0:
            return True
        self.create_child(my_task, 0)
        my_task._set_state(TaskState.STARTED)
        return None

    def merge_child(self, workflow, child):
        my_task = child.parent
        done = len(my_task.internal_data["merged"]) + 1 >= my_task.internal_data["cardinality"]
        if self._record(child) or done:
            my_task._set_state(TaskState.READY)
        else:
            self.create_child(my_task, len(my_task.internal_data["merged"]))


def is_instance(task) -> bool:
    """A task that is one instance of a multi-instance body."""
    parent = task.parent
    return (parent is not None and isinstance(parent.task_spec, _CamundaMultiInstance)
            and parent.task_spec.task_spec == task.task_spec.name)


def own_locals(task) -> dict:
    """The local variables a task itself holds: its body's counters and its own (loopCounter,
    the element variable, input mappings)."""
    found = {}
    if is_instance(task):
        found.update(task.parent.task_spec.body_variables(task.parent))
    found.update(task.internal_data.get(LOCALS) or {})
    return found


def add_body(parser, loop_characteristics) -> None:
    """Replace the parser's task by a body around it (TaskParser._add_multiinstance_task)."""
    camunda = "{http://camunda.org/schema/1.0/bpmn}"
    cardinality = parser.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality")
    condition = parser.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition")
    sequential = loop_characteristics.get("isSequential") == "true"
    original = parser.spec.task_specs.pop(parser.task.name)
    for attribute in ("asyncBefore", "asyncAfter"):
        # The Modeler's "Multi-instance asynchronous before/after": a job for each instance's handler.
        if loop_characteristics.get(camunda + attribute) == "true":
            original.extensions[attribute] = "true"
    body_class = SequentialBody if sequential else ParallelBody
    parser.task = body_class(parser.spec, original.name, task_spec="", **parser.bpmn_attributes)
    parser.task.extensions = {
        "activityType": "multiInstanceBody",
        "historyId": original.bpmn_id + BODY_SUFFIX,
        "isSequential": sequential,
        "loopCardinality": (cardinality[0].text or "").strip() if cardinality else None,
        "collection": loop_characteristics.get(camunda + "collection"),
        "elementVariable": loop_characteristics.get(camunda + "elementVariable"),
        "completionCondition": (condition[0].text or "").strip() if condition else None,
    }
    parser._copy_task_attrs(original, loop_characteristics)


def problems(loop) -> list[str]:
    """What is wrong with a multiInstanceLoopCharacteristics element, in the analyst's words."""
    camunda = "{http://camunda.org/schema/1.0/bpmn}"
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    found = []
    cardinality = loop.find(bpmn + "loopCardinality")
    collection = loop.get(camunda + "collection")
    if loop.find(bpmn + "loopDataInputRef") is not None or loop.find(bpmn + "inputDataItem") is not None:
        found.append("multi-instance: loopDataInputRef/inputDataItem are not supported; "
                     "use camunda:collection and camunda:elementVariable (Modeler: Collection, Element variable)")
    if collection is None and (cardinality is None or not (cardinality.text or "").strip()):
        found.append("multi-instance needs loopCardinality or camunda:collection (Modeler: Loop cardinality, Collection)")
    if loop.get(camunda + "elementVariable") and collection is None:
        found.append("multi-instance: camunda:elementVariable needs camunda:collection")
    return found
