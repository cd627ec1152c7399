"""The birth dossier's path run by SpiffWorkflow alone, in memory: the yardstick of lifecycle.py.

The diagram is parsed once (the engine's CamundaParser subclass, so the external service tasks,
user tasks and `${...}` conditions mean what they mean in the service; its expression engine
evaluates the conditions). Each dossier then takes the path the service takes, one command at a
time as the service commits them: every service task completed with the result its handler
would give (fixed, computed once here), the three officers' tasks with decision=approve, the
BHYT card message delivered. Around each command the workflow is serialized with SpiffWorkflow's
serializer to JSON text and read back, as at every wait state of the service.

What it leaves out is what the service adds: HTTP, the database, the rows the queries read,
history, the dossier status, the handlers' own work, logging.
"""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.parser import EngineParser
from engine.bpmn.script_engine import enter_scope, leave_scope, run_task, scope_of
from engine.bpmn.serializer import workflow_from_dict, workflow_to_dict
from engine.bpmn.specs import ExternalServiceTask
from engine.clock import SystemClock, default_zone
from engine.xml import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "workflows" / "birth_linked.bpmn"
EXAMPLE = ROOT / "examples" / "birth_declaration.json"
VIETNAM = default_zone()  # the service's default, as lienthong serve uses it
OFFICERS = ("Task_BirthReview", "Task_ResidenceReview", "Task_BhytReview")


def filing_variables() -> dict:
    """The variables DossierService.submit starts the instance with."""
    from forms.birth import BirthDeclarationSchema

    declaration = BirthDeclarationSchema().load(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    declaration = json.loads(json.dumps(declaration, default=str))  # as stored: JSON values
    now = datetime.now(timezone.utc)
    return {"dossierCode": "H19.87.001-261130-0001", "receivedAt": now.astimezone(VIETNAM).isoformat(),
            "declaration": declaration, "parts": declaration["parts"], "wantsResidence": True, "wantsBhyt": True,
            "delivery": declaration["delivery"]}


def handler_results(variables: dict) -> dict:
    """What each service task's handler returns, by activity id (computed once, outside the timing)."""
    from forms.extraction import extract_declarations

    received = datetime.fromisoformat(variables["receivedAt"])
    declarations = json.loads(json.dumps(extract_declarations(variables["declaration"], received_on=received.date()),
                                         default=str))
    due = lambda days: (received + timedelta(days=days)).astimezone(timezone.utc).isoformat()  # noqa: E731
    sms = {"lastSmsId": 1}
    today = date.today().isoformat()
    return {
        "Task_CheckIdentity": {"identityVerified": True, "householdId": "HK-0001"},
        "Task_CheckBirthCertificate": {"birthCertificateVerified": False},  # the example cites none
        "Task_Extract": {"declarations": declarations, "childCount": 1,  # as handlers/extraction.py returns them
                         "children": [{"fullName": variables["declaration"]["child"]["fullName"], "birth": "birth",
                                       "bhyt": "bhyt"}]},
        "Task_Print": {"printedDeclarations": ["birth", "residence", "bhyt"]},
        "Task_Deadlines": {"birthDue": due(0), "residenceDue": due(2), "bhytDue": due(2), "dossierDue": due(3)},
        "Task_NotifyReceived": sms,
        "Task_BirthHandoff": {"childIdNumber": "087226588451", "birthCertificateNumber": "1/2026",
                              "birthRegisteredOn": today},
        "Task_BirthNotifyDone": sms,
        "Task_PrintWithChildId": {"printedDeclarations": ["residence", "bhyt"]},
        "Task_LaterPartsDue": {"residenceDue": due(2), "bhytDue": due(2), "dossierDue": due(3),
                               "residenceStartedAt": variables["receivedAt"], "bhytStartedAt": variables["receivedAt"]},
        "Task_ResidenceHandoff": {"residenceRegisteredOn": today, "residenceAddress": "Ấp 1, xã Mỹ An, Đồng Tháp"},
        "Task_ResidenceNotifyDone": sms,
        "Task_BhytHandoff": {"bhytHandedOffOn": today},
        "Task_BhytNotifyDone": sms,
        "Task_Deliver": {"resultDelivery": {"method": "electronic", "documents": ["birth", "residence", "bhyt"]}},
        "Task_NotifyCompleted": sms,
    }


CARD = {"bhytCardNumber": "TE1877226588451", "bhytValidFrom": "2026-11-02", "bhytValidUntil": "2032-11-01"}


class RawBirth:
    def __init__(self):
        from lienthong.cli import build_engine  # noqa: F401 - registers the forms the parser may name

        parser = EngineParser()
        parser.add_bpmn_xml(parse_untrusted(DIAGRAM.read_bytes(), DIAGRAM.name), DIAGRAM.name)
        self.spec = parser.get_spec("birth_linked")
        self.subprocesses = parser.get_subprocess_specs("birth_linked")  # the withdrawal event subprocess
        from engine.bpmn.script_engine import ExpressionScriptEngine
        self.script_engine = ExpressionScriptEngine(SystemClock(), VIETNAM)
        self.variables = filing_variables()
        self.results = handler_results(self.variables)
        self.commands = 0

    # one command: read the stored state, act, run to the next wait state, store the state
    def _command(self, state: str, act) -> tuple[str, list[str]]:
        """(the new state, the service tasks now ready: what the service would queue as jobs)."""
        workflow = workflow_from_dict(json.loads(state), self.spec, self.subprocesses, self.script_engine)
        act(workflow)
        workflow.do_engine_steps(enter_scope, leave_scope)
        self.commands += 1
        return json.dumps(workflow_to_dict(workflow), ensure_ascii=False), self._queued(workflow)

    @staticmethod
    def _queued(workflow) -> list[str]:
        return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)
                if isinstance(t.task_spec, ExternalServiceTask)]

    def _drain_service_tasks(self, state: str, queued: list[str]) -> str:
        while queued:
            state, queued = self._command(state, lambda wf, b=queued[0]: self._run(wf, b, self.results[b]))
        return state

    @staticmethod
    def _run(workflow, bpmn_id: str, values: dict) -> None:
        task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == bpmn_id)
        run_task(task, values)

    def dossier(self) -> int:
        """One dossier from filing to the end; returns how many wait states it passed."""
        start = self.commands
        workflow = BpmnWorkflow(self.spec, self.subprocesses, script_engine=self.script_engine)
        scope_of(workflow).update(self.variables)
        workflow.do_engine_steps(enter_scope, leave_scope)
        state = json.dumps(workflow_to_dict(workflow), ensure_ascii=False)
        self.commands += 1
        state = self._drain_service_tasks(state, self._queued(workflow))
        for officer in OFFICERS:
            state = self._drain_service_tasks(*self._command(state, lambda wf, b=officer: self._user_task(wf, b)))
            if officer == "Task_BhytReview":
                state = self._drain_service_tasks(*self._command(state, self._card))
        workflow = workflow_from_dict(json.loads(state), self.spec, self.subprocesses, self.script_engine)
        if not workflow.completed:
            raise RuntimeError("the raw dossier did not reach its end: " +
                               ", ".join(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)))
        return self.commands - start

    @staticmethod
    def _user_task(workflow, bpmn_id: str) -> None:
        task = next(t for t in workflow.get_tasks(state=TaskState.READY)
                    if isinstance(t.task_spec, UserTask) and t.task_spec.bpmn_id == bpmn_id)
        run_task(task, {"decision": "approve", "note": "Hồ sơ hợp lệ"})

    @staticmethod
    def _card(workflow) -> None:
        scope_of(workflow).update(CARD)
        workflow.send_event(BpmnEvent(MessageEventDefinition("bhyt.card-issued"), payload=dict(CARD)))


def measure(dossiers: int) -> dict:
    """CPU and wall time per raw dossier (after one warm-up dossier)."""
    raw = RawBirth()
    raw.dossier()
    commands = raw.commands
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(dossiers):
        raw.dossier()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"dossiers": dossiers, "cpu_ms_per_dossier": cpu / dossiers * 1000, "wall_ms_per_dossier": wall / dossiers * 1000,
            "commands_per_dossier": commands}


if __name__ == "__main__":
    print(measure(20))
