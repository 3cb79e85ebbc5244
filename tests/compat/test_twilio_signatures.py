"""Webhook signatures Twilio users already validate (SPEC 9): after SignWithAuthToken=true,
twilio-python's RequestValidator(auth_token) accepts router's RCML fetches and status
callbacks, sent to real servers on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from tests.api.test_events import RcmlServer, serving_rcml
from tests.conftest import Tenant

Client = TestClient[web.Request, web.Application]
AddInventory = Callable[..., Awaitable[None]]
NUMBER = "+15105550100"


def basic(sid: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}


@pytest.fixture
async def receiver() -> AsyncIterator[RcmlServer]:
    """The tenant's web server: /ok... answers a document naming the path, /error 500."""
    async with serving_rcml() as server:
        yield server


async def twilio_post(client: Client, path: str, auth: dict[str, str], **data: str) -> Any:
    response = await client.post("/2010-04-01" + path, data=data, headers=auth)
    body = await response.json()
    assert response.status in {200, 201}, body
    return body


async def signed_account(client: Client, parent: Tenant) -> tuple[str, str]:
    """A sub-account created over the Twilio mount with SignWithAuthToken=true."""
    body = await twilio_post(
        client, "/Accounts.json", parent.auth, FriendlyName="shop", SignWithAuthToken="true"
    )
    assert body["signing_key"] == body["auth_token"]
    return body["sid"], body["auth_token"]


async def route_and_complete(client: Client, gateway: dict[str, str], call_sid: str) -> None:
    response = await client.post(
        "/v1/events/calls",
        json={"CallSid": call_sid, "From": "+15105559999", "To": NUMBER},
        headers=gateway,
    )
    assert response.status == 200, await response.text()
    response = await client.post(
        f"/v1/events/calls/{call_sid}/status", json={"CallStatus": "completed"}, headers=gateway
    )
    assert response.status == 202, await response.text()


async def test_validator_with_the_auth_token_accepts_rcml_fetches_and_callbacks(
    client: Client,
    tenant: Tenant,
    gateway: dict[str, str],
    receiver: RcmlServer,
    add_inventory: AddInventory,
) -> None:
    """POST RCML fetch and GET status callback both validate with the auth token; a
    validator holding another token refuses them."""
    await add_inventory(NUMBER)
    sid, token = await signed_account(client, tenant)
    await twilio_post(
        client,
        f"/Accounts/{sid}/IncomingPhoneNumbers.json",
        basic(sid, token),
        PhoneNumber=NUMBER,
        VoiceUrl=receiver.url("/ok/voice?shop=1"),
        StatusCallback=receiver.url("/ok/status"),
        StatusCallbackMethod="GET",
    )

    await route_and_complete(client, gateway, "CA" + "1" * 32)
    fetch = await receiver.wait_for("/ok/voice")
    callback = await receiver.wait_for("/ok/status")

    validator = RequestValidator(token)
    assert fetch.method == "POST"
    assert fetch.form["AccountSid"] == sid
    assert validator.validate(fetch.url, fetch.form, fetch.headers["X-Twilio-Signature"])
    assert callback.method == "GET"
    assert "CallStatus=completed" in callback.url
    assert validator.validate(callback.url, {}, callback.headers["X-Twilio-Signature"])
    other = RequestValidator("0" * 32)
    assert not other.validate(fetch.url, fetch.form, fetch.headers["X-Twilio-Signature"])
    assert not other.validate(callback.url, {}, callback.headers["X-Twilio-Signature"])


async def test_rotating_the_token_with_sign_with_auth_token_moves_the_signing_key(
    client: Client,
    tenant: Tenant,
    gateway: dict[str, str],
    receiver: RcmlServer,
    add_inventory: AddInventory,
) -> None:
    """RotateAuthToken=true with SignWithAuthToken=true: requests validate with the new
    token, no longer with the old one, and the old token no longer authenticates."""
    await add_inventory(NUMBER)
    sid, old_token = await signed_account(client, tenant)
    rotated = await twilio_post(
        client,
        f"/Accounts/{sid}.json",
        basic(sid, old_token),
        RotateAuthToken="true",
        SignWithAuthToken="true",
    )
    new_token = rotated["auth_token"]
    assert new_token != old_token
    assert rotated["signing_key"] == new_token
    await twilio_post(
        client,
        f"/Accounts/{sid}/IncomingPhoneNumbers.json",
        basic(sid, new_token),
        PhoneNumber=NUMBER,
        VoiceUrl=receiver.url("/ok/voice"),
    )
    response = await client.post(
        "/v1/events/calls",
        json={"CallSid": "CA" + "2" * 32, "From": "+15105559999", "To": NUMBER},
        headers=gateway,
    )
    assert response.status == 200
    fetch = await receiver.wait_for("/ok/voice")

    assert RequestValidator(new_token).validate(
        fetch.url, fetch.form, fetch.headers["X-Twilio-Signature"]
    )
    assert not RequestValidator(old_token).validate(
        fetch.url, fetch.form, fetch.headers["X-Twilio-Signature"]
    )
    stale = await client.get(f"/2010-04-01/Accounts/{sid}.json", headers=basic(sid, old_token))
    assert stale.status == 401
