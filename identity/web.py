"""Identity in the Flask app: who is calling (HTTP Basic for local and service accounts, a bearer
JWT from a trusted OpenID issuer, or the console's session cookie), whether the route they call
allows them, CSRF on cookie-authenticated form posts, security headers, and the audit trail.

Login for browsers: the local accounts' form, or OpenID Connect's authorization-code flow with
PKCE (Authlib), ending in an HttpOnly, SameSite session cookie (Secure behind TLS)."""
from __future__ import annotations

import logging
from dataclasses import asdict
from urllib.parse import urlparse

from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from . import audit
from .accounts import Accounts
from .permissions import PUBLIC, allows, required, requires
from .principal import Principal
from .settings import IdentitySettings
from .tokens import InvalidToken, Issuers

log = logging.getLogger("lienthong.identity")
EXTENSION = "lienthong.identity"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints that third-party blueprints register (they cannot carry @requires).
_THIRD_PARTY = {
    "static": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api-docs.openapi_swagger_ui": PUBLIC,
}
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI's page starts itself with an inline script (flask-smorest's template).
_CSP_SWAGGER = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")

bp = Blueprint("auth", __name__, template_folder="templates")
csrf = CSRFProtect()


class Identity:
    def __init__(self, app: Flask, db, clock, settings: IdentitySettings):
        self.db = db
        self.clock = clock
        self.settings = settings
        self.accounts = Accounts(db, clock)
        self.issuers = Issuers(settings.oidc)
        self.oauth = OAuth(app)
        staff = settings.staff_oidc
        self.browser_oidc = None
        if staff and staff.client_id:
            self.browser_oidc = self.oauth.register(
                "staff", client_id=staff.client_id, client_secret=staff.client_secret,
                server_metadata_url=staff.issuer + "/.well-known/openid-configuration",
                client_kwargs={"scope": staff.scope, "code_challenge_method": "S256"},
            )


def install(app: Flask, engine, settings: IdentitySettings | None = None) -> Identity:
    settings = settings or IdentitySettings.from_env()
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="lienthong_session", WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    identity = Identity(app, engine.db, engine.clock, settings)
    app.extensions[EXTENSION] = identity
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_authenticate_and_authorize)
    app.after_request(_after)

    @app.errorhandler(CSRFError)
    def _csrf_refused(error):
        return _error(400, "InvalidRequestException", f"CSRF check failed: {error.description}")

    return identity


def identity() -> Identity:
    return current_app.extensions[EXTENSION]


def current() -> Principal | None:
    return g.get("principal")


def principal() -> Principal:
    """The caller of a route that requires a login (the check has already run)."""
    return g.principal


# --- per request ---------------------------------------------------------------------------------


def _authenticate_and_authorize():
    if request.endpoint is None:
        return None  # 404 / 405 answer as they would
    if request.method == "OPTIONS" and getattr(request.url_rule, "provide_automatic_options", False):
        # Flask's own answer (the allowed methods, and the CORS headers of api/cors.py), which runs
        # no view and reads nothing: a browser's preflight never carries credentials.
        return None
    view = current_app.view_functions.get(request.endpoint)
    permission = required(view) or _THIRD_PARTY.get(request.endpoint)
    try:
        who = _authenticate()
    except InvalidToken as exc:
        log.info("token refused", extra={"reason": str(exc), "endpoint": request.endpoint})
        return _unauthenticated(f"Invalid token: {exc}")
    g.principal = who
    if who is not None and who.source == "session" and request.method not in _SAFE:
        csrf.protect()
    if permission is None:
        log.error("route declares no permission", extra={"endpoint": request.endpoint})
        return _error(403, "AuthorizationException", f"The route {request.endpoint} declares no permission; it is closed.")
    if allows(who, permission):
        return None
    if who is None:
        return _unauthenticated("Authentication required")
    return _error(403, "AuthorizationException",
                  f"The user '{who.id}' does not have the '{permission}' permission.")


def _authenticate() -> Principal | None:
    ident = identity()
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        if not ident.issuers:
            raise InvalidToken("this service trusts no token issuer (LIENTHONG_OIDC_ISSUER is not set)")
        return ident.issuers.authenticate(credentials.strip())
    if scheme.lower() == "basic":
        auth = request.authorization
        if auth is None or not auth.username:
            raise InvalidToken("malformed Basic credentials")
        who = ident.accounts.authenticate(auth.username, auth.password or "")
        if who is None:
            raise InvalidToken("wrong user name or password, or the account is disabled")
        return who
    if header:
        raise InvalidToken(f"unsupported authorization scheme {scheme!r}")
    return _from_session(ident)


def _from_session(ident: Identity) -> Principal | None:
    stored = session.get("principal")
    if not stored:
        return None
    if stored.get("source") == "local":
        who = ident.accounts.principal(stored["id"])
        if who is None or who.claims.get("revision") != stored.get("revision"):
            session.clear()  # disabled, or changed (password, roles) since the login
            return None
    else:
        data = dict(stored["principal"])
        who = Principal(**{**data, **{k: frozenset(data[k]) for k in ("roles", "groups", "topics", "messages")}})
    return Principal(**{**who.__dict__, "source": "session"})


def _after(response):
    who = g.get("principal")
    if request.endpoint is not None:
        ident = identity()
        audit.record(ident.db, ident.clock, who, response)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", _CSP_SWAGGER if request.endpoint == "api-docs.openapi_swagger_ui" else _CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if who is not None:
        headers.setdefault("Cache-Control", "no-store")
    return response


def _error(status: int, kind: str, message: str):
    response = jsonify({"type": kind, "message": message})
    response.status_code = status
    return response


def _unauthenticated(message: str):
    response = _error(401, "AuthenticationException", message)
    response.headers["WWW-Authenticate"] = 'Basic realm="lienthong", Bearer'
    return response


# --- browser login -------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.route("/auth/login", methods=["GET"])
@requires(PUBLIC)
def login_form():
    return render_template("identity/login.html", next=_safe_next(request.args.get("next")),
                           oidc=identity().browser_oidc is not None, error=None)


@bp.route("/auth/login", methods=["POST"])
@requires(PUBLIC)
def login():
    csrf.protect()
    ident = identity()
    target = _safe_next(request.form.get("next"))
    who = ident.accounts.authenticate(request.form.get("username", ""), request.form.get("password", ""))
    if who is None:
        g.audit_dossier = None
        return render_template("identity/login.html", next=target, oidc=ident.browser_oidc is not None,
                               error="Tên đăng nhập hoặc mật khẩu không đúng."), 401
    session.clear()
    session.permanent = True
    session["principal"] = {"source": "local", "id": who.id, "revision": who.claims.get("revision")}
    g.principal = who
    return redirect(target)


@bp.route("/auth/oidc", methods=["GET"])
@requires(PUBLIC)
def oidc_login():
    ident = identity()
    if ident.browser_oidc is None:
        return _error(404, "NotFoundException", "OpenID Connect login is not configured (LIENTHONG_OIDC_CLIENT_ID)")
    session["login_next"] = _safe_next(request.args.get("next"))
    public = ident.settings.public_url
    # Behind a proxy the request's own host and scheme are the internal ones; the provider must
    # send the browser back to the address users reach.
    callback = public + url_for("auth.oidc_callback") if public else url_for("auth.oidc_callback", _external=True)
    return ident.browser_oidc.authorize_redirect(callback)


@bp.route("/auth/callback", methods=["GET"])
@requires(PUBLIC)
def oidc_callback():
    ident = identity()
    if ident.browser_oidc is None:
        return _error(404, "NotFoundException", "OpenID Connect login is not configured")
    try:
        token = ident.browser_oidc.authorize_access_token()
    except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a refused login
        log.info("oidc login refused", extra={"reason": type(exc).__name__})
        return _unauthenticated(f"The login could not be completed ({type(exc).__name__})")
    issuer = ident.issuers.by_issuer[ident.settings.staff_oidc.issuer]
    claims = dict(token.get("userinfo") or {})
    try:  # groups, roles and agency may travel in the access token rather than the ID token
        claims = {**issuer.verify(token["access_token"]), **claims}
    except (InvalidToken, KeyError):
        pass
    who = issuer.principal(claims)
    target = session.pop("login_next", "/")
    session.clear()
    session.permanent = True
    data = asdict(who)
    data.update({k: sorted(data[k]) for k in ("roles", "groups", "topics", "messages")})
    data.pop("claims", None)
    session["principal"] = {"source": "oidc", "id": who.id, "principal": data}
    g.principal = who
    return redirect(target)


@bp.route("/auth/logout", methods=["POST"])
@requires(PUBLIC)
def logout():
    csrf.protect()
    session.clear()
    return redirect(url_for("auth.login_form"))


@bp.route("/auth/me", methods=["GET"])
@requires("authenticated")
def me():
    who = principal()
    return jsonify({"id": who.id, "name": who.name, "roles": sorted(who.roles), "groups": sorted(who.groups),
                    "agency": who.agency, "source": who.source})


@bp.route("/auth/csrf", methods=["GET"])
@requires("authenticated")
def csrf_token():
    """The CSRF token of this session, for scripts of the console: a cookie-authenticated POST, PUT
    or DELETE must send it in the `X-CSRFToken` header (bearer and Basic callers need none)."""
    return jsonify({"csrfToken": generate_csrf()})
