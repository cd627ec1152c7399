"""Tracking a dossier without an account: its code and a secret the citizen receives at filing
(in the filing answer, and by SMS).

The secret is 10 characters from a 32-symbol alphabet without look-alikes (no 0/O, 1/I), shown as
two groups of five: 50 bits. With tracking limited per dossier code (30 tries an hour by default),
guessing one dossier's secret takes ~2·10^13 hours on average; across a million dossiers an attacker who could
also spread over unlimited addresses still expects under one hit in 4,000 years. Only an Argon2id
hash is stored (identity/passwords.py), so the database alone does not give the secrets away.

The SMS is queued in the filing transaction (handlers.notify.queue_in) and sent by the dossier's
first SMS job, before the receipt notice: the secret is never a process variable, so no instance
variable, history row, job or task form shows it; the outbox masks it once sent and never logs it.
"""
from __future__ import annotations

import secrets

from identity.passwords import hash_password, verify_password

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0, 1, I, O
LENGTH = 10


def new_secret() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(secret: str) -> str:
    """What the citizen typed, as generated: case, spaces and dashes do not matter."""
    return "".join(secret.split()).replace("-", "").upper()


def hash_secret(secret: str) -> str:
    return hash_password(normalise(secret))


_UNKNOWN = None


def verify(secret_hash: str | None, secret: str) -> bool:
    """Whether `secret` is the one hashed. With no hash (an unknown code, a dossier filed before
    tracking existed) a hash is still checked, so the time taken tells nothing either."""
    global _UNKNOWN
    if secret_hash is None:
        if _UNKNOWN is None:
            _UNKNOWN = hash_password(new_secret())
        verify_password(_UNKNOWN, normalise(secret))
        return False
    return verify_password(secret_hash, normalise(secret))


def sms_text(code: str, secret: str) -> str:
    """GSM-7 text, like the diagrams' SMS (no diacritics)."""
    return (f"Ma tra cuu ho so {code}: {secret}. Tra cuu tai Cong dich vu cong bang ma ho so va ma nay. "
            "Khong chia se ma nay cho nguoi khac.")
