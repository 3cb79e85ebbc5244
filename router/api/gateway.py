"""The gateway's bearer token: from configuration, else the hash stored at bootstrap."""

from __future__ import annotations

import binascii
import hmac
from base64 import b64decode

from aiohttp import web

from router import tokens
from router.domain import Credentials
from router.errors import Unauthenticated


class GatewayAuth:
    """Checks `Authorization: Bearer <token>` in constant time."""

    def __init__(self, configured: str, stored: Credentials | None) -> None:
        # Encoded once: the compare below runs for every gateway request.
        self._configured = configured.encode()
        self._stored = stored

    def replace_stored(self, stored: Credentials | None) -> None:
        """A rotated token (`router admin reset-token`) replaces the old one at once."""
        self._stored = stored

    def is_gateway(self, request: web.Request, *, allow_basic: bool = False) -> bool:
        """Bearer <token>; with `allow_basic`, also Basic with the token as the password
        (for gateways such as Kannel that can only put credentials in the URL)."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "bearer":
            return self._verify(credentials)
        if scheme == "basic" and allow_basic:
            return self._verify(_basic_password(credentials))
        return False

    def require(self, request: web.Request, *, allow_basic: bool = False) -> None:
        if not self.is_gateway(request, allow_basic=allow_basic):
            raise Unauthenticated(
                "Authentication failed: send Authorization: Bearer <gateway token>."
            )

    def _verify(self, token: str) -> bool:
        if not token:
            return False
        if self._configured:
            return hmac.compare_digest(token.encode(), self._configured)
        return self._stored is not None and tokens.verify_token(token, self._stored)


def _basic_password(credentials: str) -> str:
    """The password of Basic credentials (any user name), empty when malformed."""
    try:
        decoded = b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
