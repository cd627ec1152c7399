"""SpiffWorkflow's built-in ceilings that a long-lived instance meets, lifted once per process.

SpiffWorkflow keeps every task an instance ever ran, each the child of the one before, so an
instance that loops back (a dossier sent back for supplements again and again) grows one level
deeper per task it runs: the birth diagram adds about seven levels a round. Two ceilings follow:

* its task iterators stop descending at depth 1000 (``TaskIterator(max_depth=1000)``), silently:
  past it the engine no longer sees the instance's ready tasks, and the instance stalls with no
  error (found by bench/cost_growth.py: the 139th supplement round of a birth dossier);
* ``Task.is_descendant_of`` (parallel joins) and ``Task.find_ancestor`` recurse once per level,
  so they would hit Python's limit of 1000 frames; they are replaced by the same walk as a loop.
  (Raising the interpreter's recursion limit instead is not safe: other recursive code, such as
  a deeply nested expression, would then overflow the C stack and crash the process.)

Since engine/bpmn/prune.py cuts the finished top of the tree at every save, a stored instance no
longer grows this deep; the ceilings stay lifted for a long loop inside one command, and inside a
parallel branch while another branch is still open (the cut cannot pass the open split).
"""
from __future__ import annotations

import inspect

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator

MAX_TREE_DEPTH = 1_000_000


def _with_default(function, name: str, value) -> None:
    """Change the default of one keyword parameter of `function` in place."""
    with_defaults = [p.name for p in inspect.signature(function).parameters.values()
                     if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    defaults = list(function.__defaults__)
    defaults[with_defaults.index(name)] = value
    function.__defaults__ = tuple(defaults)


def _is_descendant_of(self, task) -> bool:
    """Task.is_descendant_of, as a loop."""
    ancestor = self.parent
    while ancestor is not None:
        if ancestor == task:
            return True
        ancestor = ancestor.parent
    return False


def _find_ancestor(self, spec_name: str):
    """Task.find_ancestor, as a loop."""
    ancestor = self.parent
    while ancestor is not None:
        if ancestor.task_spec.name == spec_name:
            return ancestor
        ancestor = ancestor.parent
    return None


def lift() -> None:
    for iterator in (TaskIterator, BpmnTaskIterator):
        _with_default(iterator.__init__, "max_depth", MAX_TREE_DEPTH)
    Task.is_descendant_of = _is_descendant_of
    Task.find_ancestor = _find_ancestor


lift()
