"""SpiffWorkflow's built-in ceilings that a long-lived instance meets, lifted once per process.

SpiffWorkflow keeps every task an instance ever ran, each the child of the one before, so an
instance that loops back (a dossier sent back for supplements again and again) grows one level
deeper per task it runs: the birth diagram adds about seven levels a round. Two ceilings follow:

* its task iterators stop descending at depth 1000 (``TaskIterator(max_depth=1000)``), silently:
  past it the engine no longer sees the instance's ready tasks, and the instance stalls with no
  error (found by bench/cost_growth.py: the 139th supplement round of a birth dossier);
* ``Task.is_descendant_of`` (parallel joins) recurses once per level: Python's default limit of
  1000 frames. These are Python-to-Python calls, which CPython 3.11+ runs without C stack, so a
  higher limit is safe.

What remains is cost: each round makes the tree, and so every command on the instance, a little
bigger (see the README's Performance section).
"""
from __future__ import annotations

import inspect
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

MAX_TREE_DEPTH = 1_000_000
RECURSION_LIMIT = 100_000


def _with_default(function, name: str, value) -> None:
    """Change the default of one keyword parameter of `function` in place."""
    with_defaults = [p.name for p in inspect.signature(function).parameters.values()
                     if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    defaults = list(function.__defaults__)
    defaults[with_defaults.index(name)] = value
    function.__defaults__ = tuple(defaults)


def lift() -> None:
    for iterator in (TaskIterator, BpmnTaskIterator):
        _with_default(iterator.__init__, "max_depth", MAX_TREE_DEPTH)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


lift()
