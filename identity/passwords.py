"""Argon2id password hashes (argon2-cffi) and generated passwords."""
from __future__ import annotations

import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError


def _hasher() -> PasswordHasher:
    # RFC 9106's low-memory profile in production; LIENTHONG_PASSWORD_HASH=cheapest only for test suites
    # that create thousands of accounts (the hashes it writes are still verified by the normal hasher).
    if os.environ.get("LIENTHONG_PASSWORD_HASH") == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A password to print once: 16 characters from a URL-safe alphabet (~96 bits)."""
    return secrets.token_urlsafe(12)
