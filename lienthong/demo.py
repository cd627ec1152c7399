"""`lienthong demo birth`: one birth dossier through every step, over HTTP, as the portal and the
officers would drive it, printing each step and then the dossier's timeline.

Against a running service (`--url http://127.0.0.1:8080`, e.g. the one `make run` starts), or, by
default, against a private service started for the demo on a temporary SQLite database.
"""
from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import click
import requests

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "birth_declaration.json"
OFFICERS = (("tu-phap-ho-tich", "birth"), ("cong-an", "residence"), ("bhxh", "bhyt"))


class DemoFailed(click.ClickException):
    pass


class Demo:
    def __init__(self, base: str, timeout: float):
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.http.headers["X-User-Id"] = "demo"
        self.timeout = timeout

    def call(self, method: str, path: str, expect: int, **kwargs):
        response = self.http.request(method, self.base + path, timeout=30, **kwargs)
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
        return self.call("GET", f"/api/dossiers/{code}", 200)

    def run(self, declaration: dict) -> dict:
        started = time.monotonic()
        filed = self.call("POST", "/api/dossiers", 201, json={"procedure": "birth", "declaration": declaration})
        code = filed["code"]
        chosen = [p["part"] for p in filed["parts"]]
        click.echo(f"filed dossier {code} (parts: {', '.join(chosen)})")
        for group, part in OFFICERS:
            if part not in chosen:
                continue
            tasks = self.wait(f"the {group} officer's task", lambda: self.call(
                "GET", f"/engine-rest/task?candidateGroup={group}&processInstanceBusinessKey={code}", 200), bool)
            task = tasks[0]
            self.call("POST", f"/engine-rest/task/{task['id']}/claim", 204, json={"userId": f"{group}-demo"})
            self.call("POST", f"/engine-rest/task/{task['id']}/complete", 204,
                      json={"variables": {"decision": {"value": "approve"}, "note": {"value": "Hồ sơ hợp lệ"}}})
            click.echo(f"  {group}: '{task['name']}' approved (due {task.get('due') or '-'})")
            if part == "birth":
                birth = self.wait("the birth registration", lambda: self.status(code),
                                  lambda s: s["parts"][0]["state"] in ("approved", "refused"))
                click.echo(f"  child's personal ID number: {birth['parts'][0]['result'].get('childIdNumber')}")
        final = self.wait("the dossier to complete", lambda: self.status(code),
                          lambda s: s["state"] in ("completed", "rejected", "refused"))
        click.echo(f"dossier {code}: {final['stateLabel']} in {time.monotonic() - started:.1f}s\n")
        click.echo("timeline:")
        for event in final["timeline"]:
            click.echo(f"  {event['at'][:19].replace('T', ' ')}  {event['part']:<9}  {event['state']:<20} {event['title']}")
        click.echo("\nparts:")
        for part in final["parts"]:
            result = ", ".join(f"{k}={v}" for k, v in part["result"].items())
            click.echo(f"  {part['name']}: {part['stateLabel']}, due {part['dueAt']}; {result}")
        click.echo("\ndeclarations: " + ", ".join(self.base + d["url"] for d in final["declarations"]))
        return final


@contextmanager
def private_service():
    """A service of its own on a temporary SQLite database, on a free loopback port."""
    from werkzeug.serving import make_server

    from api.app import create_app
    from engine.worker import Worker

    from .cli import build_engine, deploy_folder

    with tempfile.TemporaryDirectory(prefix="lienthong-demo-") as folder:
        engine = build_engine(f"sqlite:///{folder}/demo.db")
        deploy_folder(engine, ROOT / "workflows")
        server = make_server("127.0.0.1", 0, create_app(engine), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        worker = Worker(engine, idle_seconds=0.05)
        worker.start_in_background()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            worker.stop()
            server.shutdown()
            engine.db.dispose()


def run_birth_demo(url: str | None, example: Path, timeout: float) -> dict:
    declaration = json.loads(example.read_text(encoding="utf-8"))
    # The demo's own lines are the output; the service's request and job logs would bury them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("lienthong").setLevel(max(logging.WARNING, logging.getLogger("lienthong").getEffectiveLevel()))
    if url:
        return Demo(url, timeout).run(declaration)
    click.echo("starting a private service on a temporary SQLite database (use --url for a running one)")
    with private_service() as base:
        return Demo(base, timeout).run(declaration)
