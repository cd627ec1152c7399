"""Every finding under "Why" in issue 11, tried again as an outsider would, now answered 401, 403
or 404; the acting user is the login, never a header; and the audit trail (/api/audit) records
reads of personal data, changes and refused calls with who, when and from where, append-only,
for auditors only. Over the seeded world of tests/access_world.py, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.access_world import pdf_upload, world  # noqa: F401 (fixture)
from tests.death_examples import death_declaration
from tests.portal import MONDAY_9AM, workflow_files

MOTHER_ID = "087190001234"  # in the seeded birth declaration (tests/birth_examples.py)
ELSEWHERE = "203.0.113.7"  # a documentation address: where the audited calls come from


def _task_url(world, suffix: str = "") -> str:
    return f"/engine-rest/task/{world.ids['task']}{suffix}"


def _personal_data_routes(world) -> list[str]:
    ids = world.ids
    return [
        "/engine-rest/task", _task_url(world), _task_url(world, "/form-variables"),
        f"/engine-rest/process-instance/{ids['instance']}/variables",
        f"/engine-rest/process-instance/{ids['instance']}/variables/{ids['variable']}",
        "/engine-rest/history/process-instance", "/engine-rest/history/activity-instance",
        f"/engine-rest/history/process-instance/{ids['instance']}",
        "/api/dossiers", f"/api/dossiers/{ids['dossier']}", f"/api/dossiers/{ids['dossier']}/declarations/birth.pdf",
    ]


def _audit(world, **filters) -> list[dict]:
    response = world.call("GET", "/api/audit", "auditor", query_string=filters)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- the findings -----------------------------------------------------------------------------


def test_an_outsider_reads_no_inbox_variables_history_or_declarations(world):
    for path in _personal_data_routes(world):
        response = world.call("GET", path, None)
        assert response.status_code == 401, path
        assert MOTHER_ID not in response.get_data().decode("utf-8", "replace"), path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    # The same routes answer the agency's officer (so the 401 is the login, not a broken route).
    assert MOTHER_ID in world.call("GET", f"/engine-rest/process-instance/{world.ids['instance']}/variables",
                                   "officer").get_data(as_text=True)


def test_an_outsider_can_neither_file_nor_approve_a_death_dossier(world):
    before = len(world.call("GET", "/api/dossiers", "admin").get_json())
    filed = world.call("POST", "/api/dossiers", None, json={"procedure": "death", "declaration": death_declaration()})
    assert filed.status_code == 401
    approve = {"variables": {"decision": {"value": "approve"}}}
    assert world.call("POST", _task_url(world, "/complete"), None, json=approve).status_code == 401
    assert world.call("POST", _task_url(world, "/submit-form"), None, json=approve).status_code == 401
    assert len(world.call("GET", "/api/dossiers", "admin").get_json()) == before
    assert world.call("GET", _task_url(world), "officer").status_code == 200  # still open


def test_a_forged_card_issued_message_is_refused_to_all_but_the_bhxh_service_account(world):
    forged = {"messageName": "bhyt.card-issued", "businessKey": world.ids["dossier"],
              "processVariables": {"bhytCardNumber": {"value": "FORGED-0000"}}}
    assert world.call("POST", "/engine-rest/message", None, json=forged).status_code == 401
    for role in ("citizen", "officer", "supervisor", "analyst", "operator", "auditor"):
        assert world.call("POST", "/engine-rest/message", role, json=forged).status_code == 403, role
    # A service account without that message (a remote worker of other topics) is refused too.
    world.headers["worker"] = world.headers.get("worker") or _account(world, "worker", roles=("service",),
                                                                      topics=("clients.score",))
    refused = world.call("POST", "/engine-rest/message", "worker", json=forged)
    assert refused.status_code == 403 and "bhyt.card-issued" in refused.get_json()["message"]
    status = world.call("GET", f"/api/dossiers/{world.ids['dossier']}", "citizen").get_data(as_text=True)
    assert "FORGED-0000" not in status
    # The BHXH service account may send it (the dossier's BHYT part is not waiting for a card yet).
    allowed = world.call("POST", "/engine-rest/message", "service", json=forged)
    assert allowed.status_code not in (401, 403)


def _account(world, name: str, **account) -> dict:
    from tests.auth import basic, ensure_account

    return {"Authorization": basic(ensure_account(world.engine.db, world.user(name), **account))}


def test_jobs_retries_and_instance_deletion_are_for_operators(world):
    job = f"/engine-rest/job/{world.ids['job']}/retries"
    instance = f"/engine-rest/process-instance/{world.ids['instance']}"
    assert world.call("PUT", job, None, json={"retries": 5}).status_code == 401
    assert world.call("DELETE", instance, None).status_code == 401
    for role in ("officer", "supervisor", "analyst"):
        assert world.call("PUT", job, role, json={"retries": 5}).status_code == 403, role
        assert world.call("DELETE", instance, role).status_code == 403, role
    assert world.call("GET", f"/engine-rest/job/{world.ids['job']}", "operator").get_json()["retries"] == 3
    assert world.call("GET", instance, "officer").get_json()["ended"] is False


def test_nobody_attaches_files_to_someone_elses_dossier(world):
    code = world.ids["dossier"]
    world.headers["stranger"] = world.headers.get("stranger") or _account(world, "stranger", roles=("citizen",))

    def attachments():
        return len(world.call("GET", f"/api/dossiers/{code}", "citizen").get_json()["attachments"])

    before = attachments()
    upload = dict(data=pdf_upload(), content_type="multipart/form-data")
    assert world.call("POST", f"/api/dossiers/{code}/attachments", None, **upload).status_code == 401
    for who in ("stranger", "officer-b"):
        upload = dict(data=pdf_upload(), content_type="multipart/form-data")
        assert world.call("POST", f"/api/dossiers/{code}/attachments", who, **upload).status_code == 404, who
        upload = dict(data={"part": "birth", **pdf_upload()}, content_type="multipart/form-data")
        assert world.call("POST", f"/api/dossiers/{code}/supplements", who, **upload).status_code == 404, who
    assert attachments() == before
    upload = dict(data=pdf_upload(), content_type="multipart/form-data")
    assert world.call("POST", f"/api/dossiers/{code}/attachments", "citizen", **upload).status_code == 201
    assert attachments() == before + 1


def test_sequential_dossier_codes_reveal_nothing(world):
    code = world.ids["dossier"]
    world.headers["stranger"] = world.headers.get("stranger") or _account(world, "stranger", roles=("citizen",))
    prefix, number = code.rsplit("-", 1)
    neighbour = f"{prefix}-{int(number) + 1:04d}"  # the next code of the day: no such dossier
    for path in (f"/api/dossiers/{code}", f"/api/dossiers/{code}/declarations/birth.pdf"):
        assert world.call("GET", path, None).status_code == 401
        mine = world.call("GET", path, "stranger")
        absent = world.call("GET", path.replace(code, neighbour), "stranger")
        # Someone else's dossier answers exactly as one that does not exist.
        assert mine.status_code == absent.status_code == 404
        assert mine.get_json()["type"] == absent.get_json()["type"]
        assert MOTHER_ID not in mine.get_data(as_text=True)
    assert world.call("GET", "/api/dossiers", "stranger").get_json() == []
    assert world.call("GET", f"/api/dossiers/{code}", "citizen").status_code == 200


def _quickstart_task(world) -> tuple[str, str]:
    """A fresh quickstart instance of agency A (started by its officer); its review task."""
    started = world.call("POST", "/engine-rest/process-definition/key/quickstart/start", "officer", json={})
    assert started.status_code == 200, started.get_data(as_text=True)
    instance = started.get_json()["id"]
    [task] = world.call("GET", "/engine-rest/task", "officer", query_string={"processInstanceId": instance}).get_json()
    return instance, task["id"]


APPROVE = {"variables": {"decision": {"value": "approve"}}}


def test_x_user_id_has_no_effect_outside_the_candidate_group(world):
    _, task = _quickstart_task(world)
    world.headers["police"] = world.headers.get("police") or _account(
        world, "police", roles=("officer",), groups=("cong-an",), agency="H19.87.001")
    pretend = {"X-User-Id": world.user("officer")}
    assert world.call("GET", f"/engine-rest/task/{task}", "police", headers=pretend).status_code == 404
    assert world.call("GET", f"/engine-rest/task/{task}/form-variables", "police", headers=pretend).status_code == 404
    assert world.call("POST", f"/engine-rest/task/{task}/claim", "police", headers=pretend,
                      json={"userId": world.user("police")}).status_code == 404
    assert world.call("POST", f"/engine-rest/task/{task}/complete", "police", headers=pretend, json=APPROVE).status_code == 404
    listed = world.call("GET", "/engine-rest/task", "police", headers=pretend).get_json()
    assert task not in [t["id"] for t in listed]
    assert world.call("GET", f"/engine-rest/task/{task}", "officer").status_code == 200


def test_a_claimed_task_is_completed_by_its_assignee_and_a_supervisor_reassigns_it(world):
    instance, task = _quickstart_task(world)
    world.headers["colleague"] = world.headers.get("colleague") or _account(
        world, "colleague", roles=("officer",), groups=("officers",), agency="H19.87.001")
    officer, colleague = world.user("officer"), world.user("colleague")
    assert world.call("POST", f"/engine-rest/task/{task}/claim", "officer", json={"userId": officer}).status_code == 204
    # A colleague of the same group, pretending to be the assignee, is refused.
    pretend = {"X-User-Id": officer}
    refused = world.call("POST", f"/engine-rest/task/{task}/complete", "colleague", headers=pretend, json=APPROVE)
    assert refused.status_code == 403 and officer in refused.get_json()["message"]
    assert world.call("POST", f"/engine-rest/task/{task}/claim", "colleague",
                      json={"userId": officer}).status_code == 403  # claiming for someone else
    assert world.call("POST", f"/engine-rest/task/{task}/assignee", "colleague", json={"userId": colleague}).status_code == 403
    # The supervisor reassigns; the new assignee completes, with a header naming someone else.
    assert world.call("POST", f"/engine-rest/task/{task}/assignee", "supervisor", json={"userId": colleague}).status_code == 204
    assert world.call("POST", f"/engine-rest/task/{task}/complete", "officer", json=APPROVE).status_code == 403
    done = world.call("POST", f"/engine-rest/task/{task}/complete", "colleague", headers={"X-User-Id": "mallory"},
                      json=APPROVE)
    assert done.status_code == 204, done.get_data(as_text=True)
    # The acting user is the login: the user-operation log names the logins, never the header.
    operations = world.call("GET", "/engine-rest/history/user-operation", "auditor",
                            query_string={"processInstanceId": instance}).get_json()
    by_type = {op["operationType"]: op["userId"] for op in operations}
    assert by_type["Claim"] == officer
    assert by_type["Assign"] == world.user("supervisor")
    assert by_type["Complete"] == colleague
    assert "mallory" not in {op["userId"] for op in operations}


# --- the audit trail ---------------------------------------------------------------------------


def test_reads_of_personal_data_are_recorded_with_who_when_and_where(world):
    code, ids = world.ids["dossier"], world.ids
    elsewhere = {"environ_base": {"REMOTE_ADDR": ELSEWHERE}}
    assert world.call("GET", f"/api/dossiers/{code}", "citizen", **elsewhere).status_code == 200
    assert world.call("GET", f"/api/dossiers/{code}/declarations/birth.pdf", "officer", **elsewhere).status_code == 200
    assert world.call("GET", _task_url(world, "/form-variables"), "officer", **elsewhere).status_code == 200
    assert world.call("GET", f"/engine-rest/process-instance/{ids['instance']}/variables", "supervisor",
                      **elsewhere).status_code == 200
    reads = {(e["resource"], e["actor"]): e for e in _audit(world, dossierCode=code, action="read", maxResults=1000)
             if e["remoteAddr"] == ELSEWHERE}
    expected = {("dossier", world.user("citizen")), ("declaration", world.user("officer")),
                ("task-variables", world.user("officer")), ("instance-variables", world.user("supervisor"))}
    assert expected <= set(reads), sorted(reads)
    declaration = reads[("declaration", world.user("officer"))]
    assert declaration["resourceId"] == f"{code}/birth"
    assert declaration["roles"] == ["officer"] and declaration["agency"] == "H19.87.001"
    assert declaration["status"] == 200 and declaration["method"] == "GET"
    assert declaration["endpoint"] == "dossiers.declaration_pdf"
    assert declaration["at"].startswith(MONDAY_9AM.isoformat()[:19])  # the service's clock
    assert reads[("task-variables", world.user("officer"))]["resourceId"] == ids["task"]


def test_changes_and_refused_calls_are_recorded(world):
    _, task = _quickstart_task(world)
    assert world.call("POST", f"/engine-rest/task/{task}/claim", "officer",
                      json={"userId": world.user("officer")}).status_code == 204
    [claim] = _audit(world, resourceId=task, action="change")
    assert (claim["actor"], claim["resource"], claim["endpoint"], claim["status"]) == (
        world.user("officer"), "task", "task.claim", 204)
    job = f"/engine-rest/job/{world.ids['job']}/retries"
    assert world.call("PUT", job, None, json={"retries": 9}, environ_base={"REMOTE_ADDR": ELSEWHERE}).status_code == 401
    assert world.call("PUT", job, "officer", json={"retries": 9}).status_code == 403
    denied = _audit(world, resourceId=world.ids["job"], action="denied")
    assert {(e["actor"], e["status"]) for e in denied} >= {(None, 401), (world.user("officer"), 403)}
    anonymous = next(e for e in denied if e["actor"] is None)
    assert anonymous["remoteAddr"] == ELSEWHERE and anonymous["path"] == job
    # A refused read of personal data is recorded as denied, and recorded as no read.
    path = f"/engine-rest/process-instance/{world.ids['instance']}/variables"
    assert world.call("GET", path, "auditor").status_code == 403
    assert _audit(world, actor=world.user("auditor"), resourceId=world.ids["instance"], action="denied")
    assert not _audit(world, actor=world.user("auditor"), resource="instance-variables", action="read")


def test_a_filing_and_the_work_on_a_dossier_are_found_by_its_code(world):
    """An auditor asking "who touched dossier X" finds its filing and the officers' work on its task."""
    filed = world.call("POST", "/api/dossiers", "citizen", json={"procedure": "death", "declaration": death_declaration()})
    assert filed.status_code == 201, filed.get_data(as_text=True)
    code = filed.get_json()["code"]
    [filing] = _audit(world, dossierCode=code, action="change")
    assert (filing["actor"], filing["endpoint"], filing["resourceId"]) == (world.user("citizen"), "dossiers.file_dossier", code)
    dossier_task = world.ids["task"]
    assert world.call("POST", f"/engine-rest/task/{dossier_task}/claim", "officer",
                      json={"userId": world.user("officer")}).status_code == 204
    assert world.call("POST", f"/engine-rest/task/{dossier_task}/unclaim", "officer").status_code == 204
    changes = _audit(world, dossierCode=world.ids["dossier"], action="change", resource="task")
    assert {e["endpoint"] for e in changes} >= {"task.claim", "task.unclaim"}


def test_variables_handed_to_a_remote_worker_are_recorded_as_reads(world):
    started = world.call("POST", "/engine-rest/process-definition/key/remote_worker/start", "admin",
                         json={"businessKey": "EXT-AUDIT", "variables": {"region": {"value": "south"}}})
    assert started.status_code == 200
    fetched = world.call("POST", "/engine-rest/external-task/fetchAndLock", "service", json={
        "workerId": "audited", "maxTasks": 1, "topics": [{"topicName": "clients.score", "lockDuration": 60000,
                                                          "businessKey": "EXT-AUDIT"}]})
    [locked] = fetched.get_json()
    assert locked["variables"]["region"]["value"] == "south"
    [read] = _audit(world, resourceId=locked["id"], action="read")
    assert (read["actor"], read["resource"], read["dossierCode"]) == (world.user("service"), "external-task-variables", "EXT-AUDIT")


def test_variables_returned_by_a_completion_are_recorded_as_reads(world):
    instance, task = _quickstart_task(world)
    done = world.call("POST", f"/engine-rest/task/{task}/complete", "officer",
                      json={**APPROVE, "withVariablesInReturn": True})
    assert done.status_code == 200 and done.get_json()["decision"]["value"] == "approve"
    [read] = _audit(world, resourceId=instance, action="read")
    assert (read["actor"], read["resource"]) == (world.user("officer"), "instance-variables")


def test_the_trail_is_for_auditors_filtered_and_paged(world):
    for role in (None, "citizen", "officer", "supervisor", "analyst", "operator", "service"):
        expected = 401 if role is None else 403
        for path in ("/api/audit", "/api/audit/count", "/engine-rest/history/user-operation",
                     "/engine-rest/history/user-operation/count"):
            assert world.call("GET", path, role).status_code == expected, (path, role)
    total = world.call("GET", "/api/audit/count", "auditor").get_json()["count"]
    assert total > 10
    # (Reading the trail adds to it: page over the refused calls, which the reads do not change.)
    first_two = _audit(world, action="denied", maxResults=2)
    assert len(first_two) == 2 and first_two[0]["id"] > first_two[1]["id"]  # newest first
    assert _audit(world, action="denied", maxResults=1, firstResult=1)[0]["id"] == first_two[1]["id"]
    too_many = world.call("GET", "/api/audit", "auditor", query_string={"maxResults": 1001})
    assert too_many.status_code == 400 and "maxResults" in too_many.get_json()["fieldErrors"]
    bad = world.call("GET", "/api/audit", "auditor", query_string={"action": "erase", "after": "yesterday"})
    assert bad.status_code == 400 and {"action", "after"} <= set(bad.get_json()["fieldErrors"])
    # after/before are exclusive bounds on `at` (every entry here is at the world's 09:00).
    assert _audit(world, after="2026-11-30T01:59:59Z", before="2026-11-30T02:00:01Z", maxResults=1)
    assert _audit(world, after="2026-11-30T02:00:00Z") == []
    assert world.call("GET", "/api/audit/count", "auditor",
                      query_string={"actor": world.user("nobody")}).get_json() == {"count": 0}
    # Reading the trail is itself on the trail.
    assert _audit(world, actor=world.user("auditor"), resource="audit-log", action="read")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"])
def test_the_trail_is_append_only_in_the_database(world, statement):
    before = world.call("GET", "/api/audit/count", "auditor").get_json()["count"]
    with pytest.raises(Exception, match="append-only"):
        with world.engine.db.session() as session:
            session.execute(text(statement))
    after = world.call("GET", "/api/audit/count", "auditor").get_json()["count"]
    assert after >= before and not _audit(world, actor="someone-else")


# --- last: it changes the deployed birth diagram for the rest of the module ------------------------


def test_only_an_analyst_redeploys_a_diagram(world):
    original = workflow_files()["birth_linked.bpmn"]
    anyone = re.sub(rb'camunda:candidateGroups="[^"]*"', b'camunda:candidateGroups="anyone"', original)
    assert anyone != original

    def deploy(role):
        from io import BytesIO

        return world.call("POST", "/engine-rest/deployment/create", role, content_type="multipart/form-data",
                          data={"deployment-name": "anyone", "data": (BytesIO(anyone), "birth_linked.bpmn")})

    def version():
        return world.call("GET", "/engine-rest/process-definition/key/birth_linked", "analyst").get_json()["version"]

    before = version()
    assert deploy(None).status_code == 401
    for role in ("citizen", "officer", "supervisor", "operator", "auditor", "service"):
        assert deploy(role).status_code == 403, role
    assert version() == before
    deployed = deploy("analyst")
    assert deployed.status_code == 200, deployed.get_data(as_text=True)
    assert version() == before + 1


def test_an_officer_without_an_agency_cannot_start_an_instance_every_agency_would_see(client, engine):
    from tests.auth import as_user

    quickstart = (Path(__file__).resolve().parent.parent / "examples" / "quickstart.bpmn").read_bytes()
    assert client.post("/engine-rest/deployment/create", data={"data": (io.BytesIO(quickstart), "quickstart.bpmn")},
                       content_type="multipart/form-data").status_code == 200
    homeless = as_user(engine.db, "vo-chu", roles=("officer",), groups=("officers",))
    refused = client.post("/engine-rest/process-definition/key/quickstart/start", json={}, headers=homeless)
    assert refused.status_code == 403 and "no agency" in refused.get_json()["message"]
    placed = as_user(engine.db, "co-chu", roles=("officer",), groups=("officers",), agency="H19.87.001")
    started = client.post("/engine-rest/process-definition/key/quickstart/start", json={}, headers=placed)
    assert started.status_code == 200
    assert client.get(f"/engine-rest/process-instance/{started.get_json()['id']}", headers=placed).status_code == 200
