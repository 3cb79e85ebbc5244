"""Which addresses outbound requests may reach: the deny list and its two guards.

Tenants choose the URLs we call, so every destination address is checked against a
deny list of networks (cloud metadata, link-local, and whatever operators add). Two
paths lead to an address and both are guarded:

- host names go through `DenyingResolver`, which aiohttp's connector asks for
  addresses; the connector then connects to exactly the addresses returned, so a DNS
  answer that changes between check and connect (rebinding) cannot slip through;
- IP-literal hosts never reach a resolver (aiohttp short-cuts them), so the sender
  (router/outbound/sender.py) runs `check_destination` on every URL it requests,
  redirects included.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from router.config import Settings
from router.errors import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeniedDestination(OSError):
    """The destination address is in the deny list; nothing was sent to it.

    An OSError so that it fails a request exactly like a refused connection.
    """

    def __init__(self, message: str) -> None:
        # With an errno the message lands in `strerror`, which aiohttp quotes when it
        # wraps resolver failures; a bare OSError(message) would show up as "[None]".
        super().__init__(errno.EACCES, message)


class DenyList:
    """The networks outbound requests must never reach."""

    __slots__ = ("_networks",)

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = tuple(_parse_network(text) for text in networks)

    @classmethod
    def from_settings(cls, settings: Settings) -> DenyList:
        """The deny list configured by `security_deny_networks`."""
        return cls(settings.security_deny_networks)

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The parsed networks, in configuration order."""
        return self._networks

    def denies(self, ip: str) -> bool:
        """Whether the address `ip` lies in a denied network.

        A string that is not an IP address is denied: this is only ever asked about
        resolved or literal addresses, and failing closed is the safe answer.
        """
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return True
        return any(self._contains(candidate) for candidate in _equivalents(address))

    def _contains(self, address: IPAddress) -> bool:
        return any(address in network for network in self._networks)


def _parse_network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise ConfigError(
            f"Setting security_deny_networks has an invalid network {text!r}: {error}",
            param="security_deny_networks",
        ) from error


def _equivalents(address: IPAddress) -> list[IPAddress]:
    # An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host, so it is
    # checked against IPv4 networks too; scope ids (fe80::1%eth0) compare by address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return [address, address.ipv4_mapped]
    return [address]


def literal_host(url: str | URL) -> str | None:
    """The URL's host if it is an IP literal (v4 or v6), else None."""
    host = URL(url).host if isinstance(url, str) else url.host
    if host is None:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


def check_destination(url: str | URL, deny_list: DenyList) -> None:
    """Raise DeniedDestination if the URL's host is a denied IP literal.

    Host names are left to `DenyingResolver`, which sees every address they resolve to.
    """
    host = literal_host(url)
    if host is not None and deny_list.denies(host):
        raise DeniedDestination(f"destination address {host} is denied")


class DenyingResolver(AbstractResolver):
    """A resolver that drops denied addresses from another resolver's answer."""

    def __init__(self, deny_list: DenyList, delegate: AbstractResolver | None = None) -> None:
        self._deny_list = deny_list
        # DefaultResolver binds to the running loop when made, so it is made lazily,
        # on the first lookup, which always happens inside the loop.
        self._delegate = delegate

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The delegate's addresses for `host` minus denied ones; OSError if none remain."""
        answers = await self._resolver().resolve(host, port, family)
        allowed = [answer for answer in answers if not self._deny_list.denies(answer["host"])]
        if not allowed:
            raise DeniedDestination(f"{host} resolves only to denied addresses")
        return allowed

    async def close(self) -> None:
        """Release the delegate resolver."""
        if self._delegate is not None:
            await self._delegate.close()

    def _resolver(self) -> AbstractResolver:
        if self._delegate is None:
            self._delegate = DefaultResolver()
        return self._delegate
