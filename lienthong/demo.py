"""`lienthong demo birth|death`: one dossier through every step, over HTTP, as the portal and the
officers would drive it (every officer approves), printing each step and then the timeline.

Against a running service (`--url http://127.0.0.1:8080`, e.g. the one `make run` starts, with
`--user`/`--password` of an account that may file and decide: an administrator), or, by default,
against a private service started for the demo on a temporary SQLite database, where the citizen
(the requester's ID number) files and each group's officer decides with their own account.
"""
from __future__ import annotations

import json
import logging
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import click
import requests

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {"birth": ROOT / "examples" / "birth_declaration.json", "death": ROOT / "examples" / "death_declaration.json"}
FINAL = ("completed", "rejected", "refused")


class DemoFailed(click.ClickException):
    pass


class Demo:
    """`citizen` files and follows the dossier; `staff` finds the open tasks; `officers[group]` (or
    `staff` when a group has none) claims and decides them. Each is (user, password)."""

    def __init__(self, base: str, timeout: float, *, citizen, staff, officers: dict | None = None,
                 keep: Path | None = None):
        self.base = base.rstrip("/")
        # A private service ends with the demo, and its links with it: its declarations are saved here.
        self.keep = keep
        self.http = requests.Session()
        self.citizen, self.staff, self.officers = citizen, staff, officers or {}
        self.timeout = timeout

    def call(self, method: str, path: str, expect: int, as_user=None, **kwargs):
        user = as_user or self.staff
        response = self.http.request(method, self.base + path, timeout=30, auth=user, **kwargs)
        if response.status_code != expect:
            raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def wait(self, what: str, fetch, done):
        deadline = time.monotonic() + self.timeout
        while True:
            value = fetch()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise DemoFailed(f"gave up waiting for {what} after {self.timeout:.0f}s")
            time.sleep(0.2)

    def status(self, code: str) -> dict:
        return self.call("GET", f"/api/dossiers/{code}", 200, as_user=self.citizen)

    def run(self, procedure: str, declaration: dict) -> dict:
        started = time.monotonic()
        filed = self.call("POST", "/api/dossiers", 201, as_user=self.citizen,
                          json={"procedure": procedure, "declaration": declaration})
        code = filed["code"]
        click.echo(f"filed {procedure} dossier {code} (parts: {', '.join(p['part'] for p in filed['parts'])})")
        # Whatever officer task the dossier has open, its officer approves it, until the dossier ends.
        while True:
            found = self.wait("an officer's task or the end of the dossier", lambda: (
                self.call("GET", f"/engine-rest/task?processInstanceBusinessKey={code}", 200), self.status(code)),
                lambda pair: pair[0] or pair[1]["state"] in FINAL)
            tasks, status = found
            if not tasks:
                break
            for task in tasks:
                groups = [link["groupId"] for link in self.call("GET", f"/engine-rest/task/{task['id']}/identity-links", 200)
                          if link.get("groupId")]
                officer = next((self.officers[g] for g in groups if g in self.officers), self.staff)
                self.call("POST", f"/engine-rest/task/{task['id']}/claim", 204, as_user=officer, json={"userId": officer[0]})
                self.call("POST", f"/engine-rest/task/{task['id']}/complete", 204, as_user=officer,
                          json={"variables": {"decision": {"value": "approve"}, "note": {"value": "Hồ sơ hợp lệ"}}})
                click.echo(f"  {', '.join(groups)}: '{task['name']}' approved")
        final = self.wait("the dossier to end", lambda: self.status(code), lambda s: s["state"] in FINAL)
        click.echo(f"dossier {code}: {final['stateLabel']} in {time.monotonic() - started:.1f}s\n")
        click.echo("timeline:")
        for event in final["timeline"]:
            click.echo(f"  {event['at'][:19].replace('T', ' ')}  {event['part']:<9}  {event['state']:<20} {event['title']}")
        click.echo("\nparts:")
        for part in final["parts"]:
            result = ", ".join(f"{k}={v}" for k, v in part["result"].items())
            click.echo(f"  {part['name']}: {part['stateLabel']}, due {part['dueAt']}; {result}")
        if self.keep is None:
            click.echo("\ndeclarations: " + ", ".join(self.base + d["url"] for d in final["declarations"]))
            return final
        self.keep.mkdir(parents=True, exist_ok=True)
        saved = []
        for document in final["declarations"]:
            response = self.http.get(self.base + document["url"], auth=self.citizen, timeout=30)
            if response.status_code != 200:
                raise DemoFailed(f"GET {document['url']} answered {response.status_code}")
            path = self.keep / f"{code}-{document['form']}.pdf"
            path.write_bytes(response.content)
            saved.append(str(path))
        click.echo("\ndeclarations, saved here (the private service and its links end with the demo): " + ", ".join(saved))
        return final


@contextmanager
def private_service(citizen_id: str):
    """A service of its own on a temporary SQLite database, on a free loopback port, with the
    accounts a new database gets (bootstrap) and the citizen's; yields (base URL, Demo kwargs)."""
    from dossiers.service import agency_code_from_environment
    from identity.accounts import Accounts
    from identity.bootstrap import bootstrap
    from identity.settings import IdentitySettings

    from .cli import build_engine, deploy_folder
    from .loopback import serving

    with tempfile.TemporaryDirectory(prefix="lienthong-demo-") as folder:
        engine = build_engine(f"sqlite:///{folder}/demo.db")
        deploy_folder(engine, ROOT / "workflows")
        accounts = Accounts(engine.db, engine.clock)
        created = bootstrap(accounts, engine.db, agency_code_from_environment())
        officers = {a.groups[0]: (a.id, a.password) for a in created if "officer" in a.roles}
        supervisor = next((a.id, a.password) for a in created if "supervisor" in a.roles)
        citizen = (citizen_id, accounts.add(citizen_id, roles=["citizen"]))
        settings = IdentitySettings(secret_key=secrets.token_urlsafe(48))
        try:
            with serving(engine, idle_seconds=0.05, identity=settings) as base:
                yield base, {"citizen": citizen, "staff": supervisor, "officers": officers}
        finally:
            engine.db.dispose()


def run_demo(procedure: str, url: str | None, example: Path | None, timeout: float,
             user: str | None = None, password: str | None = None) -> dict:
    declaration = json.loads((example or EXAMPLES[procedure]).read_text(encoding="utf-8"))
    # The demo's own lines are the output; the service's request and job logs would bury them.
    # The levels are put back after: a caller in the same process (the tests) keeps its own.
    loggers = [logging.getLogger(name) for name in ("werkzeug", "lienthong")]
    levels = [logger.level for logger in loggers]
    loggers[0].setLevel(logging.WARNING)
    loggers[1].setLevel(max(logging.WARNING, loggers[1].getEffectiveLevel()))
    try:
        return _run_demo(procedure, declaration, url, timeout, user, password)
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _run_demo(procedure: str, declaration: dict, url: str | None, timeout: float, user: str | None,
              password: str | None) -> dict:
    if url:
        if not user or not password:
            raise DemoFailed("--url needs --user and --password (or LIENTHONG_USER and LIENTHONG_PASSWORD) of an "
                             "administrator: `lienthong users add demo --role admin` creates one")
        return Demo(url, timeout, citizen=(user, password), staff=(user, password)).run(procedure, declaration)
    click.echo("starting a private service on a temporary SQLite database (use --url for a running one)")
    with private_service(declaration["requester"]["idNumber"]) as (base, accounts):
        return Demo(base, timeout, keep=Path("var") / "demo", **accounts).run(procedure, declaration)
