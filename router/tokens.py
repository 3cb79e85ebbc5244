"""Secrets: generation, salted hashing and constant-time verification of tokens.

Tokens are 128-bit random values, so a fast keyed hash (HMAC-SHA256 with a per-token
salt) is enough; a slow KDF would only slow down every authenticated request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from router.domain import Credentials


def new_token() -> str:
    """A fresh auth token: 32 lowercase hex digits, like Restcomm's."""
    return secrets.token_hex(16)


def new_signing_key() -> str:
    """A fresh webhook signing key."""
    return secrets.token_hex(32)


def hash_token(token: str, salt: bytes | None = None) -> Credentials:
    """The stored form of a token."""
    salt = secrets.token_bytes(16) if salt is None else salt
    return Credentials(salt=salt, digest=_digest(token, salt))


def verify_token(token: str, stored: Credentials) -> bool:
    """Constant-time comparison of a presented token with the stored digest."""
    return hmac.compare_digest(_digest(token, stored.salt), stored.digest)


def _digest(token: str, salt: bytes) -> bytes:
    return hmac.new(salt, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
