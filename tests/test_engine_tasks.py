"""User tasks: the inbox row, claiming, form validation, completion races, history and audit rows.

Diagram: tests/fixtures/engine/user_task_form.bpmn — Task_Fill (assignee ${owner}, candidate users
${reviewers}, groups "clerks, auditors", due ${dueAt}, follow-up 2026-12-01T08:00 local, priority
${urgency}, formData applicantName/category/copies/urgent) → Task_Review (group auditors) → end.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import models as m
from engine.errors import ConcurrentModification, InvalidRequest, NotFound
from engine.runtime import Runtime
from engine.service import TaskAlreadyClaimed
from tests.engine_helpers import count, deploy, history, instance, open_task_ids, rows, the_task, user_operations

VALID_FORM = {"applicantName": "Nguyen", "category": "birth", "copies": 2}


def start(engine, business_key="HS-1", **overrides) -> str:
    deploy(engine, "user_task_form.bpmn")
    variables = {"owner": None, "reviewers": ["dana", "eve"], "dueAt": "2026-11-30T17:00:00+07:00", "urgency": 70}
    variables.update(overrides)
    return engine.start_instance("engine_user_task", variables, business_key=business_key, user_id="starter")


def fill_task(engine, instance_id) -> m.Task:
    return the_task(engine, instance_id, "Task_Fill")


def links(engine, task_id) -> tuple[list, list]:
    found = rows(engine, m.IdentityLink, m.IdentityLink.task_id == task_id)
    return sorted(k.group_id for k in found if k.group_id), sorted(k.user_id for k in found if k.user_id)


# --- the inbox row -----------------------------------------------------------------------------


def test_user_task_row_carries_candidates_dates_priority_and_business_key(engine, clock):
    instance_id = start(engine)

    task = fill_task(engine, instance_id)
    assert task.name == "Fill in the application"
    assert task.assignee is None
    assert task.business_key == "HS-1"
    assert task.definition_key == "engine_user_task"
    assert task.created == clock.now()
    assert task.due == datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
    # Written without a zone: read in the service's zone (Asia/Ho_Chi_Minh, UTC+7).
    assert task.follow_up == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    assert task.priority == 70
    assert links(engine, task.id) == (["auditors", "clerks"], ["dana", "eve"])


def test_assignee_comes_from_its_expression_and_reaches_history(engine):
    instance_id = start(engine, owner="alice")

    task = fill_task(engine, instance_id)
    assert task.assignee == "alice"
    [activity] = [a for a in history(engine, instance_id) if a.activity_id == "Task_Fill"]
    assert activity.assignee == "alice"
    with pytest.raises(TaskAlreadyClaimed):
        engine.claim(task.id, "bob")
    engine.claim(task.id, "alice")  # claiming one's own task again is fine
    assert fill_task(engine, instance_id).assignee == "alice"


def test_candidate_users_from_a_comma_separated_string(engine):
    instance_id = start(engine, reviewers="dana, eve ,frank")

    assert links(engine, fill_task(engine, instance_id).id)[1] == ["dana", "eve", "frank"]


def test_a_due_date_that_is_not_iso_fails_the_start_and_stores_nothing(engine):
    from engine.runtime import ExecutionError

    with pytest.raises(ExecutionError, match="Task_Fill.*not an ISO 8601"):
        start(engine, dueAt="next Tuesday")
    assert count(engine, m.ProcessInstance) == 0
    assert count(engine, m.Task) == 0


def test_a_priority_that_is_not_a_number_fails_the_start_naming_the_element(engine):
    from engine.runtime import ExecutionError

    with pytest.raises(ExecutionError, match="Task_Fill"):
        start(engine, urgency="high")
    assert count(engine, m.ProcessInstance) == 0


# --- claim, unclaim, assign --------------------------------------------------------------------


def test_claim_unclaim_and_assign(engine):
    instance_id = start(engine)
    task_id = fill_task(engine, instance_id).id

    engine.claim(task_id, "bob")
    assert fill_task(engine, instance_id).assignee == "bob"
    with pytest.raises(TaskAlreadyClaimed, match="already claimed"):
        engine.claim(task_id, "carol")
    assert fill_task(engine, instance_id).assignee == "bob"

    engine.unclaim(task_id, actor="bob")
    assert fill_task(engine, instance_id).assignee is None
    engine.claim(task_id, "carol")
    engine.set_assignee(task_id, "dan", actor="chief")  # assigning overrides a claim

    assert fill_task(engine, instance_id).assignee == "dan"
    [activity] = [a for a in history(engine, instance_id) if a.activity_id == "Task_Fill"]
    assert activity.assignee == "dan"
    operations = [(o.operation_type, o.user_id, o.details) for o in user_operations(engine, instance_id)
                  if o.entity_type == "Task"]
    assert operations == [
        ("Claim", "bob", {"assignee": "bob"}),
        ("Unclaim", "bob", {"previous": "bob", "assignee": None}),
        ("Claim", "carol", {"assignee": "carol"}),
        ("Assign", "chief", {"previous": "carol", "assignee": "dan"}),
    ]


def test_claim_needs_a_user_and_an_open_task(engine):
    instance_id = start(engine)
    task_id = fill_task(engine, instance_id).id

    with pytest.raises(InvalidRequest) as missing:
        engine.claim(task_id, "")
    assert missing.value.field_errors == {"userId": ["is required"]}
    with pytest.raises(NotFound):
        engine.claim("no-such-task", "bob")
    engine.complete_task(task_id, VALID_FORM)
    with pytest.raises(ConcurrentModification, match="already completed"):
        engine.claim(task_id, "bob")


# --- forms -------------------------------------------------------------------------------------


def test_form_variables_give_defaults_before_any_input(engine):
    instance_id = start(engine)

    assert engine.form_variables(fill_task(engine, instance_id).id) == {
        "applicantName": None, "category": None, "copies": 1, "urgent": False, "caseNumber": None}


def test_form_variables_prefer_current_values_over_defaults(engine):
    instance_id = start(engine, urgent=True, applicantName="Tran")

    assert engine.form_variables(fill_task(engine, instance_id).id) == {
        "applicantName": "Tran", "category": None, "copies": 1, "urgent": True, "caseNumber": None}


def test_form_variables_of_a_task_without_form_are_all_variables(engine):
    instance_id = start(engine)
    engine.complete_task(fill_task(engine, instance_id).id, VALID_FORM)

    values = engine.form_variables(the_task(engine, instance_id, "Task_Review").id)
    assert values["applicantName"] == "Nguyen"
    assert values["reviewers"] == ["dana", "eve"]


def test_every_bad_field_is_reported_and_nothing_changes(engine):
    instance_id = start(engine)
    task_id = fill_task(engine, instance_id).id
    before = engine.instance_variables(instance_id)

    with pytest.raises(InvalidRequest) as refused:
        engine.complete_task(task_id, {"applicantName": "A", "category": "divorce", "copies": 9, "urgent": "perhaps"})

    assert refused.value.field_errors == {
        "applicantName": ["must have at least 2 characters"],
        "category": ["must be one of birth, marriage"],
        "copies": ["must be at most 5"],
        "urgent": ["must be true or false"],
    }
    assert open_task_ids(engine, instance_id) == ["Task_Fill"]
    assert engine.instance_variables(instance_id) == before
    [activity] = [a for a in history(engine, instance_id) if a.activity_id == "Task_Fill"]
    assert activity.end_time is None
    assert [o.operation_type for o in user_operations(engine, instance_id)] == ["Create"]


@pytest.mark.parametrize("submitted, errors", [
    # The Modeler writes required/readonly without a config (Spiff's has_validation() misses them).
    pytest.param({}, {"applicantName": ["is required"], "category": ["is required"]}, id="required-missing"),
    pytest.param({"applicantName": "", "category": None}, {"applicantName": ["is required"], "category": ["is required"]},
                 id="required-empty"),
    pytest.param({**VALID_FORM, "caseNumber": "HS-9"}, {"caseNumber": ["is read-only"]}, id="readonly-submitted"),
    ({**VALID_FORM, "applicantName": "Nguyen Van An"}, {"applicantName": ["must have at most 10 characters"]}),
    ({**VALID_FORM, "copies": 0}, {"copies": ["must be at least 1"]}),
    ({**VALID_FORM, "copies": 2.5}, {"copies": ["must be a whole number"]}),
    ({**VALID_FORM, "copies": "two"}, {"copies": ["must be a whole number"]}),
    ({**VALID_FORM, "copies": True}, {"copies": ["must be a whole number"]}),
    ({**VALID_FORM, "applicantName": 42}, {"applicantName": ["must be text"]}),
])
def test_form_constraints(engine, submitted, errors):
    instance_id = start(engine)

    with pytest.raises(InvalidRequest) as refused:
        engine.complete_task(fill_task(engine, instance_id).id, submitted)

    assert refused.value.field_errors == errors
    assert open_task_ids(engine, instance_id) == ["Task_Fill"]


def test_form_values_are_converted_before_they_are_stored(engine):
    instance_id = start(engine)

    returned = engine.complete_task(fill_task(engine, instance_id).id,
                                    {"applicantName": "Le", "category": "marriage", "copies": "3", "urgent": "TRUE"})

    stored = engine.instance_variables(instance_id)
    assert (stored["copies"], stored["urgent"], stored["category"]) == (3, True, "marriage")
    assert returned["copies"] == 3
    assert open_task_ids(engine, instance_id) == ["Task_Review"]


# --- completion, races ---------------------------------------------------------------------------


def test_completing_twice_is_a_concurrent_modification(engine):
    instance_id = start(engine)
    task_id = fill_task(engine, instance_id).id
    engine.complete_task(task_id, VALID_FORM)

    with pytest.raises(ConcurrentModification, match="already completed"):
        engine.complete_task(task_id, VALID_FORM)
    assert open_task_ids(engine, instance_id) == ["Task_Review"]


def test_two_threads_completing_the_same_task_one_wins(engine, monkeypatch):
    """Both commands load the instance before either saves, so they race for real: the revision
    check lets one commit; the other's save fails, it runs again from the committed state and finds
    the task completed. On SQLite a command holds the write lock from its start (BEGIN IMMEDIATE),
    so the second cannot load until the first has committed: there the same outcome comes from the
    lock, and the first command's wait for the second at the barrier times out."""
    instance_id = start(engine)
    task_id = fill_task(engine, instance_id).id
    both_loaded = threading.Barrier(2, timeout=3)
    outcomes: dict[str, object] = {}
    commands: list[str] = []
    loaded = threading.local()
    load, command = Runtime.load, engine.command

    def load_then_wait(context, session, instance, row=None):
        runtime = load(context, session, instance, row)
        if not getattr(loaded, "once", False):  # the first attempt of each thread, not its rerun
            loaded.once = True
            try:
                both_loaded.wait()
            except threading.BrokenBarrierError:
                assert engine.db.is_sqlite, "on PostgreSQL both commands must load before either saves"
        return runtime

    def counted_command():
        commands.append(threading.current_thread().name)
        return command()

    monkeypatch.setattr(Runtime, "load", staticmethod(load_then_wait))
    monkeypatch.setattr(engine, "command", counted_command)

    def complete(name, copies):
        try:
            engine.complete_task(task_id, {**VALID_FORM, "copies": copies}, actor=name)
            outcomes[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            outcomes[name] = exc

    threads = [threading.Thread(target=complete, args=(name, copies), name=name)
               for name, copies in (("an", 1), ("binh", 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # PostgreSQL: the loser's first command lost the race at its save and was run again (3
    # commands); SQLite: the lock queued the loser behind the winner (2 commands).
    assert len(commands) == (2 if engine.db.is_sqlite else 3), commands
    winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
    losers = [outcome for outcome in outcomes.values() if outcome != "ok"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], ConcurrentModification), outcomes
    # One completion happened, once: the winner's values, one history row, one next task.
    assert engine.instance_variables(instance_id)["copies"] == {"an": 1, "binh": 4}[winners[0]]
    assert [a.activity_id for a in history(engine, instance_id)].count("Task_Fill") == 1
    assert [a.activity_id for a in history(engine, instance_id)].count("Task_Review") == 1
    assert open_task_ids(engine, instance_id) == ["Task_Review"]
    completes = [o for o in user_operations(engine, instance_id) if o.operation_type == "Complete"]
    assert [o.user_id for o in completes] == winners
    assert instance(engine, instance_id).revision == 2


# --- history and audit -------------------------------------------------------------------------


def test_history_rows_in_order_with_camunda_types_and_times(engine, clock):
    t0 = clock.now()
    instance_id = start(engine)
    fill_id = fill_task(engine, instance_id).id
    engine.claim(fill_id, "bob")
    clock.advance(hours=1)
    engine.complete_task(fill_id, VALID_FORM, actor="bob")
    clock.advance(hours=2)
    engine.complete_task(the_task(engine, instance_id, "Task_Review").id, actor="carol")

    rows_ = history(engine, instance_id)
    assert [(a.activity_id, a.activity_type) for a in rows_] == [
        ("Start_Form", "startEvent"),
        ("Task_Fill", "userTask"),
        ("Task_Review", "userTask"),
        ("End_Form", "noneEndEvent"),
    ]
    fill, review = rows_[1], rows_[2]
    assert (fill.start_time, fill.end_time, fill.assignee, fill.task_id) == (t0, t0 + timedelta(hours=1), "bob", fill_id)
    assert (review.start_time, review.end_time) == (t0 + timedelta(hours=1), t0 + timedelta(hours=3))
    assert (rows_[0].activity_name, fill.activity_name) == ("Application received", "Fill in the application")
    assert not any(a.canceled for a in rows_)
    assert all(a.end_time is not None for a in rows_)
    done = instance(engine, instance_id)
    assert (done.state, done.end_time, done.workflow) == ("COMPLETED", t0 + timedelta(hours=3), None)
    assert count(engine, m.Task, m.Task.instance_id == instance_id) == 0


def test_user_operations_record_who_claimed_and_which_variables_a_completion_changed(engine):
    instance_id = start(engine, urgent=False)
    task_id = fill_task(engine, instance_id).id

    engine.claim(task_id, "bob")
    engine.complete_task(task_id, {"applicantName": "Pham", "category": "birth", "copies": "1", "urgent": False}, actor="bob")

    operations = [(o.operation_type, o.entity_type, o.user_id, o.task_id, o.details) for o in user_operations(engine, instance_id)]
    assert operations == [
        ("Create", "ProcessInstance", "starter", None, {"variables": ["dueAt", "owner", "reviewers", "urgency", "urgent"]}),
        ("Claim", "Task", "bob", task_id, {"assignee": "bob"}),
        # urgent was false already: not a change.
        ("Complete", "Task", "bob", task_id, {"variables": {"applicantName": "Pham", "category": "birth", "copies": 1}}),
    ]
