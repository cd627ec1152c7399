"""Accounts for tests: the API answers nobody without credentials, so the tests log in as a
person with the roles the test is about (or as `admin`, Camunda's camunda-admin, where the test
is about something else than access)."""
from __future__ import annotations

import base64

from engine.clock import SystemClock
from identity.accounts import Accounts
from identity.settings import IdentitySettings

ADMIN = ("admin", "admin-password")
# A fixed key: the tests' session cookies are signed with it (production reads LIENTHONG_SECRET_KEY).
SETTINGS = IdentitySettings(secret_key="tests-only-secret-key-" + "x" * 32)


def ensure_account(db, account_id: str, *, roles=("admin",), password: str | None = None, groups=(),
                   agency: str | None = None, topics=(), messages=()) -> tuple[str, str]:
    """The account (created if missing) and its password, as (user, password) for requests' `auth`."""
    password = password or f"{account_id}-password"
    accounts = Accounts(db, SystemClock())
    try:
        accounts.get(account_id)
    except Exception:  # noqa: BLE001 - NotFound: create it
        accounts.add(account_id, password=password, roles=roles, groups=groups, agency=agency, topics=topics,
                     messages=messages)
    return account_id, password


def basic(credentials: tuple[str, str]) -> str:
    user, password = credentials
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def logged_in(app, db, credentials: tuple[str, str] = ADMIN, **account):
    """A Flask test client that sends these credentials (the account is created if missing)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = basic(ensure_account(db, credentials[0], password=credentials[1], **account))
    return client


def as_user(target, user: str, **account) -> dict:
    """Headers that log in as `user` (an administrator unless `roles` says otherwise); `target` is
    the database, or a Flask test client of the app."""
    db = target.application.extensions["lienthong"].db if hasattr(target, "application") else target
    return {"Authorization": basic(ensure_account(db, user, **account))}
