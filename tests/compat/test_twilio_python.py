"""Twilio's own Python SDK (twilio-python) against router's 2010-04-01 mount (SPEC 9):
an unmodified program whose only change is `client.api.base_url`. The SDK is
synchronous, so each call runs in a thread while the test server serves on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client as TwilioClient

from tests.conftest import Tenant

T = TypeVar("T")
Client = TestClient[web.Request, web.Application]
AddInventory = Callable[..., Awaitable[None]]
MakeAccount = Callable[..., Awaitable[Tenant]]

NUMBER = "+15105550100"
VOICE_URL = "https://app.example.com/voice.xml"


def twilio_for(client: Client, tenant: Tenant) -> TwilioClient:
    """A Twilio client for the tenant, pointed at the test server: the one line changed."""
    twilio = TwilioClient(tenant.sid, tenant.token)
    twilio.api.base_url = str(client.make_url("")).rstrip("/")
    return twilio


async def sdk(call: Callable[[], T]) -> T:
    """Run a blocking SDK call off the event loop the test server runs on."""
    return await asyncio.wait_for(asyncio.to_thread(call), timeout=30)


async def test_sdk_provisions_fetches_updates_and_releases_a_number(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """Create (201), fetch, update and delete through the SDK; the number returns to
    the inventory and a fetch after the delete raises 20404."""
    await add_inventory(NUMBER)
    twilio = twilio_for(client, tenant)

    created = await sdk(
        lambda: twilio.incoming_phone_numbers.create(phone_number=NUMBER, voice_url=VOICE_URL)
    )
    assert created.sid.startswith("PN")
    assert (created.phone_number, created.voice_url) == (NUMBER, VOICE_URL)
    assert created.account_sid == tenant.sid
    assert created.api_version == "2010-04-01"
    assert created.capabilities == {"voice": True, "sms": True, "mms": False, "fax": False}
    assert created.friendly_name == "(510) 555-0100"
    assert (
        created.uri == f"/2010-04-01/Accounts/{tenant.sid}/IncomingPhoneNumbers/{created.sid}.json"
    )
    assert created.date_created is not None

    fetched = await sdk(lambda: twilio.incoming_phone_numbers(created.sid).fetch())
    assert fetched.sid == created.sid
    assert fetched.voice_url == VOICE_URL

    updated = await sdk(
        lambda: twilio.incoming_phone_numbers(created.sid).update(
            friendly_name="Front desk",
            sms_url="https://app.example.com/sms",
            api_version="2010-04-01",
        )
    )
    assert (updated.friendly_name, updated.sms_url) == ("Front desk", "https://app.example.com/sms")
    assert updated.voice_url == VOICE_URL

    assert await sdk(lambda: twilio.incoming_phone_numbers(created.sid).delete()) is True
    with pytest.raises(TwilioRestException) as raised:
        await sdk(lambda: twilio.incoming_phone_numbers(created.sid).fetch())
    assert (raised.value.status, raised.value.code) == (404, 20404)
    available = await sdk(lambda: twilio.available_phone_numbers("US").local.list())
    assert [n.phone_number for n in available] == [NUMBER]


NUMBERS = [f"+1510555{n:04d}" for n in range(200, 205)]


async def test_sdk_lists_every_page_and_streams(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """list() and stream() follow next_page_uri (under /2010-04-01) across pages; a page
    of two has Twilio's envelope and links."""
    await add_inventory(*NUMBERS)
    twilio = twilio_for(client, tenant)
    for phone in NUMBERS:
        await sdk(lambda phone=phone: twilio.incoming_phone_numbers.create(phone_number=phone))

    listed = await sdk(lambda: twilio.incoming_phone_numbers.list(page_size=2))
    assert sorted(n.phone_number for n in listed) == NUMBERS
    assert len({n.sid for n in listed}) == len(NUMBERS)
    streamed = await sdk(lambda: list(twilio.incoming_phone_numbers.stream(page_size=2, limit=3)))
    assert [n.sid for n in streamed] == [n.sid for n in listed[:3]]
    filtered = await sdk(
        lambda: twilio.incoming_phone_numbers.list(phone_number="555020", page_size=1)
    )
    assert sorted(n.phone_number for n in filtered) == NUMBERS
    page = await sdk(lambda: twilio.incoming_phone_numbers.page(page_size=2))
    base = twilio.api.base_url
    assert page.next_page_url is not None
    assert page.next_page_url.startswith(f"{base}/2010-04-01/Accounts/{tenant.sid}/")
    assert page.previous_page_url is None
    last = await sdk(lambda: page.next_page().next_page())
    assert len(list(last)) == 1
    assert last.next_page_url is None


async def test_sdk_transfers_a_number_to_a_sub_account(
    client: Client, tenant: Tenant, make_account: MakeAccount, add_inventory: AddInventory
) -> None:
    """update(account_sid=...) moves the number; the new owner sees it, the old does not."""
    await add_inventory(NUMBER)
    child = await make_account(tenant)
    twilio = twilio_for(client, tenant)
    created = await sdk(lambda: twilio.incoming_phone_numbers.create(phone_number=NUMBER))

    moved = await sdk(
        lambda: twilio.incoming_phone_numbers(created.sid).update(account_sid=child.sid)
    )

    assert moved.account_sid == child.sid
    assert await sdk(lambda: twilio.incoming_phone_numbers.list()) == []
    theirs = await sdk(lambda: twilio_for(client, child).incoming_phone_numbers.list())
    assert [n.sid for n in theirs] == [created.sid]


async def test_sdk_type_lists_and_available_numbers(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """Local/TollFree/Mobile create and list by type; available numbers come from the
    inventory with Twilio's keys; the country list and country resource link to them."""
    await add_inventory(NUMBER, "+15105550101")
    await add_inventory("+18005550100", number_type="tollfree", area_code="800")
    await add_inventory("+447700900123", number_type="mobile", area_code="7700", country="GB")
    twilio = twilio_for(client, tenant)

    local = await sdk(lambda: twilio.available_phone_numbers("US").local.list(area_code=510))
    assert [n.phone_number for n in local] == [NUMBER, "+15105550101"]
    assert (local[0].iso_country, local[0].friendly_name, local[0].region) == (
        "US",
        "(510) 555-0100",
        None,
    )
    assert local[0].capabilities == {"voice": True, "sms": True, "mms": False, "fax": False}
    countries = await sdk(lambda: twilio.available_phone_numbers.list())
    assert [(c.country_code, c.country) for c in countries] == [
        ("GB", "United Kingdom"),
        ("US", "United States"),
    ]
    us = await sdk(lambda: twilio.available_phone_numbers("US").fetch())
    assert us.subresource_uris["toll_free"].endswith("/AvailablePhoneNumbers/US/TollFree.json")

    made_local = await sdk(lambda: twilio.incoming_phone_numbers.local.create(phone_number=NUMBER))
    made_tollfree = await sdk(
        lambda: twilio.incoming_phone_numbers.toll_free.create(phone_number="+18005550100")
    )
    made_mobile = await sdk(
        lambda: twilio.incoming_phone_numbers.mobile.create(phone_number="+447700900123")
    )
    assert [n.sid for n in await sdk(lambda: twilio.incoming_phone_numbers.local.list())] == [
        made_local.sid
    ]
    tollfree = await sdk(lambda: twilio.incoming_phone_numbers.toll_free.list())
    assert [n.sid for n in tollfree] == [made_tollfree.sid]
    mobile = await sdk(lambda: twilio.incoming_phone_numbers.mobile.list())
    assert [n.phone_number for n in mobile] == [made_mobile.phone_number]
    with pytest.raises(TwilioRestException) as raised:
        await sdk(lambda: twilio.incoming_phone_numbers.mobile.create(phone_number="+15105550101"))
    assert (raised.value.status, raised.value.code) == (400, 21452)


async def test_sdk_manages_accounts(client: Client, tenant: Tenant) -> None:
    """Create (token shown once), list with paging, fetch, rename, suspend, close."""
    twilio = twilio_for(client, tenant)

    created = await sdk(lambda: twilio.api.accounts.create(friendly_name="shop"))
    assert created.auth_token
    assert (created.owner_account_sid, created.type, created.status) == (
        tenant.sid,
        "Full",
        "active",
    )
    listed = await sdk(lambda: twilio.api.accounts.list(page_size=1))
    assert [a.sid for a in listed] == [tenant.sid, created.sid]
    fetched = await sdk(lambda: twilio.api.accounts(created.sid).fetch())
    assert fetched.auth_token is None
    assert fetched.subresource_uris["incoming_phone_numbers"].endswith(
        f"/Accounts/{created.sid}/IncomingPhoneNumbers.json"
    )
    renamed = await sdk(lambda: twilio.api.accounts(created.sid).update(friendly_name="store"))
    assert renamed.friendly_name == "store"
    closed = await sdk(lambda: twilio.api.accounts(created.sid).update(status="closed"))
    assert closed.status == "closed"
    with pytest.raises(TwilioRestException) as raised:
        await sdk(lambda: twilio.api.accounts(created.sid).update(status="active"))
    assert (raised.value.status, raised.value.code) == (400, 21100)


async def test_sdk_manages_applications(client: Client, tenant: Tenant) -> None:
    twilio = twilio_for(client, tenant)

    created = await sdk(
        lambda: twilio.applications.create(friendly_name="ivr", voice_url=VOICE_URL)
    )
    assert (created.voice_url, created.sms_url, created.api_version) == (
        VOICE_URL,
        None,
        "2010-04-01",
    )
    listed = await sdk(lambda: twilio.applications.list())
    assert [a.sid for a in listed] == [created.sid]
    updated = await sdk(
        lambda: twilio.applications(created.sid).update(sms_url="https://app.example.com/sms")
    )
    assert (updated.voice_url, updated.sms_url) == (None, "https://app.example.com/sms")
    assert await sdk(lambda: twilio.applications(created.sid).delete()) is True
    assert await sdk(lambda: twilio.applications.list()) == []


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (lambda t: t.incoming_phone_numbers.create(phone_number=NUMBER), 400, 21452),
        (lambda t: t.incoming_phone_numbers.create(phone_number="12345"), 400, 21421),
        (
            lambda t: t.incoming_phone_numbers.create(phone_number=NUMBER, voice_url="ftp://x"),
            400,
            21402,
        ),
        (lambda t: t.incoming_phone_numbers("PN" + "0" * 32).fetch(), 404, 20404),
    ],
    ids=["not-available", "not-e164", "bad-url", "unknown-sid"],
)
async def test_sdk_raises_twilio_rest_exception_with_the_code(
    client: Client, tenant: Tenant, call: Callable[[TwilioClient], object], status: int, code: int
) -> None:
    twilio = twilio_for(client, tenant)
    with pytest.raises(TwilioRestException) as raised:
        await sdk(lambda: call(twilio))
    assert (raised.value.status, raised.value.code) == (status, code)
    assert raised.value.msg


async def test_sdk_with_a_wrong_token_gets_20003(client: Client, tenant: Tenant) -> None:
    twilio = twilio_for(client, Tenant(tenant.account, "0" * 32))
    with pytest.raises(TwilioRestException) as raised:
        await sdk(lambda: twilio.api.accounts(tenant.sid).fetch())
    assert (raised.value.status, raised.value.code) == (401, 20003)


@pytest.mark.parametrize(
    ("token", "page", "expected"),
    [("0" * 32, 0, '"code":20003'), (None, 9, '"code":21100')],
    ids=["wrong-token", "past-the-end"],
)
async def test_sdk_list_errors_carry_the_twilio_error_body(
    client: Client, tenant: Tenant, token: str | None, page: int, expected: str
) -> None:
    """The SDK's page reader wraps list errors in TwilioException with the answer's body."""
    twilio = twilio_for(client, Tenant(tenant.account, token or tenant.token))
    with pytest.raises(TwilioException) as raised:
        await sdk(lambda: twilio.incoming_phone_numbers.page(page_number=page))
    assert expected in str(raised.value)
