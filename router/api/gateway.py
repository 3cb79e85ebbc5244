"""The gateway's bearer token: from configuration, else the hash stored at bootstrap."""

from __future__ import annotations

import hmac

from aiohttp import web

from router import tokens
from router.domain import Credentials
from router.errors import Unauthenticated


class GatewayAuth:
    """Checks `Authorization: Bearer <token>` in constant time."""

    def __init__(self, configured: str, stored: Credentials | None) -> None:
        self._configured = configured
        self._stored = stored

    def replace_stored(self, stored: Credentials | None) -> None:
        """A rotated token (`router admin reset-token`) replaces the old one at once."""
        self._stored = stored

    def is_gateway(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        token = token.strip()
        if self._configured:
            return hmac.compare_digest(token.encode(), self._configured.encode())
        return self._stored is not None and tokens.verify_token(token, self._stored)

    def require(self, request: web.Request) -> None:
        if not self.is_gateway(request):
            raise Unauthenticated(
                "Authentication failed: send Authorization: Bearer <gateway token>."
            )
