"""The address of the client behind a request, for per-address limits.

Behind a reverse proxy every request comes from the proxy, so one client's failures
would lock out everyone. When the peer is one of the operator's trusted proxies
(setting auth.trusted_proxies), the client is the right-most X-Forwarded-For hop that
is not itself a trusted proxy: each proxy appends the address it saw, so hops to the
left of that one are the client's own claims and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    """Tells the client address of a request, given the trusted proxies' networks."""

    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        # Parsed once: a malformed network fails at start, not per request.
        self._trusted = tuple(
            ipaddress.ip_network(text.strip(), strict=False) for text in trusted_proxies
        )

    def of(self, request: web.BaseRequest) -> str:
        """The peer's address, or the client's as trusted proxies report it."""
        peer = request.remote or ""
        if not self._trusted or not _is_trusted(peer, self._trusted):
            return peer
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            if not _is_trusted(hop, self._trusted):
                return hop
        return peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
