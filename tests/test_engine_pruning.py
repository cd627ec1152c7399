"""An instance forgets the finished part of its task tree (engine/bpmn/prune.py), and still runs
exactly as before: loops, parallel joins, boundary timers, embedded subprocesses, and the
activity history, which the engine keeps in its own rows.

Before, SpiffWorkflow kept every task an instance ran, so the stored state (and the cost of every
command on it) grew with each round of a loop: a dossier's step was 9x slower after 138 rounds.
"""
from __future__ import annotations

import json

from SpiffWorkflow.util.task import TaskState

from engine import models as m
from engine.bpmn.prune import prune
from engine.bpmn.script_engine import enter_scope, leave_scope, run_task, scope_of
from tests.engine_helpers import deploy, history, instance, open_tasks, rows, spiff_workflow, the_task


def state_size(engine, instance_id: str) -> int:
    return len(json.dumps(instance(engine, instance_id).workflow))


def complete(engine, instance_id: str, activity_id: str, **variables) -> None:
    engine.complete_task(the_task(engine, instance_id, activity_id).id, variables)


def runs_of(engine, instance_id: str, activity_id: str) -> list[m.ActivityInstance]:
    return [a for a in history(engine, instance_id) if a.activity_id == activity_id]


def test_a_loop_stores_the_same_state_in_its_fiftieth_round_as_in_its_fifth(engine):
    deploy(engine, "loop_back.bpmn")
    instance_id = engine.start_instance("engine_loop_back", {"again": True})
    sizes = []
    for _ in range(50):
        complete(engine, instance_id, "Task_Review", again=True)
        sizes.append(state_size(engine, instance_id))
    # (Equal but for the digits of timestamps; without the cut each round added ~600 bytes.)
    assert abs(sizes[49] - sizes[4]) < 50, f"the stored state grew with the rounds: {sizes[4]} -> {sizes[49]} bytes"
    complete(engine, instance_id, "Task_Review", again=False)
    assert instance(engine, instance_id).state == "COMPLETED"
    # What was cut from the tree is still in the history, every round of it, closed.
    reviews = runs_of(engine, instance_id, "Task_Review")
    assert len(reviews) == 51
    assert all(r.end_time is not None and not r.canceled for r in reviews)
    assert len(runs_of(engine, instance_id, "Gateway_Merge")) == 51


def test_parallel_branches_still_join_and_a_loop_around_them_stays_flat(engine, clock):
    deploy(engine, "loop_parallel.bpmn")
    instance_id = engine.start_instance("engine_loop_parallel", {"again": True, "anotherRound": True})
    sizes = []
    for _ in range(6):
        # Branch A loops while branch B is still open: the split stays in the tree.
        for _ in range(3):
            complete(engine, instance_id, "Task_A", again=True)
        # The boundary timer of the task in its latest round fires, once.
        clock.advance(hours=1, minutes=1)
        assert engine.run_due_jobs() == 1
        assert sorted(t.activity_id for t in open_tasks(engine, instance_id)) == ["Task_A", "Task_B", "Task_Remind"]
        complete(engine, instance_id, "Task_Remind")
        complete(engine, instance_id, "Task_B")
        # B has arrived at the join; A loops on alone, then arrives: the join must see B's arrival.
        complete(engine, instance_id, "Task_A", again=True)
        assert [t.activity_id for t in open_tasks(engine, instance_id)] == ["Task_A"]
        complete(engine, instance_id, "Task_A", again=False)
        assert [t.activity_id for t in open_tasks(engine, instance_id)] == ["Task_Sign"]
        sizes.append(state_size(engine, instance_id))
        complete(engine, instance_id, "Task_Sign")
    assert abs(sizes[5] - sizes[1]) < 50, f"a loop around the branches grew the stored state: {sizes[1]} -> {sizes[5]}"
    for activity_id, variables in (("Task_A", {"again": False}), ("Task_B", {}), ("Task_Sign", {"anotherRound": False})):
        complete(engine, instance_id, activity_id, **variables)
    assert instance(engine, instance_id).state == "COMPLETED"
    assert len(runs_of(engine, instance_id, "Task_A")) == 6 * 5 + 1
    assert len(runs_of(engine, instance_id, "Gateway_Join")) == 7 * 2  # one arrival per branch, each round
    assert len(runs_of(engine, instance_id, "Sub_Sign")) == 7
    assert len(runs_of(engine, instance_id, "Task_Remind")) == 6
    assert all(r.end_time is not None for r in rows(engine, m.ActivityInstance,
                                                     m.ActivityInstance.instance_id == instance_id))


def _ready(workflow, bpmn_id: str):
    [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
    return task


def _run(workflow, bpmn_id: str, **variables) -> None:
    run_task(_ready(workflow, bpmn_id), variables)
    workflow.do_engine_steps(enter_scope, leave_scope)


def test_the_cut_keeps_the_lowest_common_ancestor_of_the_unfinished_tasks():
    workflow = spiff_workflow("loop_parallel.bpmn", "engine_loop_parallel")
    scope_of(workflow).update({"again": True, "anotherRound": True})
    workflow.do_engine_steps(enter_scope, leave_scope)
    # Both branches open: nothing above the split can go, the split and both branches stay.
    assert prune(workflow) > 0  # the start event and the top gateway
    split = workflow.task_tree.children[0]
    assert split.task_spec.bpmn_id == "Gateway_Split"
    before = len(workflow.tasks)
    _run(workflow, "Task_A", again=True)
    prune(workflow)
    assert workflow.task_tree.children == [split] and len(workflow.tasks) > before
    # B done: only branch A's latest round and B's arrival at the join matter now.
    _run(workflow, "Task_B")
    prune(workflow)
    assert workflow.task_tree.children == [split], "B's waiting arrival at the join keeps the split"
    _run(workflow, "Task_A", again=False)  # the join fires, the subprocess starts
    assert len(workflow.subprocesses) == 1
    prune(workflow)
    [kept] = workflow.task_tree.children
    assert kept.task_spec.bpmn_id == "Sub_Sign" and kept.state == TaskState.STARTED
    assert all(t.parent is None or t.parent.id in workflow.tasks for t in workflow.tasks.values())
    _run(workflow, "Task_Sign", anotherRound=False)
    assert workflow.completed
    assert workflow.last_task is None or workflow.last_task.id in workflow.tasks


def test_a_finished_subprocess_goes_with_the_task_that_called_it():
    workflow = spiff_workflow("loop_parallel.bpmn", "engine_loop_parallel")
    scope_of(workflow).update({"again": False, "anotherRound": True})
    workflow.do_engine_steps(enter_scope, leave_scope)
    _run(workflow, "Task_A", again=False)
    _run(workflow, "Task_B")
    _run(workflow, "Task_Sign")  # another round: the first subprocess has finished
    finished = [k for k, sp in workflow.subprocesses.items() if sp.completed]
    assert finished, "SpiffWorkflow keeps a finished subprocess while its calling task is in the tree"
    prune(workflow)
    assert not any(k in workflow.subprocesses for k in finished)
    assert all(k in workflow.tasks for k in workflow.subprocesses)
