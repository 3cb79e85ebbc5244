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
from twilio.base.exceptions import TwilioRestException
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
