"""The official Camunda external-task clients, unchanged, against a live server.

PyPI `camunda-external-task-client-python3` and npm `camunda-external-task-client-js` serve the
`clients.score` topic of tests/clients/remote_worker.bpmn over real HTTP. Four instances, told
apart by business key, take the four paths a remote worker can send a task down:

  ACCEPT    complete with {score: 80}                -> gateway -> Task_Accepted
  RETRY     failure (retries 2), then on the retry
            complete with {score: 20}                -> gateway default -> End_LowScore
  REJECT    BPMN error NOT_ELIGIBLE + {reason}       -> error boundary -> Task_Rejected
  INCIDENT  failure with retries 0 -> an incident; the test sets retries to 1 over HTTP,
            the worker gets the task again and completes with {score: 90} -> Task_Accepted

Everything is asserted over HTTP, as a client of the engine would see it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tests.auth import ensure_account
from tests.live import Rest, live_server, wait_for

CLIENTS = Path(__file__).parent / "clients"
DIAGRAM = CLIENTS / "remote_worker.bpmn"
JS_WORKER = CLIENTS / "js_worker.mjs"
JS_CLIENT = Path(__file__).parent.parent / "node_modules" / "camunda-external-task-client-js"
TOPIC = "clients.score"

AGES = {"ACCEPT": 30, "RETRY": 40, "REJECT": 15, "INCIDENT": 50}
FAILURE_MESSAGE = "Scoring service unavailable"
INCIDENT_MESSAGE = "Scoring rules missing"
DELIVERIES = 6  # ACCEPT 1, RETRY 2, REJECT 1, INCIDENT 2

# camunda-external-task-client-python3 4.5.0 uses pydantic v1-style validators.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Pydantic V1 style:DeprecationWarning")]


def deploy_and_start(rest: Rest, prefix: str) -> dict[str, str]:
    """Deploy the diagram as Modeler does, start one instance per case; case -> instance id."""
    files = [("data", (DIAGRAM.name, DIAGRAM.read_bytes(), "application/octet-stream"))]
    deployment = rest.call("POST", "/deployment/create", files=files, data={"deployment-name": "remote-worker"})
    assert [d["key"] for d in deployment["deployedProcessDefinitions"].values()] == ["remote_worker"]
    ids = {}
    for case, age in AGES.items():
        started = rest.post("/process-definition/key/remote_worker/start", {
            "businessKey": f"{prefix}-{case}", "variables": {"age": {"value": age, "type": "Integer"}}})
        ids[case] = started["id"]
    return ids


def drive_and_assert(rest: Rest, ids: dict[str, str], check_worker) -> None:
    """While a worker serves the topic: resolve the incident, then assert every outcome over HTTP.

    `check_worker()` raises if the worker has reported an error (so a broken client fails fast
    with its own message instead of a timeout).
    """

    def poll(fetch, predicate, timeout=20.0):
        def checked():
            check_worker()
            return fetch()
        return wait_for(checked, predicate, timeout=timeout)

    def tasks_of(case):
        return lambda: rest.get("/task", params={"processInstanceId": ids[case]})

    def history_of(case):
        return lambda: rest.get("/history/process-instance", params={"processInstanceId": ids[case]})

    # INCIDENT: retries 0 opens an incident, and the task is no longer fetched.
    [incident] = poll(lambda: rest.get("/incident", params={"processInstanceId": ids["INCIDENT"]}),
                      lambda rows: len(rows) == 1)
    assert incident["incidentType"] == "failedExternalTask"
    assert incident["activityId"] == "Task_Score"
    assert incident["incidentMessage"] == INCIDENT_MESSAGE
    [failed] = rest.get("/external-task", params={"processInstanceId": ids["INCIDENT"]})
    assert failed["id"] == incident["configuration"]
    assert failed["retries"] == 0
    assert failed["errorMessage"] == INCIDENT_MESSAGE
    assert failed["workerId"] is None
    no_retries = rest.get("/external-task", params={"topicName": TOPIC, "noRetriesLeft": "true"})
    assert [t["id"] for t in no_retries] == [failed["id"]]
    # An operator gives it one more try: the incident is resolved and the worker gets it again.
    rest.call("PUT", f"/external-task/{failed['id']}/retries", json={"retries": 1})
    assert rest.get("/incident", params={"processInstanceId": ids["INCIDENT"]}) == []

    # ACCEPT and INCIDENT: score >= 50, the officers' task is waiting.
    for case, score in (("ACCEPT", 80), ("INCIDENT", 90)):
        [task] = poll(tasks_of(case), lambda tasks: len(tasks) == 1)
        assert task["taskDefinitionKey"] == "Task_Accepted", case
        variables = rest.get(f"/process-instance/{ids[case]}/variables")
        assert variables["score"]["value"] == score, case
        assert variables["age"]["value"] == AGES[case], case
        assert rest.get("/external-task", params={"processInstanceId": ids[case]}) == []

    # REJECT: the BPMN error is caught by the boundary event, with the worker's variables.
    [rejected] = poll(tasks_of("REJECT"), lambda tasks: len(tasks) == 1)
    assert rejected["taskDefinitionKey"] == "Task_Rejected"
    assert [t["id"] for t in rest.get("/task", params={"candidateGroup": "officers", "processInstanceId": ids["REJECT"]})] \
        == [rejected["id"]]
    variables = rest.get(f"/process-instance/{ids['REJECT']}/variables")
    assert variables["reason"]["value"] == "under 18"
    assert "score" not in variables
    assert rest.get("/external-task", params={"processInstanceId": ids["REJECT"]}) == []

    # RETRY: completed on the second delivery with a low score, the default flow ended it.
    [history] = poll(history_of("RETRY"), lambda rows: len(rows) == 1 and rows[0]["state"] == "COMPLETED")
    activities = {a["activityId"] for a in rest.get("/history/activity-instance", params={"processInstanceId": ids["RETRY"]})}
    assert {"Task_Score", "Gateway_Score", "End_LowScore"} <= activities
    assert not activities & {"Task_Accepted", "Task_Rejected"}
    assert rest.get("/incident", params={"processInstanceId": ids["RETRY"]}) == []

    # Nothing is left for the topic.
    assert rest.get("/external-task", params={"topicName": TOPIC}) == []


# --------------------------------------------------------------------------------------- Python


def test_python_client_completes_fails_and_throws(engine):
    from camunda.external_task.external_task_worker import ExternalTaskWorker, NoExternalTaskFound

    with live_server(engine) as base:
        rest = Rest(base)
        ids = deploy_and_start(rest, "PY")
        attempts: dict[str, int] = {}
        seen_on_retry: list[dict] = []
        errors: list[BaseException] = []

        def handle(task):
            """A plain handler of the Python client: returns task.complete/failure/bpmn_error."""
            case = task.get_business_key().removeprefix("PY-")
            attempt = attempts[task.get_task_id()] = attempts.get(task.get_task_id(), 0) + 1
            if case == "ACCEPT":
                return task.complete({"score": 80})
            if case == "RETRY" and attempt == 1:
                return task.failure(FAILURE_MESSAGE, "HTTP 503 from the scoring service", max_retries=2, retry_timeout=0)
            if case == "RETRY":
                # The failure was recorded on the task: the engine reports it while we hold the lock.
                seen_on_retry.append(requests.get(f"{base}/engine-rest/external-task/{task.get_task_id()}",
                                                  auth=(user, password), timeout=10).json())
                return task.complete({"score": 20})
            if case == "REJECT":
                assert task.get_variable("age") == 15
                return task.bpmn_error("NOT_ELIGIBLE", "Applicant is under 18", {"reason": "under 18"})
            if case == "INCIDENT" and attempt == 1:
                return task.failure(INCIDENT_MESSAGE, "no rule for age 50", max_retries=0, retry_timeout=0)
            return task.complete({"score": 90})

        user, password = ensure_account(engine.db, "scoring-service", roles=("service",), topics=(TOPIC,))
        worker = ExternalTaskWorker(worker_id="py-worker", base_url=f"{base}/engine-rest", config={
            "auth_basic": {"username": user, "password": password}, "maxTasks": 1, "lockDuration": 10_000,
            "asyncResponseTimeout": 300, "httpTimeoutMillis": 10_000})
        stop = threading.Event()

        def serve():
            # `ExternalTaskWorker.subscribe` is `while True: <fetch_and_execute, errors swallowed>`
            # and cannot be cancelled; this is the same loop with a way out and errors kept.
            while not stop.is_set():
                try:
                    worker.fetch_and_execute(TOPIC, handle)
                except NoExternalTaskFound:
                    pass
                except BaseException as exc:  # noqa: BLE001 - reported by check_worker
                    errors.append(exc)
                    return

        def check_worker():
            if errors:
                raise AssertionError(f"the Python client failed: {errors[0]!r}") from errors[0]

        thread = threading.Thread(target=serve, name="camunda-python-client", daemon=True)
        thread.start()
        try:
            drive_and_assert(rest, ids, check_worker)
        finally:
            stop.set()
            thread.join(timeout=10)
        assert not thread.is_alive(), "the Python client's loop did not stop"
        check_worker()

    assert sorted(attempts.values()) == [1, 1, 2, 2]
    [retried] = seen_on_retry
    assert retried["retries"] == 2
    assert retried["errorMessage"] == FAILURE_MESSAGE
    assert retried["workerId"] == "py-worker"


# ------------------------------------------------------------------------------------------- JS


def _node_ready() -> str | None:
    """Why the JS test cannot run here, or None. Under CI nothing is skipped."""
    if os.environ.get("CI"):
        return None
    if shutil.which("node") is None:
        return "node is not installed (CI runs this test)"
    if not JS_CLIENT.is_dir():
        return "node_modules/camunda-external-task-client-js is missing: run `npm ci` (CI runs this test)"
    return None


@pytest.mark.skipif(_node_ready() is not None, reason=_node_ready() or "")
def test_js_client_completes_fails_and_throws(engine):
    with live_server(engine) as base:
        rest = Rest(base)
        ids = deploy_and_start(rest, "JS")
        user, password = ensure_account(engine.db, "scoring-service", roles=("service",), topics=(TOPIC,))
        process = subprocess.Popen(
            ["node", str(JS_WORKER), f"{base}/engine-rest", str(DELIVERIES)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "LIENTHONG_WORKER_USER": user, "LIENTHONG_WORKER_PASSWORD": password})

        def check_worker():
            if process.poll() not in (None, 0):
                raise AssertionError(f"the JS client exited with {process.returncode}: {process.stderr.read()}")

        try:
            drive_and_assert(rest, ids, check_worker)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, f"the JS client exited with {process.returncode}:\n{stderr}\n{stdout}"

    handled = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert len(handled) == DELIVERIES, stdout
    by_case: dict[str, list[dict]] = {}
    for item in handled:
        by_case.setdefault(item["businessKey"].removeprefix("JS-"), []).append(item)
    assert [h["action"] for h in by_case["ACCEPT"]] == ["complete"]
    assert [h["action"] for h in by_case["REJECT"]] == ["bpmnError"]
    assert [h["action"] for h in by_case["RETRY"]] == ["failure", "complete"]
    assert [h["action"] for h in by_case["INCIDENT"]] == ["failure", "complete"]
    # The fetched tasks carry what the engine recorded: fresh tasks have no retries yet; the retry
    # of the failed one has the retries and the error the worker reported.
    assert by_case["ACCEPT"][0]["retries"] is None
    first, retry = by_case["RETRY"]
    assert (first["retries"], first["errorMessage"]) == (None, None)
    assert (retry["retries"], retry["errorMessage"], retry["errorDetails"]) == (
        2, FAILURE_MESSAGE, "HTTP 503 from the scoring service")
    assert by_case["INCIDENT"][1]["retries"] == 1
    assert by_case["REJECT"][0]["age"] == 15
