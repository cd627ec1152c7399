"""Schemathesis over the whole OpenAPI document (issue 14): every operation of /openapi.json, called
as an administrator with generated parameters and bodies, answers no 5xx and only what its schema
says. Half the calls of an operation with path parameters name real rows of the seeded world (a
dossier, a task, an instance, a job, an incident, an external task...), so they reach the route's
work instead of stopping at 404 (the links a stateful run would follow, taken from the seed).

Bounded: FUZZ_EXAMPLES generated calls per operation (default 12), on SQLite and on PostgreSQL;
about a minute each. The figures (requests, operations, status classes) are printed."""
from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.access_world import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = (not_a_server_error, response_schema_conformance)


def _known(world, path: str) -> dict[str, str]:
    """Real values for the path parameters of `path`, from the seeded world."""
    ids = world.ids
    by_route = [
        ("/deployment/", {"deployment_id": ids["deployment"]}),
        ("/decision-definition/key/", {"key": ids["decision_key"]}),
        ("/decision-definition/", {"definition_id": ids["decision_definition"]}),
        ("/process-definition/key/", {"key": "quickstart"}),
        ("/process-definition/", {"definition_id": ids["quickstart_definition"]}),
        ("/process-instance/", {"instance_id": ids["instance"], "name": ids["variable"]}),
        ("/history/process-instance/", {"instance_id": ids["instance"]}),
        ("/external-task/", {"task_id": ids["external_task"]}),
        ("/task/", {"task_id": ids["task"]}),
        ("/incident/", {"incident_id": ids["incident"]}),
        ("/job/", {"job_id": ids["job"]}),
        ("/api/dossiers/", {"code": ids["dossier"], "form": "birth"}),
    ]
    return next((values for prefix, values in by_route if prefix in path), {})


def test_every_operation_answers_no_5xx_and_within_its_schema(world, capsys):  # noqa: F811
    headers = world.headers["admin"]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", world.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    chance = random.Random(14)
    figures: Counter = Counter()
    failures: dict[str, list[str]] = defaultdict(list)
    began = time.monotonic()
    for operation in operations:
        known = _known(world, operation.path)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def call(case):
            if case.path_parameters and chance.random() < 0.5:
                case.path_parameters = {**case.path_parameters,
                                        **{k: v for k, v in known.items() if k in case.path_parameters}}
            if isinstance(case.body, dict) and isinstance(case.body.get("asyncResponseTimeout"), int):
                # a long poll waits for its whole timeout when no task comes: up to 30 min a call
                case.body["asyncResponseTimeout"] = min(case.body["asyncResponseTimeout"], 200)
            response = case.call(headers=headers)
            figures["requests"] += 1
            figures[f"{response.status_code // 100}xx"] += 1
            for check in CHECKS:
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except BaseException as exc:  # schemathesis's FailureGroup is a BaseExceptionGroup
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    failures[operation.label].append(
                        f"{check.__name__}: {case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{str(exc).strip().splitlines()[2:6]}")
                    if os.environ.get("FUZZ_DUMP"):
                        with open(os.environ["FUZZ_DUMP"], "a") as dump:
                            dump.write(f"== {operation.label}\n{exc}\n")

        call()
    with capsys.disabled():
        print(f"\n[schemathesis] {len(operations)} operations, {dict(figures)}, "
              f"{time.monotonic() - began:.0f} s")
    assert not failures, "\n".join(f"{label}: {len(found)} x, e.g. {found[0]}" for label, found in failures.items())
