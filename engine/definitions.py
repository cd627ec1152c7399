"""From uploaded files to runnable definitions, and back from rows to specs (cached).

Parsing a deployment checks every file before anything is stored: DMN first (so BPMN files
can name their decisions), then each BPMN file's structure (engine/validation.py), then
SpiffWorkflow's own parse. The restored specs of a definition version are cached per process
and shared by every instance that runs on it.
"""
from __future__ import annotations

import hashlib
import threading
from copy import deepcopy
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import dmn
from .bpmn.parser import EngineParser
from .bpmn.serializer import spec_from_dict, spec_to_dict
from .bpmn.specs import ClockCycle, ClockDuration, ClockTimeDate
from .errors import DeploymentError, Problem
from .validation import BPMN, Reach, check_bpmn
from .xml import parse_untrusted

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2")
DMN_SUFFIXES = (".dmn", ".dmn11.xml", ".dmn13.xml")


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class ParsedProcess:
    key: str
    name: str | None
    version_tag: str | None
    resource_name: str
    checksum: str
    spec: dict  # {"spec": ..., "subprocesses": {...}} — embedded subprocesses only
    called_elements: list[str]
    decision_refs: list[str]
    start_messages: list[str]
    startable: bool
    # [{"activityId", "kind": date|duration|cycle, "expression"}]: scheduled per definition version
    start_timers: list[dict] = field(default_factory=list)


@dataclass
class ParsedDecision:
    key: str
    name: str | None
    version_tag: str | None
    resource_name: str
    checksum: str


@dataclass
class ParsedDeployment:
    processes: list[ParsedProcess] = field(default_factory=list)
    decisions: list[ParsedDecision] = field(default_factory=list)


_validator_lock = threading.RLock()  # lxml schema validation is not thread-safe
_validator: BpmnValidator | None = None


def _xsd() -> BpmnValidator:
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        return _validator


def parse_deployment(
    resources: dict[str, bytes], serves_topic, deployed_process_keys: set[str], deployed_decision_keys: set[str],
    has_form=lambda name: True,
) -> ParsedDeployment:
    """Parse and check every resource; raise DeploymentError listing every problem found."""
    if not resources:
        raise DeploymentError([Problem("(deployment)", None, "no file was sent")])
    problems: list[Problem] = []
    parsed = ParsedDeployment()
    bpmn_roots = {}
    for name, content in resources.items():
        lowered = name.lower()
        if lowered.endswith(DMN_SUFFIXES):
            try:
                for decision in dmn.parse_dmn(content, name):
                    parsed.decisions.append(
                        ParsedDecision(decision.key, decision.name, decision.version_tag, name, checksum(content))
                    )
            except DeploymentError as exc:
                problems.extend(exc.problems)
        elif lowered.endswith(BPMN_SUFFIXES):
            try:
                bpmn_roots[name] = parse_untrusted(content, name)
            except DeploymentError as exc:
                problems.extend(exc.problems)
        else:
            problems.append(Problem(name, None, "not a BPMN (.bpmn) or DMN (.dmn) file"))
    _refuse_duplicates([d.key for d in parsed.decisions], "decision", problems)

    reach = Reach(
        serves_topic,
        has_form,
        deployed_process_keys | {p.get("id") for root in bpmn_roots.values() for p in root.iter(f"{{{BPMN}}}process")},
        deployed_decision_keys | {d.key for d in parsed.decisions},
    )
    checked = {}
    for name, root in bpmn_roots.items():
        found = check_bpmn(root, name, reach)
        if not found:
            found = _xsd_problems(root, name)
        problems.extend(found)
        if not found:
            checked[name] = root
    if checked and not problems:
        parsed.processes = _build_specs(checked, {n: resources[n] for n in checked}, problems)
        _refuse_duplicates([p.key for p in parsed.processes], "process", problems)
    if problems:
        raise DeploymentError(problems)
    return parsed


def _refuse_duplicates(keys: list[str], kind: str, problems: list[Problem]) -> None:
    seen = set()
    for key in keys:
        if key in seen:
            problems.append(Problem("(deployment)", key, f"two {kind}es in this deployment have the id '{key}'"))
        seen.add(key)


def _xsd_problems(root, filename: str) -> list[Problem]:
    try:
        with _validator_lock:
            _xsd().validate(root, filename)
    except ValidationException as exc:
        return [Problem(filename, exc.id or None, f"not valid BPMN 2.0 (line {exc.line_number}): {exc}")]
    return []


# Data stores and data objects document where information lives; Camunda 7 executes none of them
# (variables are the data). SpiffWorkflow would want an implementation for each store and would
# move variables in and out of data objects, so the specs are built without them.
DOCUMENTATION_ONLY = ("dataStore", "dataStoreReference", "dataObject", "dataObjectReference",
                      "dataInputAssociation", "dataOutputAssociation")


def without_data(root):
    copy = deepcopy(root)
    for element in [e for name in DOCUMENTATION_ONLY for e in copy.iter(f"{{{BPMN}}}{name}")]:
        element.getparent().remove(element)
    return copy


def _build_specs(roots: dict, contents: dict[str, bytes], problems: list[Problem]) -> list[ParsedProcess]:
    parser = EngineParser()
    processes = []
    try:
        for name, root in roots.items():
            parser.add_bpmn_xml(without_data(root), name)
        for name, root in roots.items():
            for process in root.iter(f"{{{BPMN}}}process"):
                if process.get("isExecutable") == "true":
                    processes.append(_build_process(parser, process, name, contents[name]))
    except ValidationException as exc:
        problems.append(Problem(exc.file_name or "(deployment)", exc.id or None, str(exc).split("\n")[0]))
    except SpiffWorkflowException as exc:
        problems.append(Problem("(deployment)", None, str(exc)))
    return processes


def _build_process(parser: EngineParser, process, filename: str, content: bytes) -> ParsedProcess:
    key = process.get("id")
    spec = parser.get_spec(key)
    embedded, called, decisions = {}, set(), set()
    _collect(parser, spec, embedded, called, decisions)
    starts = spec.start.outputs  # the process's top-level start events
    start_timers = _lift_start_timers(starts)
    start_messages = sorted({ts.event_definition.name for ts in starts if ts.extensions["activityType"] == "messageStartEvent"})
    startable = any(ts.extensions["activityType"] == "startEvent" for ts in starts)
    return ParsedProcess(
        key=key,
        name=process.get("name"),
        version_tag=process.get("{http://camunda.org/schema/1.0/bpmn}versionTag"),
        resource_name=filename,
        checksum=checksum(content),
        spec={"spec": spec_to_dict(spec), "subprocesses": {n: spec_to_dict(s) for n, s in embedded.items()}},
        called_elements=sorted(called),
        decision_refs=sorted(decisions),
        start_messages=start_messages,
        startable=startable,
        start_timers=start_timers,
    )


_TIMER_KINDS = {ClockTimeDate: "date", ClockDuration: "duration", ClockCycle: "cycle"}


def _lift_start_timers(starts) -> list[dict]:
    """A timer start event's schedule belongs to the definition (a job starts each instance);
    inside the instance the event is then a plain start."""
    timers = []
    for start in starts:
        kind = _TIMER_KINDS.get(type(getattr(start, "event_definition", None)))
        if kind is not None:
            timers.append({"activityId": start.bpmn_id, "kind": kind, "expression": start.event_definition.expression})
            start.event_definition = NoneEventDefinition()
    return timers


def _collect(parser, spec, embedded: dict, called: set, decisions: set) -> None:
    for task_spec in spec.task_specs.values():
        extensions = getattr(task_spec, "extensions", {}) or {}
        if extensions.get("decisionRef"):
            decisions.add(extensions["decisionRef"])
        if isinstance(task_spec, CallActivity):
            called.add(task_spec.spec)
        elif isinstance(task_spec, SubWorkflowTask) and task_spec.spec not in embedded:
            embedded[task_spec.spec] = parser.get_spec(task_spec.spec)
            _collect(parser, embedded[task_spec.spec], embedded, called, decisions)


class SpecCache:
    """Restored specs per definition id, and parsed decisions per decision definition id."""

    def __init__(self):
        self._processes: dict[str, tuple] = {}
        self._decisions: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def process(self, definition_id: str, load_spec) -> tuple:
        """(spec, {embedded subprocess name: spec}) of a definition; load_spec() gives its stored dict."""
        cached = self._processes.get(definition_id)
        if cached is None:
            stored = load_spec()
            cached = (spec_from_dict(stored["spec"]), {n: spec_from_dict(s) for n, s in stored["subprocesses"].items()})
            with self._lock:
                self._processes[definition_id] = cached
        return cached

    def decision(self, definition_id: str, key: str, load_resource) -> tuple:
        """(decision, {key: decision of the same file}) of a decision definition."""
        cached = self._decisions.get(definition_id)
        if cached is None:
            name, content = load_resource()
            siblings = {d.key: d for d in dmn.parse_dmn(content, name)}
            cached = (siblings[key], siblings)
            with self._lock:
                self._decisions[definition_id] = cached
        return cached
