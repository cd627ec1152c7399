"""The `lienthong` command: serve the API (with an embedded worker), run workers, deploy, migrate.

Configuration comes from the environment, read once into Settings (lienthong/settings.py, which
lists the variables), with defaults that work on a fresh machine; LIENTHONG_LOG_FORMAT is json
(default) or text.
"""
from __future__ import annotations

import importlib
import logging
import signal
import sys
import time
from pathlib import Path

import click

import dossiers.retention
import dossiers.service
from dossiers.retention import RetentionSettings

from sqlalchemy.exc import OperationalError

from engine.db import Database
from engine.redaction import hide_credentials
from engine.errors import DeploymentError
from engine.service import ProcessEngine
from engine.worker import Worker

from . import cli_accounts, logs
from .serving import GRACE_SECONDS, serve_until_stopped
from .settings import SettingError, Settings

log = logging.getLogger("lienthong")
WORKFLOWS = Path("workflows")


# Exit codes when the service cannot start, so a supervisor (systemd, Kubernetes) and a person
# both know why without reading a traceback.
EXIT_BAD_SETTING, EXIT_DATABASE_DOWN, EXIT_PORT_IN_USE = 2, 3, 4


def cannot_start(message: str, code: int):
    click.echo(f"lienthong cannot start: {message}", err=True)
    sys.exit(code)


def build_engine(url: str | None = None, settings: Settings | None = None) -> ProcessEngine:
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingError as exc:
            cannot_start(str(exc), EXIT_BAD_SETTING)
    # Importing the packages registers their handlers (@handler) and form schemas (@form_schema);
    # LIENTHONG_HANDLER_MODULES names more modules to import (comma-separated).
    for module in ["handlers", "forms", *settings.handler_modules]:
        importlib.import_module(module)
    database = Database(url or settings.database_url)
    try:
        database.migrate()
    except OperationalError as exc:
        where = database.url.split("@")[-1]  # never the password
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        cannot_start(f"the database {where} does not answer ({hide_credentials(reason)}); "
                     "check DATABASE_URL and that the server is running", EXIT_DATABASE_DOWN)
    engine = ProcessEngine(database, **settings.engine_options())
    dossiers.service.install(engine)  # a standalone worker keeps the dossiers' status too
    return engine


def worker_chores(engine) -> list:
    """What every worker does between jobs: retry the SMS the gateway could not take, and inside
    LIENTHONG_HISTORY_CLEANUP_WINDOW the history and retention clean-up (dossiers/retention.py)."""
    from handlers.notify import retry_outbox

    try:
        retention = RetentionSettings.from_environment()
    except ValueError as exc:
        cannot_start(str(exc), EXIT_BAD_SETTING)
    return [lambda: retry_outbox(engine), CleanupChore(engine, retention)]


class CleanupChore:
    """The clean-up, a slice of CLEANUP_SLICE seconds at most every CLEANUP_EVERY seconds while the
    window is open (so jobs never wait long behind it); answers how many rows it removed."""

    CLEANUP_SLICE, CLEANUP_EVERY = 2.0, 60.0

    def __init__(self, engine, settings: RetentionSettings):
        self.engine, self.settings, self.next_at = engine, settings, 0.0

    def __call__(self) -> int:
        if time.monotonic() < self.next_at or not self.settings.open_at(self.engine.clock.now().astimezone(self.engine.timezone).time()):
            return 0
        report = dossiers.retention.clean_up(self.engine, self.settings, seconds=self.CLEANUP_SLICE)
        removed = report.history.instances + report.dossiers
        if removed:
            log.info("history cleaned up", extra=report.as_json())
        # more left (the slice ran out): go on after the next round of jobs; else wait a while
        self.next_at = 0.0 if removed else time.monotonic() + self.CLEANUP_EVERY
        return removed


def diagram_files(*paths: Path) -> dict[str, bytes]:
    """The BPMN and DMN files given, or found in the folders given: {file name: content}."""
    files = [f for p in paths for f in (sorted(p.glob("*")) if p.is_dir() else [p]) if f.suffix in (".bpmn", ".dmn")]
    return {f.name: f.read_bytes() for f in files}


def deploy_folder(engine: ProcessEngine, folder: Path) -> None:
    resources = diagram_files(folder)
    if not resources:
        click.echo(f"No BPMN or DMN files in {folder}/ to deploy.", err=True)
        return
    try:
        result = engine.deploy(resources, name=folder.name, source="lienthong")
    except DeploymentError as exc:
        click.echo(f"Deployment of {folder}/ refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    for definition in result.definitions:
        state = "unchanged" if result.unchanged else "deployed"
        click.echo(f"{state}: {definition.kind} {definition.key} version {definition.version} ({definition.resource})")


@click.group()
def main() -> None:
    """lienthong: linked civil procedures as BPMN, behind a Camunda 7 compatible REST API."""
    logs.configure()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--worker/--no-worker", default=True, show_default=True, help="Run a job worker in this process.")
@click.option("--workflows", "folder", default=str(WORKFLOWS), show_default=True, type=click.Path(file_okay=False))
def serve(host: str, port: int, worker: bool, folder: str) -> None:
    """Migrate the database, deploy the workflows folder, and serve the API."""
    from waitress import create_server

    from api.app import create_app
    from identity.accounts import Accounts
    from identity.bootstrap import bootstrap
    from identity.settings import IdentitySettings, SettingsError

    try:
        identity = IdentitySettings.from_env()
    except SettingsError as exc:
        cannot_start(str(exc), EXIT_BAD_SETTING)
    engine = build_engine()
    try:  # bind first: "is serving" only once the port is ours
        server = create_server(create_app(engine, identity=identity), host=host, port=port, threads=8, ident="lienthong")
    except OSError as exc:
        cannot_start(f"cannot listen on {host}:{port} ({exc.strerror or exc}); is another lienthong or "
                     "program using that port? Choose another with --port", EXIT_PORT_IN_USE)
    if Path(folder).is_dir():
        deploy_folder(engine, Path(folder))
    created = bootstrap(Accounts(engine.db, engine.clock), engine.db, dossiers.service.agency_code_from_environment())
    stops = []
    if worker:
        embedded = Worker(engine, chores=worker_chores(engine))
        thread = embedded.start_in_background()
        stops = [embedded.stop, lambda: thread.join(timeout=GRACE_SECONDS)]
    base = f"http://{host}:{port}"
    click.echo(f"lienthong is serving {base}  (database: {engine.db.url.split('@')[-1]})")
    click.echo(f"  Log in:       {base}/auth/login")
    click.echo(f"  Console:      {base}/console/  (officers, supervisors, operators; citizens track at {base}/console/track)")
    click.echo(f"  Swagger UI:   {base}/swagger-ui")
    click.echo(f"  Camunda REST: {base}/engine-rest  (HTTP Basic with an account below, or an OIDC bearer token)")
    if created:
        click.echo("  Accounts created on this new database (the passwords are shown only now; "
                   "`lienthong users passwd NAME` sets a new one):")
        for account in created:
            click.echo(f"    {account.id:40} {account.password}   {','.join(account.roles)}"
                       + (f" of {','.join(account.groups)}" if account.groups else ""))
    else:
        click.echo("  Accounts: `lienthong users list`; a forgotten password: `lienthong users passwd NAME`")
    serve_until_stopped(server, on_stop=stops)


@main.command("worker")
@click.option("--batch", default=20, show_default=True, help="Jobs taken per round.")
def worker_command(batch: int) -> None:
    """Run a job worker (timers, handler runs, retries) until stopped."""
    engine = build_engine()
    runner = Worker(engine, batch=batch, chores=worker_chores(engine))
    # SIGTERM or Ctrl-C: the job running finishes, the rest of the batch is released, exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    runner.run()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def deploy(paths: tuple[str, ...]) -> None:
    """Deploy BPMN/DMN files (or folders of them) as one deployment."""
    engine = build_engine()
    try:
        result = engine.deploy(diagram_files(*map(Path, paths)), source="lienthong deploy")
    except DeploymentError as exc:
        for problem in exc.problems:
            click.echo(f"refused: {problem}", err=True)
        sys.exit(1)
    for definition in result.definitions:
        click.echo(f"{'unchanged' if result.unchanged else 'deployed'}: {definition.kind} {definition.key} v{definition.version}")


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    Database(Settings.from_env().database_url).migrate()
    click.echo("schema is up to date")


def _table(rows: list[list], headers: list[str]) -> None:
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))


@main.command()
@click.option("--limit", default=50, show_default=True)
def jobs(limit: int) -> None:
    """The job queue: what is due, locked, failing."""
    from sqlalchemy import select

    from engine import models as m

    database = Database(Settings.from_env().database_url)
    with database.reading() as session:
        rows = session.scalars(select(m.Job).order_by(m.Job.due_at).limit(limit)).all()
        _table([[j.id[:8], j.type, j.definition_key, j.activity_id, (j.instance_id or "-")[:8],
                 j.due_at.isoformat(timespec="seconds"), j.retries, j.lock_owner or "-", (j.exception_message or "")[:60]]
                for j in rows], ["job", "type", "process", "activity", "instance", "due", "retries", "locked by", "last error"])
        click.echo(f"{len(rows)} job(s)")


@main.command()
def incidents() -> None:
    """Open incidents: failures that need an operator (retry with PUT /engine-rest/job/{id}/retries)."""
    from sqlalchemy import select

    from engine import models as m

    database = Database(Settings.from_env().database_url)
    with database.reading() as session:
        rows = session.scalars(select(m.Incident).order_by(m.Incident.created)).all()
        _table([[i.created.isoformat(timespec="seconds"), i.type, (i.instance_id or "-")[:8], i.activity_id, i.configuration,
                 (i.message or "")[:80]] for i in rows], ["since", "type", "instance", "activity", "job", "message"])
        click.echo(f"{len(rows)} open incident(s)")


main.add_command(cli_accounts.users)
main.add_command(cli_accounts.groups)


@main.group()
def demo() -> None:
    """Run a dossier through every step over HTTP and print its timeline."""


def _demo_command(procedure: str, example_name: str):
    @demo.command(procedure, help=f"File examples/{example_name}; every officer approves; print the timeline.")
    @click.option("--url", default=None, help="A running service (e.g. http://127.0.0.1:8080); default: a private one.")
    @click.option("--example", default=None, type=click.Path(exists=True, dir_okay=False),
                  help=f"The declaration to file (default: examples/{example_name}).")
    @click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for each step.")
    @click.option("--user", envvar="LIENTHONG_USER", default=None, help="With --url: an administrator's account.")
    @click.option("--password", envvar="LIENTHONG_PASSWORD", default=None, help="With --url: its password.")
    def run(url: str | None, example: str | None, timeout: float, user: str | None, password: str | None) -> None:
        from .demo import run_demo

        run_demo(procedure, url, Path(example) if example else None, timeout, user, password)

    return run


demo_birth = _demo_command("birth", "birth_declaration.json")
demo_death = _demo_command("death", "death_declaration.json")
