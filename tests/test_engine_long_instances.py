"""An instance sent back again and again (a dossier supplemented round after round) keeps running.

SpiffWorkflow keeps every task it ran, one level deeper each, and its task iterators used to stop
at depth 1000 without a word: the instance then had no ready task and stalled (the 139th
supplement round of a birth dossier). engine/bpmn/limits.py lifts that ceiling.
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from engine.bpmn.script_engine import enter_scope, leave_scope, run_task, scope_of
from tests.engine_helpers import spiff_workflow


def test_past_a_thousand_levels_the_instance_still_finds_its_ready_task():
    import engine.runtime  # noqa: F401 - as the service does, which lifts the ceilings

    workflow = spiff_workflow("loop_back.bpmn", "engine_loop_back")
    scope_of(workflow).update({"again": True})
    workflow.do_engine_steps(enter_scope, leave_scope)
    rounds = 400  # three levels a round: 1200 levels deep
    for _ in range(rounds):
        [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
        run_task(review, {"again": True})
        workflow.do_engine_steps(enter_scope, leave_scope)
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert review.task_spec.bpmn_id == "Task_Review" and review.depth > 1000
    # The ancestor walks the parallel joins use go all the way up (they used to recurse per level).
    assert review.is_descendant_of(workflow.task_tree)
    assert review.find_ancestor("Start_Loop").task_spec.bpmn_id == "Start_Loop"
    run_task(review, {"again": False})
    workflow.do_engine_steps(enter_scope, leave_scope)
    assert workflow.completed
