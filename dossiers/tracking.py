"""Tracking a dossier without an account: its code and a secret the citizen receives at filing
(in the filing answer, and by SMS).

The secret is 10 characters from a 32-symbol alphabet without look-alikes (no 0/O, 1/I), shown as
two groups of five: 50 bits. With tracking limited per dossier code (30 tries an hour by default),
guessing one dossier's secret takes ~2·10^13 hours on average; across a million dossiers an attacker who could
also spread over unlimited addresses still expects under one hit in 4,000 years. Only an Argon2id
hash is stored, so the database alone does not give the secrets away. Its parameters are
OWASP's minimum for Argon2id (19 MiB, 2 passes: ~20 ms of CPU here) rather than the accounts'
RFC 9106 profile (~155 ms): a random 50-bit secret needs no more to resist an offline search
(~350,000 CPU-years for one secret), and filing and a public, rate-limited route pay it on every call.

The SMS is queued in the filing transaction (agencies.sms.queue_in) and sent by the dossier's
first SMS job, before the receipt notice: the secret is never a process variable, so no instance
variable, history row, job or task form shows it; the outbox masks it once sent and never logs it.
"""
from __future__ import annotations

import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0, 1, I, O
LENGTH = 10


def new_secret() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(secret: str) -> str:
    """What the citizen typed, as generated: case, spaces and dashes do not matter."""
    return "".join(secret.split()).replace("-", "").upper()


def _hasher() -> PasswordHasher:
    if os.environ.get("LIENTHONG_PASSWORD_HASH") == "cheapest":  # test suites only, as for accounts
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher().hash(normalise(secret))


def _matches(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher().verify(secret_hash, normalise(secret))
    except (VerificationError, InvalidHashError):
        return False


_UNKNOWN = None


def verify(secret_hash: str | None, secret: str) -> bool:
    """Whether `secret` is the one hashed. With no hash (an unknown code, a dossier filed before
    tracking existed) a hash is still checked, so the time taken tells nothing either."""
    global _UNKNOWN
    if secret_hash is None:
        if _UNKNOWN is None:
            _UNKNOWN = hash_secret(new_secret())
        _matches(_UNKNOWN, secret)
        return False
    return _matches(secret_hash, secret)


def sms_text(code: str, secret: str) -> str:
    """GSM-7 text, like the diagrams' SMS (no diacritics)."""
    return (f"Ma tra cuu ho so {code}: {secret}. Tra cuu tai Cong dich vu cong bang ma ho so va ma nay. "
            "Khong chia se ma nay cho nguoi khac.")
