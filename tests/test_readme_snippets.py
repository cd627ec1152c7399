"""The README's worker snippets run as written (issue 18): the Python worker and the JavaScript
worker (saved as an ES module, as the README says), each logging in as the service account the
README creates, against a live server whose address replaces the README's 127.0.0.1:8080. Each
serves the remote_worker.bpmn instances: an adult is scored and reaches the officers' task, a
minor is refused by the diagram's error boundary. (The README's handler example is the real
handler, kept identical by tests/test_readme.py.)"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.auth import ensure_account
from tests.live import Rest, live_server, wait_for

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DIAGRAM = ROOT / "tests" / "clients" / "remote_worker.bpmn"
BASE = "http://127.0.0.1:8080"


def snippet(language: str) -> str:
    section = README.split("## A remote worker in Python", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"^```{language}\n(.*?)^```$", section, re.S | re.M).group(1)


def serve_with(engine, tmp_path, command: list[str], source: str, filename: str):
    """Run the snippet until an adult's and a minor's instances are decided; answers (adult, minor) tasks."""
    with live_server(engine, worker=False) as base:
        rest = Rest(base)
        # As the README says: a service account that may fetch only its topic.
        user, password = ensure_account(engine.db, "scoring-service", roles=("service",), topics=("clients.score",))
        files = [("data", (DIAGRAM.name, DIAGRAM.read_bytes(), "application/octet-stream"))]
        rest.call("POST", "/deployment/create", files=files, data={"deployment-name": "readme-worker"})
        ids = {case: rest.post("/process-definition/key/remote_worker/start", {
            "businessKey": f"README-{case}", "variables": {"age": {"value": age, "type": "Integer"}}})["id"]
            for case, age in (("adult", 30), ("minor", 15))}
        script = tmp_path / filename
        script.write_text(source.replace(BASE, base), encoding="utf-8")
        worker = subprocess.Popen(command + [str(script)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env={**os.environ, "SCORING_PASSWORD": password})
        try:
            def decided(case):
                if worker.poll() is not None:
                    raise AssertionError(f"the snippet exited with {worker.returncode}: {worker.stdout.read()}")
                return rest.get("/task", params={"processInstanceId": ids[case]})
            adult = wait_for(lambda: decided("adult"), lambda tasks: len(tasks) == 1, timeout=30)
            minor = wait_for(lambda: decided("minor"), lambda tasks: len(tasks) == 1, timeout=30)
            score = rest.get(f"/process-instance/{ids['adult']}/variables")["score"]["value"]
        finally:
            worker.terminate()
            worker.communicate(timeout=10)
    return adult[0]["taskDefinitionKey"], minor[0]["taskDefinitionKey"], score


@pytest.mark.slow
def test_the_readme_python_worker_runs_as_written(engine, tmp_path):
    accepted, refused, score = serve_with(engine, tmp_path, [sys.executable], snippet("python"), "worker.py")
    assert (accepted, refused, score) == ("Task_Accepted", "Task_Rejected", 80)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CI") and not (ROOT / "node_modules" / "camunda-external-task-client-js").is_dir(),
                    reason="node_modules missing: run npm ci (CI runs this test)")
def test_the_readme_javascript_worker_runs_as_written(engine, tmp_path):
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")  # as `npm install` beside worker.mjs would
    accepted, refused, score = serve_with(engine, tmp_path, [shutil.which("node") or "node"], snippet("js"), "worker.mjs")
    assert (accepted, refused, score) == ("Task_Accepted", "Task_Rejected", 80)
