"""A real OpenID provider on loopback for the tests: tests/oidc/provider.mjs (the npm
`oidc-provider`, a certified implementation) run by node, on a free port, with signing keys
generated here (so a test can rotate them by restarting the provider with another set).

`OidcProvider.start()` waits for the discovery document; `restart(keys=...)` keeps the issuer URL
and port; `stop()` ends the process. The clients and their secrets are the ones provider.mjs
registers."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).parent.parent
SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"

CONSOLE = ("lienthong-console", "console-secret-for-tests-only")  # authorization code + PKCE, client_secret_basic
WORKER = ("scoring-worker", "worker-secret-for-tests-only")  # topic:clients.score, message:bhyt.card-issued
SHORT_LIVED = ("short-lived", "short-secret-for-tests-only")  # access tokens live one second
API_RESOURCE = "urn:lienthong:api"  # audience lienthong
OTHER_RESOURCE = "urn:other:api"  # audience other


def unavailable() -> str | None:
    """Why the provider cannot run here, or None. Under CI nothing is skipped."""
    if os.environ.get("CI"):
        return None
    if shutil.which("node") is None:
        return "node is not installed (CI runs these tests)"
    if not PACKAGE.is_dir():
        return "node_modules/oidc-provider is missing: run `npm ci` (CI runs these tests)"
    return None


requires_provider = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signing_keys(count: int = 1) -> dict:
    """A JSON Web Key Set of fresh RSA private keys, each with its own key id."""
    keys = []
    for _ in range(count):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private))
        jwk.pop("key_ops", None)  # PyJWT writes ["sign"]; the provider would publish it with the public key
        jwk.update({"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"})
        keys.append(jwk)
    return {"keys": keys}


class OidcProvider:
    """One provider process. `issuer` defaults to its own URL; giving another provider's issuer
    URL makes an impostor (same `iss`, other keys)."""

    def __init__(self, workdir: Path, *, redirect_uri: str = "http://127.0.0.1/auth/callback",
                 keys: dict | None = None, issuer: str | None = None, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = issuer or self.url
        self.redirect_uri = redirect_uri
        self.keys = keys or signing_keys()
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"oidc-provider-{self.port}.log"

    @property
    def kids(self) -> list[str]:
        return [k["kid"] for k in self.keys["keys"]]

    def start(self, timeout: float = 20.0) -> "OidcProvider":
        jwks_file = self.workdir / f"jwks-{self.port}-{uuid.uuid4().hex[:6]}.json"
        descriptor = os.open(jwks_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.keys, handle)
        env = {**os.environ, "OIDC_PORT": str(self.port), "OIDC_ISSUER": self.issuer,
               "OIDC_JWKS_FILE": str(jwks_file), "OIDC_REDIRECT_URI": self.redirect_uri}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(["node", str(SCRIPT)], cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                discovery = requests.get(self.url + "/.well-known/openid-configuration", timeout=2)
                if discovery.status_code == 200 and discovery.json()["issuer"] == self.issuer:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the OpenID provider did not answer within {timeout}s:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, *, keys: dict | None = None) -> "OidcProvider":
        """The same issuer URL and port, with another key set (a rotation) if given."""
        self.stop()
        if keys is not None:
            self.keys = keys
        return self.start()

    def client_credentials(self, client: tuple[str, str] = WORKER, scope: str | None = None,
                           resource: str | None = None) -> str:
        """An access token for a client, as a remote worker gets one (client_secret_basic)."""
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        if resource:
            data["resource"] = resource
        response = requests.post(self.url + "/token", data=data, auth=client, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def __enter__(self) -> "OidcProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
