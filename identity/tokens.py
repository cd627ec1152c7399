"""Bearer tokens (JWT) from an OpenID Connect issuer: its discovery document, its keys (JWKS,
cached for `jwks_cache_seconds` so a key the issuer removes stops being accepted, and fetched again
when a token names a key not seen yet, so a rotation needs no restart), and the checks: signature,
issuer, audience, expiry."""
from __future__ import annotations

import logging
import threading
import time

import jwt
import requests

from .principal import Principal
from .settings import OidcSettings

log = logging.getLogger("lienthong.identity")
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for the log and the 401 answer)."""


class Issuer:
    """One trusted issuer: verifies its tokens and maps their claims to a Principal."""

    METADATA_TTL = 3600.0

    def __init__(self, settings: OidcSettings, http: requests.Session | None = None):
        self.settings = settings
        self.http = http or requests.Session()
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > self.METADATA_TTL:
                url = self.issuer + "/.well-known/openid-configuration"
                try:
                    response = self.http.get(url, timeout=10)
                    response.raise_for_status()
                    metadata = response.json()
                except (requests.RequestException, ValueError) as exc:
                    raise InvalidToken(f"the issuer's discovery document could not be read ({type(exc).__name__})") from None
                if metadata.get("issuer", "").rstrip("/") != self.issuer:
                    raise InvalidToken("the discovery document names another issuer")
                self._metadata, self._metadata_at = metadata, time.monotonic()
            return self._metadata

    def _key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            age = time.monotonic() - self._keys_at
            if self._keys and age < self.settings.jwks_cache_seconds:
                key = self._find(kid)
                if key is not None:
                    return key
                if age < self.settings.jwks_refresh_seconds:
                    raise InvalidToken("the token is signed with a key the issuer does not publish")
        try:
            response = self.http.get(self.metadata()["jwks_uri"], timeout=10)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (InvalidToken, requests.RequestException, ValueError, jwt.PyJWKSetError) as exc:
            with self._lock:
                stale = self._find(kid)
            if stale is not None:  # the issuer is unreachable: it has not said the key is gone
                log.warning("issuer keys could not be read again; the last ones read are used",
                            extra={"issuer": self.issuer, "reason": type(exc).__name__})
                return stale
            if isinstance(exc, InvalidToken):
                raise
            raise InvalidToken(f"the issuer's keys could not be read ({type(exc).__name__})") from None
        with self._lock:
            self._keys = {k.key_id or "": k for k in keys if (k.public_key_use in (None, "sig"))}
            self._keys_at = time.monotonic()
            log.info("issuer keys fetched", extra={"issuer": self.issuer, "keys": len(self._keys)})
            key = self._find(kid)
        if key is None:
            raise InvalidToken("the token is signed with a key the issuer does not publish")
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid or "")

    def verify(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a JWT") from None
        if header.get("alg") not in _ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        key = self._key(header.get("kid"))
        try:
            return jwt.decode(token, key.key, algorithms=[header["alg"]], audience=self.settings.audience,
                              issuer=self.metadata()["issuer"], leeway=self.settings.leeway_seconds,
                              options={"require": ["exp", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid ({type(exc).__name__})") from None

    def principal(self, claims: dict, source: str = "oidc") -> Principal:
        s = self.settings
        if s.citizens:
            return Principal(id=str(claims["sub"]), roles=frozenset({"citizen"}), name=claims.get("name"),
                             source=source, claims={"iss": self.issuer})
        scopes = set(str(claims.get("scope", "")).split())
        topics = set(_list(claims.get(s.topics_claim))) | {x[len("topic:"):] for x in scopes if x.startswith("topic:")}
        messages = set(_list(claims.get(s.messages_claim))) | {x[len("message:"):] for x in scopes if x.startswith("message:")} \
            | {x for x in scopes if x.startswith("signal:")}
        roles = set(_list(claims.get(s.roles_claim)))
        if "client_id" in claims and claims.get("sub") == claims.get("client_id") and (topics or messages):
            roles.add("service")  # client credentials: a machine, not a person
        agency = claims.get(s.agency_claim)
        return Principal(id=str(claims["sub"]), roles=frozenset(roles), groups=frozenset(_list(claims.get(s.groups_claim))),
                         agency=str(agency) if agency else None, topics=frozenset(topics), messages=frozenset(messages),
                         name=claims.get("name") or claims.get("preferred_username"), source=source,
                         claims={"iss": self.issuer})


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    return [str(v) for v in value]


class Issuers:
    """Every trusted issuer; a token is tried against the one its `iss` claim names."""

    def __init__(self, settings: tuple[OidcSettings, ...]):
        self.by_issuer = {s.issuer: Issuer(s) for s in settings}

    def __bool__(self) -> bool:
        return bool(self.by_issuer)

    def authenticate(self, token: str) -> Principal:
        try:
            claimed = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError:
            raise InvalidToken("not a JWT") from None
        issuer = self.by_issuer.get(str(claimed).rstrip("/"))
        if issuer is None:
            raise InvalidToken("the token is from an issuer this service does not trust")
        return issuer.principal(issuer.verify(token))
