"""Local accounts: the first ones a new database gets, the `lienthong users|groups` commands, and
logging in with them over HTTP (Basic for the API, the form for browsers)."""
from __future__ import annotations

import re

import requests
from click.testing import CliRunner

from engine.service import ProcessEngine
from identity.accounts import Accounts
from identity.bootstrap import bootstrap, groups_named
from identity.settings import IdentitySettings, SettingsError
from lienthong.cli import diagram_files, main
from tests.live import live_server
from tests.portal import WORKFLOWS

import pytest


def test_a_new_database_gets_one_account_per_group_the_diagrams_name(database, clock):
    engine = ProcessEngine(database, clock=clock)  # the real handlers: tests.portal imports them
    engine.deploy(diagram_files(WORKFLOWS), name="workflows")
    officers, supervisors = groups_named(engine.db)
    # candidateGroups of the user tasks, and the groups the funeral decision table names (ldtbxh).
    assert {"tu-phap-ho-tich", "cong-an", "bhxh", "ldtbxh"} <= officers
    assert {"tu-phap-ho-tich-lanh-dao", "cong-an-lanh-dao", "bhxh-lanh-dao"} <= supervisors
    assert not any("$" in g for g in officers | supervisors)

    accounts = Accounts(engine.db, clock)
    created = bootstrap(accounts, engine.db, "H19.87.001")
    by_id = {a.id: a for a in created}
    assert by_id["officer.tu-phap-ho-tich"].roles == ["officer"]
    assert by_id["officer.tu-phap-ho-tich"].groups == ["tu-phap-ho-tich"]
    assert by_id["supervisor.cong-an-lanh-dao"].roles == ["supervisor"]
    assert {"analyst", "operator", "auditor"} <= set(by_id)
    passwords = [a.password for a in created]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 16 for p in passwords)
    officer = accounts.authenticate("officer.tu-phap-ho-tich", by_id["officer.tu-phap-ho-tich"].password)
    assert officer.agency == "H19.87.001" and officer.groups == {"tu-phap-ho-tich"}
    assert accounts.authenticate("analyst", by_id["analyst"].password).agency is None
    # A database that has accounts gets none (nor new passwords) at the next start.
    assert bootstrap(accounts, engine.db, "H19.87.001") == []


def test_passwords_are_argon2_hashes_and_a_changed_or_disabled_account_no_longer_logs_in(engine, clock):
    accounts = Accounts(engine.db, clock)
    password = accounts.add("an", roles=["officer"], groups=["officers"], agency="H19.87.001")
    from identity.models import Account

    with engine.db.reading() as session:
        stored = session.get(Account, "an").password_hash
    assert stored.startswith("$argon2id$") and password not in stored
    assert accounts.authenticate("an", password) is not None
    assert accounts.authenticate("an", password + "x") is None
    new = accounts.set_password("an")
    assert accounts.authenticate("an", password) is None  # the cached login of the old password is not honoured
    assert accounts.authenticate("an", new) is not None
    accounts.set_disabled("an", True)
    assert accounts.authenticate("an", new) is None


def test_accounts_refuse_unknown_roles_bad_names_and_short_passwords(engine, clock):
    accounts = Accounts(engine.db, clock)
    from engine.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as refused:
        accounts.add("nguyễn văn an", roles=["wizard"], password="short")
    assert set(refused.value.field_errors) == {"id", "roles", "password"}


def test_users_and_groups_commands(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "LIENTHONG_LOG_FORMAT": "text"}
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "binh", "--role", "officer", "--group", "cong-an",
                                 "--agency", "H19.87.001"], env=env)
    assert added.exit_code == 0, added.output
    password = re.search(r"password: (\S+)", added.output).group(1)
    service = runner.invoke(main, ["users", "add", "bhxh-system", "--role", "service", "--password-stdin",
                                   "--topics", "handoff.bhyt", "--messages", "bhyt.card-issued"],
                            input="a-long-service-password\n", env=env)
    assert service.exit_code == 0 and "password" not in service.output
    assert runner.invoke(main, ["groups", "add-member", "cong-an-lanh-dao", "binh"], env=env).exit_code == 0
    listed = runner.invoke(main, ["users", "list"], env=env).output
    assert "binh" in listed and "roles=officer" in listed and "groups=cong-an,cong-an-lanh-dao" in listed
    assert "topics=handoff.bhyt" in listed and "messages=bhyt.card-issued" in listed and password not in listed
    assert "cong-an-lanh-dao                 binh" in runner.invoke(main, ["groups", "list"], env=env).output
    changed = runner.invoke(main, ["users", "passwd", "binh"], env=env)
    assert changed.exit_code == 0 and password not in changed.output
    assert runner.invoke(main, ["users", "disable", "binh"], env=env).exit_code == 0
    assert "disabled" in runner.invoke(main, ["users", "list"], env=env).output
    refused = runner.invoke(main, ["users", "add", "binh", "--role", "officer"], env=env)
    assert refused.exit_code == 2 and "exists already" in refused.output


def test_serve_refuses_to_start_without_a_secret_key_in_production(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "LIENTHONG_ENV": "production", "LIENTHONG_SECRET_KEY": ""}
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    assert "LIENTHONG_SECRET_KEY must be set" in result.output


def test_settings_refuse_a_bad_issuer_and_keep_a_generated_key_under_var(tmp_path):
    with pytest.raises(SettingsError, match="not an issuer URL"):
        IdentitySettings.from_env({"LIENTHONG_OIDC_ISSUER": "id.example.gov.vn"}, var_dir=tmp_path)
    with pytest.raises(SettingsError, match="https"):
        IdentitySettings.from_env({"LIENTHONG_ENV": "production", "LIENTHONG_SECRET_KEY": "k" * 40,
                                   "LIENTHONG_OIDC_ISSUER": "http://id.example.gov.vn"}, var_dir=tmp_path)
    first = IdentitySettings.from_env({}, var_dir=tmp_path)
    assert IdentitySettings.from_env({}, var_dir=tmp_path).secret_key == first.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_login_form_starts_a_session_and_form_posts_need_the_csrf_token(engine):
    from tests.auth import ensure_account

    user, password = ensure_account(engine.db, "chi", roles=("officer",), groups=("officers",), agency="H19.87.001")
    with live_server(engine, worker=False) as base:
        browser = requests.Session()
        assert browser.get(f"{base}/engine-rest/task", timeout=10).status_code == 401
        page = browser.get(f"{base}/auth/login?next=/auth/me", timeout=10)
        assert page.status_code == 200 and "Đăng nhập" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        # Without the form's token the login is refused (no login CSRF).
        assert browser.post(f"{base}/auth/login", data={"username": user, "password": password}, timeout=10).status_code == 400
        wrong = browser.post(f"{base}/auth/login", data={"username": user, "password": "nope", "csrf_token": token}, timeout=10)
        assert wrong.status_code == 401 and "không đúng" in wrong.text
        done = browser.post(f"{base}/auth/login", data={"username": user, "password": password, "csrf_token": token,
                                                        "next": "/auth/me"}, timeout=10)
        assert done.status_code == 200 and done.json()["id"] == "chi"
        cookie = next(c for c in browser.cookies if c.name == "lienthong_session")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Lax"
        assert browser.get(f"{base}/engine-rest/task", timeout=10).status_code == 200
        # A state-changing call with the session cookie but without the CSRF token is refused.
        refused = browser.post(f"{base}/engine-rest/task/x/claim", json={"userId": "chi"}, timeout=10)
        assert refused.status_code == 400 and "CSRF" in refused.json()["message"]
        # An open redirect through `next` is not possible.
        page = browser.get(f"{base}/auth/login?next=https://evil.example/", timeout=10)
        assert 'value="/"' in page.text


def test_every_answer_carries_the_security_headers(client, anonymous):
    for response in (client.get("/engine-rest/version"), anonymous.get("/engine-rest/task"), anonymous.get("/openapi.json")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert anonymous.get("/engine-rest/task").headers["WWW-Authenticate"].startswith("Basic")
