"""API key format, generation and hashing. Pure functions, no Django import.

A key reads ``si_<prefix>_<secret>``: the 10-character prefix is stored in clear so the key can
be found (and shown in lists), the secret only ever as part of the key's SHA-256. A key is
shown once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_NAMESPACE = "si"
PREFIX_LENGTH = 10
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_KEY_PATTERN = re.compile(rf"^{KEY_NAMESPACE}_([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{32,64}})$")


@dataclass(frozen=True)
class GeneratedKey:
    plaintext: str
    prefix: str
    sha256: str


def key_hash(plaintext: str) -> str:
    """Hex SHA-256 of the whole key. The secret has 256 bits of entropy, so no salt or KDF is needed."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_generate() -> GeneratedKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    plaintext = f"{KEY_NAMESPACE}_{prefix}_{secrets.token_urlsafe(32)}"
    return GeneratedKey(plaintext=plaintext, prefix=prefix, sha256=key_hash(plaintext))


def key_prefix_of(plaintext: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else (never raises)."""
    match = _KEY_PATTERN.match(plaintext)
    return match.group(1) if match else None


def key_matches(plaintext: str, stored_sha256: str) -> bool:
    """Constant-time comparison, so response timing reveals nothing about the stored hash."""
    return hmac.compare_digest(key_hash(plaintext), stored_sha256)
