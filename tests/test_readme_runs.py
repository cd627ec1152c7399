"""The README is executed (issue 18): every block fenced ```sh runs, as written, in one bash
session against a live server that starts as `make run` does (workflows/ deployed, the first
accounts created), with `.venv/bin/lienthong` working on the server's database through
DATABASE_URL. The server listens on a free port: the blocks' http://127.0.0.1:8080 is replaced by
its address (port 8080 may be taken on a shared machine); nothing else is changed. Blocks fenced
```bash are illustrative (make run, production, an identity provider)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import forms  # noqa: F401 - registers the declaration schemas
import handlers  # noqa: F401 - registers the handlers the diagrams name
from dossiers.service import DEFAULT_AGENCY_CODE
from dossiers.service import install as install_dossiers
from engine.clock import ManualClock
from engine.service import ProcessEngine
from identity.accounts import Accounts
from identity.bootstrap import bootstrap
from tests.live import live_server
from tests.portal import MONDAY_9AM, workflow_files

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BASE = "http://127.0.0.1:8080"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def database_url(database, request) -> str:
    url = database.engine.url.render_as_string(hide_password=False)
    if database.engine.dialect.name == "postgresql":  # the session's own schema (tests/conftest.py)
        url += f"?options=-csearch_path%3D{request.getfixturevalue('postgres_schema')}"
    return url


@pytest.fixture
def made_run(database, monkeypatch):
    """The state `make run` leaves: workflows/ deployed, the first accounts created, serving."""
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    engine = ProcessEngine(database, clock=ManualClock(MONDAY_9AM), worker_id="readme")
    install_dossiers(engine)
    engine.deploy(workflow_files(), name="workflows", source="lienthong")
    assert bootstrap(Accounts(database, engine.clock), database, DEFAULT_AGENCY_CODE)
    with live_server(engine) as base:
        yield base


def test_the_readme_marks_its_blocks():
    assert len(blocks("sh")) >= 5
    for block in blocks("sh"):
        assert "PASSWORD" not in block and "scan.pdf" not in block, block  # nothing for the reader to edit
        for path in re.findall(r"@(examples/\S+)", block):
            assert (ROOT / path).is_file(), path


def test_every_sh_block_of_the_readme_runs_as_written(made_run, database, request, tmp_path):
    # In a folder of its own (the blocks write e.g. birth.pdf), where .venv/ and examples/ are the repository's.
    for name in (".venv", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = "set -euo pipefail\n" + "\n".join(blocks("sh")).replace(BASE, made_run)
    env = {**os.environ, "DATABASE_URL": database_url(database, request), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, f"exit {run.returncode}\n--- stdout\n{out}\n--- stderr\n{run.stderr}"
    # curl -s exits 0 on an error answer: every answer must be a success.
    assert "Exception\"" not in out and "\"fieldErrors\"" not in out, out
    assert "COMPLETED" in out  # the quickstart instance, in its history
    assert "awaiting-supplement" in out or "processing" in out  # the dossier's status after the supplement
    assert "funeralAgency" in out  # the decision
    assert "created binh" in out and "disabled" in out.lower()
    assert (tmp_path / "birth.pdf").read_bytes().startswith(b"%PDF-")
