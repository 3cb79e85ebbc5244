"""The Local, TollFree and Mobile IncomingPhoneNumbers factories (SPEC 2.1): a list of
that type on GET, provisioning of that type on POST (PhoneNumber required, AreaCode
refused), PUT and DELETE not supported, under both mount points and in every format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tests.conftest import Tenant

AddInventory = Callable[..., Awaitable[None]]
Client = TestClient[web.Request, web.Application]

MOUNTS = ("/2012-04-24", "/restcomm/2012-04-24")
FORMATS = ("suffix", "accept", "xml")


@dataclass(frozen=True)
class Kind:
    """A type route with one inventory number of its type."""

    route: str
    number_type: str
    phone_number: str
    friendly_name: str
    area_code: str
    country: str


LOCAL = Kind("Local", "local", "+15105555555", "(510) 555-5555", "510", "US")
TOLLFREE = Kind("TollFree", "tollfree", "+18005550100", "(800) 555-0100", "800", "US")
MOBILE = Kind("Mobile", "mobile", "+447700900123", "07700 900123", "7700", "GB")
KINDS = [pytest.param(k, id=k.route) for k in (LOCAL, TOLLFREE, MOBILE)]


@dataclass(frozen=True)
class Wire:
    """One mount point and one way of choosing the format."""

    mount: str
    fmt: str  # suffix: ".json"; accept: Accept header; xml: neither (the default)

    @property
    def is_json(self) -> bool:
        return self.fmt != "xml"

    def url(self, tail: str) -> str:
        return self.mount + tail + (".json" if self.fmt == "suffix" else "")

    def headers(self, tenant: Tenant) -> dict[str, str]:
        if self.fmt == "accept":
            return {**tenant.auth, "Accept": "application/json"}
        return dict(tenant.auth)


WIRES = [
    pytest.param(Wire(m, f), id=f"{m.strip('/').replace('/', '-')}-{f}")
    for m in MOUNTS
    for f in FORMATS
]
JSON_WIRE = Wire("/2012-04-24", "suffix")


def numbers_path(account_sid: str, route: str = "") -> str:
    return f"/Accounts/{account_sid}/IncomingPhoneNumbers" + (f"/{route}" if route else "")


def parse_xml(text: str) -> ET.Element:
    # The document comes from our own server under test, not from an untrusted party.
    root = ET.fromstring(text)  # noqa: S314
    assert root.tag == "RestcommResponse"
    return root


def snake_case(tag: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in tag).lstrip("_")


async def read_number(wire: Wire, response: ClientResponse) -> dict[str, Any]:
    """The IncomingPhoneNumber a response carries, in either format."""
    if wire.is_json:
        assert response.content_type == "application/json"
        body: dict[str, Any] = await response.json()
        return body
    assert response.content_type == "application/xml"
    element = parse_xml(await response.text()).find("IncomingPhoneNumber")
    assert element is not None
    return {snake_case(c.tag): c.text for c in element}


async def read_list(wire: Wire, response: ClientResponse) -> list[dict[str, Any]]:
    """The IncomingPhoneNumbers of a list response, in either format."""
    if wire.is_json:
        assert response.content_type == "application/json"
        items: list[dict[str, Any]] = (await response.json())["incomingPhoneNumbers"]
        return items
    assert response.content_type == "application/xml"
    listing = parse_xml(await response.text()).find("IncomingPhoneNumbers")
    assert listing is not None
    return [{snake_case(c.tag): c.text for c in e} for e in listing.findall("IncomingPhoneNumber")]


async def read_error(wire: Wire, response: ClientResponse) -> tuple[int, str]:
    """The (code, message) of an error response, checking the envelope of its format."""
    if wire.is_json:
        body = await response.json()
        assert set(body) == {"code", "message", "more_info", "status"}
        assert body["status"] == response.status
        return body["code"], body["message"]
    exception = parse_xml(await response.text()).find("RestException")
    assert exception is not None
    assert [c.tag for c in exception] == ["Code", "Message", "MoreInfo", "Status"]
    assert exception.findtext("Status") == str(response.status)
    return int(exception.findtext("Code") or 0), exception.findtext("Message") or ""


async def stock(add_inventory: AddInventory, *kinds: Kind) -> None:
    """Put each kind's number in the inventory as its type."""
    for kind in kinds:
        await add_inventory(
            kind.phone_number,
            number_type=kind.number_type,
            area_code=kind.area_code,
            country=kind.country,
        )


async def available(client: Client, tenant: Tenant, kind: Kind) -> list[str]:
    """The free numbers AvailablePhoneNumbers shows for the kind's country and type."""
    path = f"/Accounts/{tenant.sid}/AvailablePhoneNumbers/{kind.country}/{kind.route}"
    response = await client.get(JSON_WIRE.url(path), headers=tenant.auth)
    assert response.status == 200
    return [n["phone_number"] for n in (await response.json())["available_phone_numbers"]]


async def listed_sids(client: Client, tenant: Tenant) -> list[str]:
    response = await client.get(JSON_WIRE.url(numbers_path(tenant.sid)), headers=tenant.auth)
    assert response.status == 200
    return [n["sid"] for n in (await response.json())["incomingPhoneNumbers"]]


@pytest.mark.parametrize("wire", WIRES)
async def test_type_post_provisions_a_number_of_that_type_in_every_format(
    client: Client, tenant: Tenant, add_inventory: AddInventory, wire: Wire
) -> None:
    """POST on /Local, /TollFree and /Mobile answers 200 with a number of that type,
    owned by the URL account and gone from the inventory."""
    await stock(add_inventory, LOCAL, TOLLFREE, MOBILE)
    for kind in (LOCAL, TOLLFREE, MOBILE):
        response = await client.post(
            wire.url(numbers_path(tenant.sid, kind.route)),
            data={"PhoneNumber": kind.phone_number, "SmsUrl": "https://app.example.com/sms"},
            headers=wire.headers(tenant),
        )
        assert response.status == 200, kind.route
        number = await read_number(wire, response)
        assert number["phone_number"] == kind.phone_number
        assert number["number_type"] == kind.number_type
        assert number["friendly_name"] == kind.friendly_name
        assert number["account_sid"] == tenant.sid
        assert number["sms_url"] == "https://app.example.com/sms"
        assert number["uri"] == f"{wire.mount}{numbers_path(tenant.sid)}/{number['sid']}.json"
        assert await available(client, tenant, kind) == []
    assert len(await listed_sids(client, tenant)) == 3


@pytest.mark.parametrize("wire", WIRES)
async def test_type_get_lists_only_numbers_of_that_type_in_every_format(
    client: Client, tenant: Tenant, add_inventory: AddInventory, wire: Wire
) -> None:
    """GET on a type route lists the account's numbers of that type only (no SIP numbers,
    no other types)."""
    await stock(add_inventory, LOCAL, TOLLFREE, MOBILE)
    sids = {}
    for kind in (LOCAL, TOLLFREE, MOBILE):
        response = await client.post(
            JSON_WIRE.url(numbers_path(tenant.sid)),
            data={"PhoneNumber": kind.phone_number},
            headers=tenant.auth,
        )
        assert response.status == 200
        sids[kind.route] = (await response.json())["sid"]
    sip = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid)),
        data={"PhoneNumber": "1234", "isSIP": "true"},
        headers=tenant.auth,
    )
    assert sip.status == 200
    for kind in (LOCAL, TOLLFREE, MOBILE):
        response = await client.get(
            wire.url(numbers_path(tenant.sid, kind.route)), headers=wire.headers(tenant)
        )
        assert response.status == 200, kind.route
        items = await read_list(wire, response)
        assert [n["sid"] for n in items] == [sids[kind.route]]
        assert [n["phone_number"] for n in items] == [kind.phone_number]
        if wire.is_json:
            assert (await response.json())["total"] == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_type_get_does_not_list_other_accounts_numbers(
    client: Client,
    admin: Tenant,
    tenant: Tenant,
    make_account: Callable[..., Awaitable[Tenant]],
    add_inventory: AddInventory,
    kind: Kind,
) -> None:
    """A type list is scoped to the URL account like the plain list."""
    other = await make_account(admin)
    await stock(add_inventory, kind)
    response = await client.post(
        JSON_WIRE.url(numbers_path(other.sid, kind.route)),
        data={"PhoneNumber": kind.phone_number},
        headers=other.auth,
    )
    assert response.status == 200
    response = await client.get(
        JSON_WIRE.url(numbers_path(tenant.sid, kind.route)), headers=tenant.auth
    )
    assert response.status == 200
    assert (await response.json())["incomingPhoneNumbers"] == []


@pytest.mark.parametrize("body", [{}, {"PhoneNumber": ""}, {"VoiceUrl": "https://a.example/v"}])
@pytest.mark.parametrize("kind", KINDS)
async def test_type_post_requires_phone_number(
    client: Client,
    tenant: Tenant,
    add_inventory: AddInventory,
    kind: Kind,
    body: dict[str, str],
) -> None:
    """Without a PhoneNumber a type route answers 400 (21421) naming PhoneNumber."""
    await stock(add_inventory, kind)
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid, kind.route)), data=body, headers=tenant.auth
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21421
    assert "PhoneNumber" in message
    assert await listed_sids(client, tenant) == []


@pytest.mark.parametrize("with_phone_number", [False, True], ids=["alone", "with-PhoneNumber"])
@pytest.mark.parametrize("kind", KINDS)
async def test_type_post_refuses_area_code(
    client: Client,
    tenant: Tenant,
    add_inventory: AddInventory,
    kind: Kind,
    with_phone_number: bool,
) -> None:
    """AreaCode is not accepted on a type route, even next to PhoneNumber: 400 naming
    AreaCode, and nothing leaves the inventory."""
    await stock(add_inventory, kind)
    body = {"AreaCode": kind.area_code}
    if with_phone_number:
        body["PhoneNumber"] = kind.phone_number
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid, kind.route)), data=body, headers=tenant.auth
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21100
    assert "AreaCode" in message
    assert await listed_sids(client, tenant) == []
    assert await available(client, tenant, kind) == [kind.phone_number]


@pytest.mark.parametrize(
    ("route", "stocked"),
    [
        pytest.param(TOLLFREE, LOCAL, id="local-on-TollFree"),
        pytest.param(LOCAL, TOLLFREE, id="tollfree-on-Local"),
        pytest.param(MOBILE, LOCAL, id="local-on-Mobile"),
        pytest.param(LOCAL, MOBILE, id="mobile-on-Local"),
    ],
)
async def test_type_post_refuses_an_inventory_number_of_another_type(
    client: Client, tenant: Tenant, add_inventory: AddInventory, route: Kind, stocked: Kind
) -> None:
    """A number the inventory holds as another type is not available on this route:
    400 21452 naming PhoneNumber, and it stays free."""
    await stock(add_inventory, stocked)
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid, route.route)),
        data={"PhoneNumber": stocked.phone_number},
        headers=tenant.auth,
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21452
    assert "PhoneNumber" in message
    assert await available(client, tenant, stocked) == [stocked.phone_number]


async def test_type_post_reads_the_seed_curl_raw_plus(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """curl -d 'PhoneNumber=+18005550100' on /TollFree: the unescaped + (a space once
    decoded) is read as the + the client meant."""
    await stock(add_inventory, TOLLFREE)
    response = await client.post(
        f"/restcomm/2012-04-24{numbers_path(tenant.sid, 'TollFree')}.json",
        data=f"PhoneNumber={TOLLFREE.phone_number}",
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200, await response.text()
    number = await response.json()
    assert (number["phone_number"], number["number_type"]) == (TOLLFREE.phone_number, "tollfree")


@pytest.mark.parametrize("wire", WIRES)
async def test_put_and_delete_on_type_routes_answer_405(
    client: Client, tenant: Tenant, wire: Wire
) -> None:
    """PUT and DELETE are "Not Supported" on /Local, /TollFree and /Mobile: 405 in the
    caller's format."""
    for kind in (LOCAL, TOLLFREE, MOBILE):
        for method in ("PUT", "DELETE"):
            response = await client.request(
                method,
                wire.url(numbers_path(tenant.sid, kind.route)),
                headers=wire.headers(tenant),
            )
            assert response.status == 405, (kind.route, method)
            code, message = await read_error(wire, response)
            assert code == 20405
            assert method in message


@pytest.mark.parametrize("kind", KINDS)
async def test_type_post_with_is_sip_creates_a_sip_number(
    client: Client, tenant: Tenant, kind: Kind
) -> None:
    """isSIP=true on a type route (Restcomm's clients post SIP numbers to Local.json)
    creates a SIP number exactly as the list resource does: type sip, no inventory."""
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid, kind.route)),
        data={"PhoneNumber": "1234", "isSIP": "true"},
        headers=tenant.auth,
    )
    assert response.status == 200
    body = await response.json()
    assert (body["phone_number"], body["number_type"], body["pure_sip"]) == ("1234", "sip", True)
    assert await listed_sids(client, tenant) == [body["sid"]]


@pytest.mark.parametrize("kind", KINDS)
async def test_type_post_with_is_sip_still_refuses_area_code(
    client: Client, tenant: Tenant, kind: Kind
) -> None:
    """AreaCode stays refused on a type route, isSIP or not; nothing is created."""
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid, kind.route)),
        data={"AreaCode": "510", "isSIP": "true"},
        headers=tenant.auth,
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21100
    assert "AreaCode" in message
    assert await listed_sids(client, tenant) == []
