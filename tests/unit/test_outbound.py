"""Outbound safety: the deny list, IP-literal checks and the filtering resolver."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from router.config import Settings
from router.errors import ConfigError
from router.outbound import (
    DeniedDestination,
    DenyingResolver,
    DenyList,
    check_destination,
    literal_host,
)

DEFAULTS = DenyList(Settings().security_deny_networks)


@pytest.mark.parametrize(
    "ip",
    [
        "169.254.169.254",
        "169.254.0.1",
        "100.100.100.200",
        "fe80::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
    ],
)
def test_default_list_denies_metadata_and_link_local(ip: str) -> None:
    assert DEFAULTS.denies(ip)


@pytest.mark.parametrize(
    "ip", ["127.0.0.1", "10.0.0.1", "8.8.8.8", "100.100.100.201", "::1", "2001:db8::1"]
)
def test_default_list_allows_other_addresses(ip: str) -> None:
    assert not DEFAULTS.denies(ip)


def test_operators_can_add_private_ranges() -> None:
    deny = DenyList(["10.0.0.0/8", " 2001:db8::/32 "])
    assert deny.denies("10.200.3.4")
    assert deny.denies("2001:db8:1::5")
    assert not deny.denies("11.0.0.1")


def test_host_bits_in_a_network_are_tolerated() -> None:
    assert DenyList(["192.168.1.7/24"]).denies("192.168.1.200")


def test_empty_list_denies_nothing() -> None:
    assert not DenyList([]).denies("169.254.169.254")


def test_something_that_is_not_an_address_is_denied() -> None:
    """Fail closed: the resolver only ever hands over addresses."""
    assert DenyList([]).denies("not-an-ip")


@pytest.mark.parametrize("network", ["10.0.0.0/33", "banana", "1.2.3.4/x", "fe80::/200"])
def test_malformed_network_is_a_config_error_naming_the_setting(network: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DenyList(["10.0.0.0/8", network])
    assert caught.value.param == "security_deny_networks"
    assert "security_deny_networks" in caught.value.message


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://169.254.169.254/latest", "169.254.169.254"),
        ("http://[::1]:8080/x", "::1"),
        ("https://[fe80::1%25eth0]/", "fe80::1%eth0"),
        ("http://example.com/", None),
        ("http://localhost:80/", None),
    ],
)
def test_literal_host_recognises_ip_literals_only(url: str, host: str | None) -> None:
    assert literal_host(url) == host


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "https://[fe80::abcd]:8443/x",
    ],
)
def test_denied_ip_literal_is_refused(url: str) -> None:
    with pytest.raises(DeniedDestination):
        check_destination(url, DEFAULTS)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://[2001:db8::1]/", "http://x.test/"])
def test_allowed_or_named_host_passes_the_literal_check(url: str) -> None:
    check_destination(url, DEFAULTS)


def test_denied_destination_is_an_os_error() -> None:
    """So callers treat it exactly like a refused connection."""
    assert issubclass(DeniedDestination, OSError)


class FixedAnswers(AbstractResolver):
    """A DNS stand-in answering every name with the given addresses."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_resolver_drops_denied_addresses_and_keeps_the_rest() -> None:
    delegate = FixedAnswers(["169.254.169.254", "93.184.216.34", "fe80::1", "2001:db8::7"])
    answers = await DenyingResolver(DEFAULTS, delegate).resolve("rebind.test", 80)
    assert [answer["host"] for answer in answers] == ["93.184.216.34", "2001:db8::7"]


async def test_resolver_raises_os_error_when_every_address_is_denied() -> None:
    delegate = FixedAnswers(["169.254.169.254", "fd00:ec2::254"])
    with pytest.raises(OSError, match="denied"):
        await DenyingResolver(DEFAULTS, delegate).resolve("metadata.test", 80)


async def test_resolver_close_releases_the_delegate() -> None:
    delegate = FixedAnswers([])
    await DenyingResolver(DEFAULTS, delegate).close()
    assert delegate.closed
