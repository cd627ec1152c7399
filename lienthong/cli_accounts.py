"""`lienthong users ...` and `lienthong groups ...`: the embedded default's local accounts."""
from __future__ import annotations

import sys

import click

from engine.clock import SystemClock
from engine.db import Database
from engine.errors import EngineError, InvalidRequest
from identity.accounts import Accounts
from identity.principal import ROLES

from .settings import Settings


def _accounts() -> Accounts:
    database = Database(Settings.from_env().database_url)
    database.migrate()
    return Accounts(database, SystemClock())


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _fail(exc: EngineError):
    click.echo(f"refused: {exc}", err=True)
    for field, messages in (getattr(exc, "field_errors", None) or {}).items():
        click.echo(f"  {field}: {' '.join(messages)}", err=True)
    sys.exit(2)


def _do(change, done: str):
    """Runs one change of the accounts; a refusal exits 2 with its reason."""
    try:
        result = change(_accounts())
    except EngineError as exc:
        _fail(exc)
    click.echo(done)
    return result


@click.group()
def users() -> None:
    """Local accounts (officers, supervisors, analysts, operators, auditors, citizens, services)."""


@users.command("add")
@click.argument("account_id")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several roles.")
@click.option("--group", "groups", multiple=True, help="Candidate groups (repeatable), e.g. tu-phap-ho-tich.")
@click.option("--agency", default=None, help="Agency code the officer or supervisor works for, e.g. H19.87.001.")
@click.option("--topics", default=None, help="Service accounts: external-task topics it may fetch (comma-separated).")
@click.option("--messages", default=None, help="Service accounts: messages it may send (comma-separated).")
@click.option("--name", default=None, help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
def add_user(account_id, roles, groups, agency, topics, messages, name, password_stdin):
    """Create an account; its generated password is printed once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        password = _accounts().add(account_id, password=password, roles=roles, groups=groups, agency=agency,
                                   topics=_csv(topics), messages=_csv(messages), name=name)
    except InvalidRequest as exc:
        _fail(exc)
    click.echo(f"created {account_id}" + ("" if password_stdin else f"  password: {password}"))


@users.command("list")
def list_users():
    """Every account with its roles, groups and agency (never a password)."""
    rows = _accounts().list()
    for a in rows:
        state = "disabled" if a.disabled else "active"
        extra = f" topics={','.join(a.topics)}" if a.topics else ""
        extra += f" messages={','.join(a.messages)}" if a.messages else ""
        click.echo(f"{a.id:32} {state:8} roles={','.join(a.roles)} groups={','.join(a.groups) or '-'} "
                   f"agency={a.agency or '-'}{extra}")
    click.echo(f"{len(rows)} account(s)")


@users.command("passwd")
@click.argument("account_id")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def passwd(account_id, password_stdin):
    """Set a new password (generated and printed once, unless read from standard input)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        password = _accounts().set_password(account_id, password)
    except EngineError as exc:
        _fail(exc)
    click.echo(f"password changed for {account_id}" + ("" if password_stdin else f": {password}"))


@users.command("disable")
@click.argument("account_id")
def disable(account_id):
    """Refuse the account's logins and end its sessions."""
    _do(lambda accounts: accounts.set_disabled(account_id, True), f"disabled {account_id}")


@users.command("enable")
@click.argument("account_id")
def enable(account_id):
    _do(lambda accounts: accounts.set_disabled(account_id, False), f"enabled {account_id}")


@click.group()
def groups() -> None:
    """Groups (the candidateGroups of the diagrams) and their members."""


@groups.command("list")
def list_groups():
    for group, members in _accounts().groups().items():
        click.echo(f"{group:32} {', '.join(members)}")


@groups.command("add-member")
@click.argument("group")
@click.argument("account_id")
def add_member(group, account_id):
    _do(lambda accounts: accounts.add_to_group(account_id, group), f"{account_id} is in {group}")


@groups.command("remove-member")
@click.argument("group")
@click.argument("account_id")
def remove_member(group, account_id):
    _do(lambda accounts: accounts.remove_from_group(account_id, group), f"{account_id} is no longer in {group}")
