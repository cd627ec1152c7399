"""Identity against a real OpenID provider (npm `oidc-provider`, tests/oidc/provider.mjs) started
on loopback, and lienthong served over real HTTP beside it, on SQLite and PostgreSQL:

- the console's login: authorization code with PKCE through /auth/oidc, the provider's login and
  consent pages, /auth/callback, a session cookie; the officer then sees only their tasks, and a
  cookie-authenticated change needs the CSRF token;
- a remote worker's client-credentials token: its topic and its message, 403 for others;
- refused tokens: expired, from an issuer not trusted, for another audience, an impostor's;
- a key rotation at the provider, picked up without restarting lienthong.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import jwt
import pytest
import requests

from identity.settings import IdentitySettings, OidcSettings, SettingsError
from lienthong.loopback import serving
from tests.auth import ADMIN, ensure_account
from tests.engine_helpers import open_tasks
from tests.oidc_provider import (CONSOLE, OTHER_RESOURCE, SHORT_LIVED, WORKER, OidcProvider, free_port,
                                 requires_provider, signing_keys)

pytestmark = requires_provider

REMOTE_WORKER = Path(__file__).parent / "clients" / "remote_worker.bpmn"
AGENCY = "H19.87.001"
OTHER_AGENCY = "H20.01.001"
SECRET = "oidc-tests-secret-key-" + "y" * 32


def _diagram(process_id: str, body: str, messages: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_{process_id}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true" camunda:historyTimeToLive="180">{body}</bpmn:process>{messages}
</bpmn:definitions>""".encode()


# Two tasks at once: one offered to the officers, one to the police (cong-an).
INBOX = _diagram("oidc_inbox", """
    <bpmn:startEvent id="Start_Here" /><bpmn:sequenceFlow id="F1" sourceRef="Start_Here" targetRef="Split" />
    <bpmn:parallelGateway id="Split" />
    <bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Task_Officers" />
    <bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Task_Police" />
    <bpmn:userTask id="Task_Officers" name="Xem xét hồ sơ" camunda:candidateGroups="officers" />
    <bpmn:userTask id="Task_Police" name="Xác minh cư trú" camunda:candidateGroups="cong-an" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_Officers" targetRef="End_Officers" />
    <bpmn:sequenceFlow id="F5" sourceRef="Task_Police" targetRef="End_Police" />
    <bpmn:endEvent id="End_Officers" /><bpmn:endEvent id="End_Police" />""")
# Waits for BHXH's message that the health-insurance card is issued.
CARD = _diagram("oidc_card", """
    <bpmn:startEvent id="Start_Here" /><bpmn:sequenceFlow id="F1" sourceRef="Start_Here" targetRef="Wait_Card" />
    <bpmn:intermediateCatchEvent id="Wait_Card"><bpmn:messageEventDefinition messageRef="Message_Card" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="F2" sourceRef="Wait_Card" targetRef="Task_Deliver" />
    <bpmn:userTask id="Task_Deliver" name="Trả kết quả" camunda:candidateGroups="officers" />
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Deliver" targetRef="End_Here" /><bpmn:endEvent id="End_Here" />""",
                '<bpmn:message id="Message_Card" name="bhyt.card-issued" />')


@dataclass
class Stack:
    base: str
    provider: OidcProvider

    def api(self, path: str) -> str:
        return self.base + "/engine-rest" + path


def settings_for(issuer: str, **oidc) -> IdentitySettings:
    return IdentitySettings(secret_key=SECRET, oidc=(OidcSettings(
        issuer=issuer, audience="lienthong", client_id=CONSOLE[0], client_secret=CONSOLE[1], leeway_seconds=0,
        **oidc),))


@contextmanager
def stack(engine, workdir: Path, *, trailing_slash: bool = False, **oidc):
    """lienthong trusting one provider, both on loopback. The provider starts second: the console
    client's redirect URI is lienthong's /auth/callback, on a port known once lienthong listens.
    `trailing_slash`: the issuer's URL ends in "/" (as Auth0's do)."""
    ensure_account(engine.db, ADMIN[0], password=ADMIN[1])
    port = free_port()
    provider = OidcProvider(workdir, port=port, issuer=f"http://127.0.0.1:{port}/" if trailing_slash else None)
    with serving(engine, worker=False, identity=settings_for(provider.issuer, **oidc)) as base:
        provider.redirect_uri = base + "/auth/callback"
        with provider:
            yield Stack(base, provider)


@pytest.fixture
def live(engine, tmp_path):
    with stack(engine, tmp_path) as running:
        yield running


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------ the console's login


class Forms(HTMLParser):
    """The forms of a page: action and fields (the provider's login and consent pages)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def submit_form(browser: requests.Session, page: requests.Response, **values) -> requests.Response:
    parser = Forms()
    parser.feed(page.text)
    assert len(parser.forms) == 1, page.text
    [form] = parser.forms
    return browser.post(urljoin(page.url, form["action"]), data={**form["fields"], **values}, timeout=10)


def log_in(live: Stack, account: str, next_path: str = "/auth/me") -> tuple[requests.Session, requests.Response]:
    """A browser's way through the code flow: lienthong -> the provider's login and consent pages ->
    lienthong's callback -> `next_path`, with the session cookie."""
    browser = requests.Session()
    page = browser.get(live.base + "/auth/oidc", params={"next": next_path}, timeout=10)
    assert page.url.startswith(live.provider.url + "/interaction/"), page.url
    assert "code_challenge" in page.history[0].headers["Location"]  # PKCE, S256
    page = submit_form(browser, page, login=account, password="any")  # devInteractions: any password
    assert page.url.startswith(live.provider.url + "/interaction/"), page.text  # the consent page
    landed = submit_form(browser, page)
    return browser, landed


def test_code_flow_gives_a_session_with_the_people_claims(engine, live):
    browser, me = log_in(live, "officer-h19")
    assert me.status_code == 200, me.text
    assert me.url == live.base + "/auth/me"
    assert me.json() == {"id": "officer-h19", "name": "Nguyễn Văn An", "roles": ["officer"], "groups": ["officers"],
                         "agency": AGENCY, "source": "session"}
    cookie = next(c for c in browser.cookies if c.name == "lienthong_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.domain.startswith("127.0.0.1")
    # The session is the only credential the browser holds: without it, nobody.
    assert requests.get(live.base + "/auth/me", timeout=10).status_code == 401


def test_officer_session_sees_only_their_tasks_and_changes_need_the_csrf_token(engine, live):
    engine.deploy({"oidc_inbox.bpmn": INBOX}, name="oidc")
    mine = engine.start_instance("oidc_inbox", tenant_id=AGENCY)
    elsewhere = engine.start_instance("oidc_inbox", tenant_id=OTHER_AGENCY)
    [officers_task] = [t.id for t in open_tasks(engine, mine) if t.activity_id == "Task_Officers"]
    assert len(open_tasks(engine, elsewhere)) == 2

    browser, me = log_in(live, "officer-h19")
    assert me.json()["agency"] == AGENCY
    inbox = browser.get(live.api("/task"), timeout=10)
    assert inbox.status_code == 200, inbox.text
    assert [t["id"] for t in inbox.json()] == [officers_task]  # not the police's, not the other agency's

    claim = live.api(f"/task/{officers_task}/claim")
    refused = browser.post(claim, json={"userId": "officer-h19"}, timeout=10)
    assert refused.status_code == 400, refused.text
    assert "CSRF" in refused.json()["message"]
    assert [t.assignee for t in open_tasks(engine, mine) if t.id == officers_task] == [None]

    token = browser.get(live.base + "/auth/csrf", timeout=10)
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    claimed = browser.post(claim, json={"userId": "officer-h19"}, headers={"X-CSRFToken": token.json()["csrfToken"]},
                           timeout=10)
    assert claimed.status_code == 204, claimed.text
    assert [t.assignee for t in open_tasks(engine, mine) if t.id == officers_task] == ["officer-h19"]
    # A token from another session is no good here.
    other, _ = log_in(live, "officer-h19")
    stranger = other.get(live.base + "/auth/csrf", timeout=10).json()["csrfToken"]
    unclaim = browser.post(live.api(f"/task/{officers_task}/unclaim"), headers={"X-CSRFToken": stranger}, timeout=10)
    assert unclaim.status_code == 400, unclaim.text


def test_issuer_url_ending_in_a_slash_is_the_same_issuer(engine, tmp_path):
    """Auth0's issuers end in "/": the tokens' `iss` is exactly the discovery document's."""
    with stack(engine, tmp_path, trailing_slash=True) as live:
        assert live.provider.issuer.endswith("/")
        _, me = log_in(live, "supervisor-h19")
        assert me.status_code == 200, me.text
        assert (me.json()["roles"], me.json()["agency"]) == (["supervisor"], AGENCY)
        token = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        answer = requests.get(live.base + "/auth/me", headers=bearer(token), timeout=10)
        assert answer.status_code == 200, answer.text


def test_callback_without_the_login_it_answers_is_refused(engine, live):
    """A code and state this browser did not start (a forged or replayed callback) give no session."""
    browser = requests.Session()
    answer = browser.get(live.base + "/auth/callback", params={"code": "forged", "state": "forged"}, timeout=10)
    assert answer.status_code == 401, answer.text
    assert answer.json()["message"] == "The login could not be completed (MismatchingStateError)"
    assert browser.get(live.base + "/auth/me", timeout=10).status_code == 401


def test_csrf_token_needs_a_login(anonymous):
    assert anonymous.get("/auth/csrf").status_code == 401


# ---------------------------------------------------------------------------- a remote worker


def test_worker_token_fetches_its_topic_and_sends_its_message_only(engine, live):
    engine.deploy({"remote_worker.bpmn": REMOTE_WORKER.read_bytes(), "oidc_card.bpmn": CARD}, name="oidc")
    scoring = engine.start_instance("remote_worker", {"age": 30}, business_key="W-1")
    waiting = engine.start_instance("oidc_card", business_key="CARD-1")
    token = live.provider.client_credentials(WORKER, scope="topic:clients.score message:bhyt.card-issued")
    worker = requests.Session()
    worker.headers.update(bearer(token))

    me = worker.get(live.base + "/auth/me", timeout=10).json()
    assert (me["id"], me["roles"], me["source"]) == ("scoring-worker", ["service"], "oidc")

    def fetch(topic):
        return worker.post(live.api("/external-task/fetchAndLock"), timeout=10, json={
            "workerId": "w1", "maxTasks": 5, "topics": [{"topicName": topic, "lockDuration": 10000}]})

    other = fetch("other.topic")
    assert other.status_code == 403 and "other.topic" in other.json()["message"], other.text
    locked = fetch("clients.score")
    assert locked.status_code == 200, locked.text
    assert [t["processInstanceId"] for t in locked.json()] == [scoring]

    forged = worker.post(live.api("/message"), json={"messageName": "other.message", "businessKey": "CARD-1"},
                         timeout=10)
    assert forged.status_code == 403, forged.text
    assert [t.activity_id for t in open_tasks(engine, waiting)] == []
    sent = worker.post(live.api("/message"), json={"messageName": "bhyt.card-issued", "businessKey": "CARD-1"},
                       timeout=10)
    assert sent.status_code == 204, sent.text
    assert [t.activity_id for t in open_tasks(engine, waiting)] == ["Task_Deliver"]
    # Never a person's work: the officers' inbox is closed to it.
    assert worker.get(live.api("/task"), timeout=10).status_code == 403


@pytest.mark.filterwarnings("ignore:Pydantic V1 style:DeprecationWarning")
def test_official_python_client_works_with_the_bearer_token(engine, live):
    """The PyPI Camunda client as a README reader would set it up: `auth_bearer` with the token."""
    from camunda.client.external_task_client import ExternalTaskClient

    engine.deploy({"remote_worker.bpmn": REMOTE_WORKER.read_bytes()}, name="oidc")
    scoring = engine.start_instance("remote_worker", {"age": 30}, business_key="PY-1")
    token = live.provider.client_credentials(WORKER, scope="topic:clients.score")
    client = ExternalTaskClient("py-worker", live.base + "/engine-rest", config={
        "auth_bearer": {"access_token": token}, "asyncResponseTimeout": 0, "lockDuration": 10_000})
    [task] = client.fetch_and_lock("clients.score")
    assert client.complete(task["id"], {"score": 80})
    assert [t.activity_id for t in open_tasks(engine, scoring)] == ["Task_Accepted"]
    with pytest.raises(Exception, match="403"):
        client.fetch_and_lock("other.topic")


def test_worker_token_carries_only_the_scopes_it_asked_for(engine, live):
    token = live.provider.client_credentials(WORKER, scope="topic:clients.score")
    answer = requests.post(live.api("/message"), json={"messageName": "bhyt.card-issued", "businessKey": "X"},
                           headers=bearer(token), timeout=10)
    assert answer.status_code == 403, answer.text
    # And a scope the provider does not give this client is not in any token.
    refused = requests.post(live.provider.url + "/token", auth=WORKER, timeout=10,
                            data={"grant_type": "client_credentials", "scope": "topic:other.topic"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


# ---------------------------------------------------------------------------- refused tokens


def refusal(live: Stack, token: str) -> str:
    answer = requests.get(live.base + "/auth/me", headers=bearer(token), timeout=10)
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    return answer.json()["message"]


def test_expired_token_is_refused_with_the_reason(engine, live):
    token = live.provider.client_credentials(SHORT_LIVED, scope="topic:clients.score")
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    assert refusal(live, token) == "Invalid token: the token has expired"


def test_token_of_an_untrusted_issuer_or_another_audience_is_refused(engine, live, tmp_path):
    with OidcProvider(tmp_path) as stranger:
        foreign = stranger.client_credentials(WORKER, scope="topic:clients.score")
        assert jwt.decode(foreign, options={"verify_signature": False})["aud"] == "lienthong"
        assert refusal(live, foreign) == "Invalid token: the token is from an issuer this service does not trust"
    other_audience = live.provider.client_credentials(WORKER, scope="topic:clients.score", resource=OTHER_RESOURCE)
    assert refusal(live, other_audience) == "Invalid token: the token is for another audience"
    assert refusal(live, "not-a-jwt") == "Invalid token: not a JWT"


def test_impostor_naming_the_trusted_issuer_is_refused(engine, live, tmp_path):
    """Another provider that writes the trusted issuer's URL in its tokens: its keys are not the issuer's."""
    trusted = live.provider.client_credentials(WORKER, scope="topic:clients.score")
    assert requests.get(live.base + "/auth/me", headers=bearer(trusted), timeout=10).status_code == 200
    with OidcProvider(tmp_path, issuer=live.provider.issuer) as impostor:
        forged = impostor.client_credentials(WORKER, scope="topic:clients.score")
    assert jwt.decode(forged, options={"verify_signature": False})["iss"] == live.provider.issuer
    assert refusal(live, forged) == "Invalid token: the token is signed with a key the issuer does not publish"
    # Nor an unsigned token, nor one "signed" with the issuer's public key as an HMAC secret.
    claims = jwt.decode(trusted, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refusal(live, unsigned) == "Invalid token: algorithm 'none' is not accepted"
    public = requests.get(live.provider.url + "/jwks", timeout=10).json()["keys"][0]
    assert refusal(live, hmac_signed(claims, public)) == "Invalid token: algorithm 'HS256' is not accepted"


def hmac_signed(claims: dict, public_jwk: dict) -> str:
    """The classic confusion attack, made by hand (PyJWT refuses to make it)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": public_jwk["kid"]}).encode())
    signing_input = header + "." + part(json.dumps(claims).encode())
    signature = hmac.new(json.dumps(public_jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + part(signature)


# ---------------------------------------------------------------------------- key rotation


def test_rotated_key_is_picked_up_and_the_removed_key_refused(engine, tmp_path):
    with stack(engine, tmp_path, jwks_cache_seconds=1) as live:
        old_key = live.provider.kids
        before = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        assert requests.get(live.base + "/auth/me", headers=bearer(before), timeout=10).status_code == 200

        live.provider.restart(keys=signing_keys())  # same issuer URL and port, a new key only
        assert live.provider.kids != old_key
        after = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        assert jwt.get_unverified_header(after)["kid"] == live.provider.kids[0]
        time.sleep(1.1)  # the keys lienthong read are trusted for jwks_cache_seconds

        # The token signed with the removed key is refused, though it has not expired...
        assert refusal(live, before) == "Invalid token: the token is signed with a key the issuer does not publish"
        # ...and the new key's token is accepted: lienthong was not restarted.
        me = requests.get(live.base + "/auth/me", headers=bearer(after), timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == "scoring-worker"


def test_keys_read_last_serve_while_the_issuer_is_unreachable(engine, tmp_path):
    """An old key set is dropped when the issuer publishes a new one, not when it cannot be reached."""
    with stack(engine, tmp_path, jwks_cache_seconds=1) as live:
        token = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        assert requests.get(live.base + "/auth/me", headers=bearer(token), timeout=10).status_code == 200
        live.provider.stop()
        time.sleep(1.1)
        answer = requests.get(live.base + "/auth/me", headers=bearer(token), timeout=10)
        assert answer.status_code == 200, answer.text
        # A key never read is still refused.
        live.provider.keys = signing_keys()
        live.provider.start()
        unknown = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        live.provider.stop()
        assert refusal(live, unknown).startswith("Invalid token: the issuer's keys could not be read")


def test_new_key_is_fetched_when_a_token_names_it(engine, tmp_path):
    """Before the cached keys are old: a token naming an unknown key makes lienthong read the set again."""
    with stack(engine, tmp_path, jwks_refresh_seconds=0) as live:
        before = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        assert requests.get(live.base + "/auth/me", headers=bearer(before), timeout=10).status_code == 200
        live.provider.restart(keys=signing_keys())
        after = live.provider.client_credentials(WORKER, scope="topic:clients.score")
        assert requests.get(live.base + "/auth/me", headers=bearer(after), timeout=10).status_code == 200
        assert refusal(live, before) == "Invalid token: the token is signed with a key the issuer does not publish"


# ---------------------------------------------------------------------------- configuration


def test_settings_refuse_a_bad_issuer_url():
    with pytest.raises(SettingsError, match="LIENTHONG_OIDC_ISSUER='id.example.gov.vn' is not an issuer URL"):
        IdentitySettings.from_env({"LIENTHONG_SECRET_KEY": SECRET, "LIENTHONG_OIDC_ISSUER": "id.example.gov.vn"})
    with pytest.raises(SettingsError, match="LIENTHONG_CITIZEN_OIDC_ISSUER must use https in production"):
        IdentitySettings.from_env({"LIENTHONG_ENV": "production", "LIENTHONG_SECRET_KEY": SECRET,
                                   "LIENTHONG_CITIZEN_OIDC_ISSUER": "http://vneid.example.gov.vn"})


def test_settings_refuse_production_without_a_secret_key(tmp_path):
    with pytest.raises(SettingsError, match="LIENTHONG_SECRET_KEY must be set when LIENTHONG_ENV=production"):
        IdentitySettings.from_env({"LIENTHONG_ENV": "production"}, var_dir=tmp_path)
    assert not (tmp_path / "secret_key").exists()  # no key made up for production


def test_settings_read_the_provider_from_the_environment(tmp_path):
    settings = IdentitySettings.from_env({
        "LIENTHONG_SECRET_KEY": SECRET, "LIENTHONG_OIDC_ISSUER": "https://id.example.gov.vn/realms/lienthong/",
        "LIENTHONG_OIDC_CLIENT_ID": "console", "LIENTHONG_OIDC_CLIENT_SECRET": "s", "LIENTHONG_OIDC_GROUPS_CLAIM": "nhom",
        "LIENTHONG_OIDC_AGENCY_CLAIM": "ma_co_quan", "LIENTHONG_CITIZEN_OIDC_ISSUER": "https://vneid.example.gov.vn",
        "LIENTHONG_PUBLIC_URL": "https://lienthong.example.gov.vn"}, var_dir=tmp_path)
    staff, citizens = settings.oidc
    assert (staff.issuer, staff.client_id, staff.groups_claim, staff.agency_claim, staff.citizens) == (
        "https://id.example.gov.vn/realms/lienthong", "console", "nhom", "ma_co_quan", False)
    assert (citizens.issuer, citizens.citizens) == ("https://vneid.example.gov.vn", True)
    assert settings.secure_cookies and settings.staff_oidc is staff


def test_behind_a_proxy_the_provider_sends_the_browser_back_to_the_public_address(engine, tmp_path):
    """The request reaches lienthong at its internal address; the callback must be the one users reach."""
    import dataclasses
    from urllib.parse import parse_qs, urlparse

    provider = OidcProvider(tmp_path, port=free_port())
    provider.redirect_uri = "https://lienthong.example.gov.vn/auth/callback"
    settings = dataclasses.replace(settings_for(provider.issuer), public_url="https://lienthong.example.gov.vn")
    with provider, serving(engine, worker=False, identity=settings) as base:
        response = requests.get(base + "/auth/oidc", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://lienthong.example.gov.vn/auth/callback"]
