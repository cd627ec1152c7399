"""The operator's commands: migrate, deploy, jobs, incidents (on the embedded SQLite database)."""
from __future__ import annotations

from click.testing import CliRunner

from engine.clock import ManualClock
from engine.db import Database
from engine.handler_registry import HandlerRegistry
from engine.service import ProcessEngine
from lienthong.cli import main
from tests.conftest import FIXTURES


def test_deploy_then_look_at_the_queue_and_the_incidents(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    # The topic is served by a handler of this test, so the CLI is told it is served elsewhere.
    env = {"DATABASE_URL": url, "LIENTHONG_LOG_FORMAT": "text", "LIENTHONG_EXTERNAL_TOPICS": "engine.*"}

    assert runner.invoke(main, ["migrate"], env=env).exit_code == 0
    deployed = runner.invoke(main, ["deploy", str(FIXTURES / "engine" / "service_handler.bpmn")], env=env)
    assert deployed.exit_code == 0, deployed.output
    assert "deployed: process engine_service v1" in deployed.output

    refused = runner.invoke(main, ["deploy", str(FIXTURES / "bpmn" / "invalid_condition.bpmn")], env=env)
    assert refused.exit_code == 1
    assert "Flow_Large" in refused.output and "condition" in refused.output

    # A handler that keeps failing: its job shows in the queue, then as an incident.
    handlers = HandlerRegistry()
    handlers.register("engine.call", lambda task: (_ for _ in ()).throw(RuntimeError("agency system answered 503")))
    clock = ManualClock()
    engine = ProcessEngine(Database(url), handlers=handlers, clock=clock)
    instance_id = engine.start_instance("engine_service", {"applicant": "An"})
    queue = runner.invoke(main, ["jobs"], env=env)
    assert "service-task" in queue.output and "Task_Call" in queue.output and "1 job(s)" in queue.output

    for _ in range(3):
        engine.run_due_jobs()
        clock.advance(minutes=5)
    listed = runner.invoke(main, ["incidents"], env=env)
    assert listed.exit_code == 0
    assert "failedJob" in listed.output and "agency system answered 503" in listed.output
    assert instance_id[:8] in listed.output and "1 open incident(s)" in listed.output


def test_demo_birth_runs_one_dossier_through_every_step_and_prints_the_timeline(monkeypatch, tmp_path):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "birth", "--timeout", "60"], env={"LIENTHONG_LOG_FORMAT": "text",
                                                                                 "LIENTHONG_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    output = result.output
    assert "filed birth dossier H19.87.001-" in output and "(parts: birth, residence, bhyt)" in output
    for group in ("tu-phap-ho-tich", "cong-an", "bhxh"):
        assert f"  {group}: " in output and "approved" in output
    assert ": Đã hoàn thành in " in output
    timeline = output[output.index("\ntimeline:"):output.index("\nparts:")]
    assert timeline.index("Công dân nộp tờ khai liên thông") < timeline.index("Nhắn tin: hồ sơ đã hoàn thành")
    assert "bhytCardNumber=TE1" in output
    # The private service is gone: what the demo prints must outlive it (issue 18).
    saved = output[output.index("declarations, saved here"):].split("): ", 1)[1].split("\n")[0].split(", ")
    assert len(saved) == 3 and all(path.endswith(".pdf") for path in saved)
    for path in saved:
        assert (tmp_path / path).read_bytes().startswith(b"%PDF-")
