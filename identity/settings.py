"""The identity settings, read once from the environment (with working defaults) and checked."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse


class SettingsError(ValueError):
    """A setting that cannot work; the message says which and why."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str = "lienthong"
    client_id: str | None = None  # the console's client (authorization-code flow with PKCE)
    client_secret: str | None = None
    groups_claim: str = "groups"
    roles_claim: str = "roles"
    agency_claim: str = "agency"
    topics_claim: str = "topics"
    messages_claim: str = "messages"
    # Tokens of this issuer are citizens' (VNeID): the subject is the personal ID number, the role citizen.
    citizens: bool = False
    leeway_seconds: int = 10
    # The issuer's keys are trusted this long once read, then read again: a key the issuer
    # removes (rotated out, or compromised) stops being accepted within this time.
    jwks_cache_seconds: float = 300.0
    # A token naming a key not seen yet makes the keys be read again, at most once per interval.
    jwks_refresh_seconds: float = 10.0
    scope: str = "openid profile"

    def __post_init__(self):
        # Written without a trailing "/", the one spelling every lookup uses; the tokens' `iss` is
        # compared with the discovery document's own spelling (Auth0's issuers end in "/").
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))


@dataclass(frozen=True)
class IdentitySettings:
    secret_key: str
    production: bool = False
    secure_cookies: bool = False
    # The address users reach (behind a TLS proxy: https://...); the OIDC callback is built on it.
    public_url: str | None = None
    oidc: tuple[OidcSettings, ...] = field(default_factory=tuple)
    # Tracking without an account, per client address and per dossier code (Flask-Limiter's notation).
    tracking_limit: str = "10 per minute; 30 per hour"
    # Where the limits' counters live: one process's memory, or a store API processes share.
    rate_limit_storage: str = "memory://"

    @property
    def staff_oidc(self) -> OidcSettings | None:
        return next((o for o in self.oidc if not o.citizens), None)

    @classmethod
    def from_env(cls, environ=os.environ, var_dir: Path = Path("var")) -> "IdentitySettings":
        production = environ.get("LIENTHONG_ENV", "development") == "production"
        secret = environ.get("LIENTHONG_SECRET_KEY")
        if not secret:
            if production:
                raise SettingsError("LIENTHONG_SECRET_KEY must be set when LIENTHONG_ENV=production "
                                    "(it signs the console's session cookies; e.g. `python -c 'import secrets; "
                                    "print(secrets.token_urlsafe(48))'`).")
            secret = _local_secret(var_dir)
        elif len(secret) < 32:
            raise SettingsError("LIENTHONG_SECRET_KEY is too short: use at least 32 random characters.")
        oidc = []
        for prefix, citizens in (("LIENTHONG_OIDC_", False), ("LIENTHONG_CITIZEN_OIDC_", True)):
            issuer = environ.get(prefix + "ISSUER")
            if not issuer:
                continue
            _check_issuer(prefix + "ISSUER", issuer, production)
            oidc.append(OidcSettings(
                issuer=issuer.rstrip("/"), citizens=citizens,
                audience=environ.get(prefix + "AUDIENCE", "lienthong"),
                client_id=environ.get(prefix + "CLIENT_ID"), client_secret=environ.get(prefix + "CLIENT_SECRET"),
                groups_claim=environ.get(prefix + "GROUPS_CLAIM", "groups"),
                roles_claim=environ.get(prefix + "ROLES_CLAIM", "roles"),
                agency_claim=environ.get(prefix + "AGENCY_CLAIM", "agency"),
                leeway_seconds=_int(environ, prefix + "LEEWAY_SECONDS", 10),
                jwks_cache_seconds=_int(environ, prefix + "JWKS_CACHE_SECONDS", 300),
            ))
        public_url = environ.get("LIENTHONG_PUBLIC_URL", "")
        return cls(secret_key=secret, production=production, oidc=tuple(oidc),
                   secure_cookies=public_url.startswith("https://") or production,
                   public_url=public_url.rstrip("/") or None,
                   tracking_limit=environ.get("LIENTHONG_TRACKING_RATE_LIMIT", cls.tracking_limit),
                   rate_limit_storage=environ.get("LIENTHONG_RATE_LIMIT_STORAGE", cls.rate_limit_storage))


def _check_issuer(name: str, issuer: str, production: bool) -> None:
    url = urlparse(issuer)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise SettingsError(f"{name}={issuer!r} is not an issuer URL (expected e.g. https://id.example.gov.vn/realms/lienthong).")
    if production and url.scheme != "https" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SettingsError(f"{name} must use https in production (got {issuer!r}).")


def _int(environ, name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of seconds") from None


def _local_secret(var_dir: Path) -> str:
    """The embedded default keeps a generated key under var/ (readable by this user only), so
    sessions survive a restart and no key is ever in the repository."""
    path = var_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key
