"""Credentials out of messages that outlive a request: a failed job's message and stack trace, an
incident, an outbox error, a log line. An adapter's configured URL may carry them
(`https://user:password@agency.example/api?token=...`), and its error messages quote that URL."""
from __future__ import annotations

import re

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:access_token|id_token|refresh_token|token|api[_-]?key|apikey|key|client_secret|secret|"
    r"password|passwd|pwd|signature|sig|auth)=)[^&#\s'\"<>]*")
HIDDEN = "***"


def hide_credentials(text: str) -> str:
    """`user:password@` in URLs and the values of token=, key=, secret=, password= (and the like)
    in query strings, replaced by ***."""
    return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", _USERINFO.sub(rf"\g<1>{HIDDEN}@", text))
