"""Forget the finished part of an instance's task tree before it is stored.

SpiffWorkflow keeps every task an instance ever ran, each the child of the one before, so an
instance that loops back (a dossier sent back for supplements again and again) stores, restores
and walks a tree that grows with its history: every command on it costs more the longer it
lives (bench/cost_growth.py measured a step 9x slower after 138 loops), although nothing in that
history can run again.

What can still matter is below the lowest common ancestor of the unfinished tasks (ready,
waiting, started, and the predicted ones): the branches of a split that is still open, the
boundary-event split of a task still waiting, a parallel join's earlier arrivals (its
`_check_threshold_unstructured` reads the waiting and cancelled join tasks of every branch under
the split). Everything above that ancestor is finished and has no unfinished task below it, so it
is cut off: the ancestor becomes the only child of the tree's root ("Start"). Spiff's joins treat a
previous iteration they no longer find exactly as one they find and skip (`my_task.is_descendant_of
(task)`), and structured joins look up only splits that are ancestors of an unfinished task.

The engine keeps what a user can ask about that history in its own rows (activity history, the
user-operation log), written before the tree is cut: history rows are closed in the same save.
Subprocesses (call activities, embedded subprocesses) are pruned the same way, each in its own
tree; a finished one whose calling task is cut goes with it.
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from .event_subprocess import is_event_subprocess


def prune(workflow) -> int:
    """Cut the finished top of `workflow`'s tree and of each subprocess's; how many tasks went."""
    removed = _prune_tree(workflow)
    for subprocess in list(workflow.subprocesses.values()):
        removed += _prune_tree(subprocess)
    alive = set(workflow.tasks)
    for subprocess in workflow.subprocesses.values():
        alive.update(subprocess.tasks)
    for task_id in [k for k in workflow.subprocesses if k not in alive]:
        removed += len(workflow.subprocesses.pop(task_id).tasks)
    return removed


def _prune_tree(workflow) -> int:
    root = workflow.task_tree
    if root is None:
        return 0
    # Event subprocesses hang from the root beside the scope's flow and stay there, waiting.
    events = [t for t in root.children if is_event_subprocess(t) and not t.has_state(TaskState.FINISHED_MASK)]
    beside = {t.id for event in events for t in event}
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK) and t.id not in beside]
    if not unfinished:
        return 0
    keep = _lowest_common_ancestor(unfinished)
    if keep is root or keep.parent is root:
        return 0
    kept = {root.id}
    stack = [keep, *events]
    while stack:
        task = stack.pop()
        kept.add(task.id)
        stack.extend(task.children)
    removed = len(workflow.tasks) - len(kept)
    workflow.tasks = {task_id: task for task_id, task in workflow.tasks.items() if task_id in kept}
    keep.parent = root
    root.children = [keep, *events]
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = keep
    return removed


def _lowest_common_ancestor(tasks):
    """The deepest task that is an ancestor of (or one of) all `tasks`, in one walk each."""
    path = []
    task = tasks[0]
    while task is not None:
        path.append(task)
        task = task.parent
    path.reverse()  # root first
    index = {task.id: n for n, task in enumerate(path)}
    cut = len(path) - 1
    for task in tasks[1:]:
        while task.id not in index:
            task = task.parent
        cut = min(cut, index[task.id])
        if cut == 0:
            break
    return path[cut]
