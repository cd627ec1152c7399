"""A client generated from /openapi.json (openapi-python-client, into a temporary folder: no
generated code is committed) walks a birth dossier from filing to completion against a live server,
as the provincial portal and the agencies' systems would (issue 18). The declaration is built with
the generated models, so a change to the declaration, the filing, the status or the task routes
that the document does not say breaks this test."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import requests

from dossiers.service import DEFAULT_AGENCY_CODE
from engine.clock import ManualClock
from tests.auth import ensure_account
from tests.live import wait_for
from tests.portal import MONDAY_9AM, running_service

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "lienthong_client"
# PDFs are files to the client, as octet streams; the rendered form is HTML.
CONFIG = f"""\
project_name_override: {PACKAGE}
package_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
  application/xhtml+xml: text/html
"""
GROUPS = ("tu-phap-ho-tich", "cong-an", "bhxh")


def generate(base: str, folder: Path):
    """The client package generated from the live server's document, imported."""
    (folder / "openapi.json").write_bytes(requests.get(f"{base}/openapi.json", timeout=30).content)
    (folder / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).parent / "openapi-python-client"
    run = subprocess.run([str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta", "none"],
                         cwd=folder, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # A schema the generator cannot read is dropped from the client with a warning: that is a broken contract.
    assert "Warning" not in run.stdout and "WARNING" not in run.stdout, run.stdout
    _import_unset(folder / PACKAGE)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def _import_unset(package: Path) -> None:
    """openapi-python-client 0.29's template for a body with several media types (our filing: JSON or
    multipart) writes `| Unset = UNSET` without importing `Unset` (a Jinja `set` inside a loop does
    not outlive it); the generator's own fix is to import it, which is all this does."""
    for path in package.glob("api/*/*.py"):
        text = path.read_text()
        if "| Unset = UNSET" in text and "import Response, UNSET\n" in text:
            path.write_text(text.replace("import Response, UNSET\n", "import Response, UNSET, Unset\n"))


def module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    with running_service(database, ManualClock(MONDAY_9AM), "birth") as portal:
        yield portal, database


def test_a_generated_client_walks_a_birth_dossier_from_filing_to_completion(service, tmp_path):
    portal, database = service
    started = time.monotonic()
    client = generate(portal.base, tmp_path)
    generated = time.monotonic() - started
    example = json.loads((ROOT / "examples" / "birth_declaration.json").read_text(encoding="utf-8"))

    def as_user(user, **account):
        return client.Client(base_url=portal.base, raise_on_unexpected_status=True, timeout=httpx.Timeout(30),
                             httpx_args={"auth": ensure_account(database, user, **account)})

    citizen = as_user(example["requester"]["idNumber"], roles=("citizen",))
    officers = {group: as_user(f"officer.{group}", roles=("officer",), groups=(group,), agency=DEFAULT_AGENCY_CODE)
                for group in GROUPS}
    models = module("models")
    file_dossier = module("api.dossiers.post_api_dossiers")
    dossier_status = module("api.dossiers.get_api_dossiers_code")
    declaration_pdf = module("api.dossiers.get_api_dossiers_code_declarations_form_pdf")
    tasks = module("api.task.get_engine_rest_task")
    complete = module("api.task.post_engine_rest_task_task_id_complete")

    # The types refuse what they can; the server names the rest, as a typed Error.
    with pytest.raises(ValueError):
        models.BirthDeclaration.from_dict({**example, "child": {**example["child"], "sex": "unknown"}})
    wrong = models.BirthDeclaration.from_dict({**example, "child": {**example["child"], "dateOfBirth": "2030-01-01"}})
    refused = file_dossier.sync(client=citizen, body=models.DossierFiling(
        procedure=models.DossierFilingProcedure.BIRTH, declaration=wrong))
    assert isinstance(refused, models.Error)
    assert "declaration.child.dateOfBirth" in refused.field_errors.additional_properties

    declaration = models.BirthDeclaration.from_dict(example)
    assert declaration.child.sex == models.BirthChildSex.MALE
    filed = file_dossier.sync(client=citizen, body=models.DossierFiling(
        procedure=models.DossierFilingProcedure.BIRTH, declaration=declaration))
    assert isinstance(filed, models.FiledDossier), filed
    assert filed.code.startswith(DEFAULT_AGENCY_CODE) and filed.tracking_secret
    assert [part.part for part in filed.parts] == example["parts"]

    approve = models.TaskCompleteBody.from_dict({"variables": {"decision": {"value": "approve"},
                                                               "note": {"value": "Hồ sơ hợp lệ"}}})
    for group in GROUPS:
        inbox = wait_for(lambda: tasks.sync(client=officers[group], candidate_group=group,
                                            process_instance_business_key=filed.code), lambda found: len(found) == 1, timeout=30)
        assert isinstance(inbox[0], models.Task)
        complete.sync(inbox[0].id, client=officers[group], body=approve)

    final = wait_for(lambda: dossier_status.sync(filed.code, client=citizen), lambda s: s.state == "completed", timeout=30)
    assert isinstance(final, models.DossierStatus)
    assert {part.part: part.state for part in final.parts} == {"birth": "approved", "residence": "approved", "bhyt": "approved"}
    assert final.parts[0].result.additional_properties["birthCertificateNumber"]
    pdf = declaration_pdf.sync(filed.code, "birth", client=citizen)
    assert pdf.payload.read(5) == b"%PDF-"
    walked = time.monotonic() - started - generated
    print(f"generated the client in {generated:.1f}s; walked the dossier in {walked:.1f}s")
