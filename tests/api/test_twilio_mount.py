"""The Twilio-compatible mount over raw HTTP (SPEC 9): Twilio's keys and envelope, 201 on
create, ApiVersion 2010-04-01, <TwilioResponse> XML and Twilio's error documents, while
the Restcomm mounts keep their own answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.test_accounts import parse_xml
from tests.conftest import Tenant

Client = TestClient[web.Request, web.Application]
AddInventory = Callable[..., Awaitable[None]]
TWILIO = "/2010-04-01"
NUMBER = "+15105550100"

TWILIO_NUMBER_KEYS = {
    "account_sid", "address_requirements", "address_sid", "api_version", "beta",
    "capabilities", "date_created", "date_updated", "emergency_status",
    "emergency_address_sid", "emergency_address_status", "friendly_name", "identity_sid",
    "origin", "phone_number", "sid", "sms_application_sid", "sms_fallback_method",
    "sms_fallback_url", "sms_method", "sms_url", "status_callback", "status_callback_method",
    "trunk_sid", "uri", "voice_receive_mode", "voice_application_sid", "voice_caller_id_lookup",
    "voice_fallback_method", "voice_fallback_url", "voice_method", "voice_url", "bundle_sid",
    "status", "subresource_uris",
}  # fmt: skip
ENVELOPE = {
    "first_page_uri", "end", "previous_page_uri", "uri", "page_size", "start",
    "next_page_uri", "page",
}  # fmt: skip


def numbers_path(mount: str, tenant: Tenant, tail: str = ".json") -> str:
    return f"{mount}/Accounts/{tenant.sid}/IncomingPhoneNumbers{tail}"


async def test_create_answers_201_with_twilios_number(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    await add_inventory(NUMBER)
    response = await client.post(
        numbers_path(TWILIO, tenant),
        data={"PhoneNumber": NUMBER, "ApiVersion": "2010-04-01"},
        headers=tenant.auth,
    )
    body = await response.json()

    assert response.status == 201
    assert set(body) == TWILIO_NUMBER_KEYS
    assert body["capabilities"] == {"voice": True, "sms": True, "mms": False, "fax": False}
    assert body["api_version"] == "2010-04-01"
    assert body["uri"] == f"{TWILIO}/Accounts/{tenant.sid}/IncomingPhoneNumbers/{body['sid']}.json"
    restcomm = await client.get(
        numbers_path("/2012-04-24", tenant, f"/{body['sid']}.json"), headers=tenant.auth
    )
    same = await restcomm.json()
    assert same["api_version"] == "2010-04-01"  # stored as given
    assert "voice_capable" in same["capabilities"]


async def test_list_has_twilios_envelope_with_links_under_the_mount(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    await add_inventory(NUMBER, "+15105550101", "+15105550102")
    for phone in (NUMBER, "+15105550101", "+15105550102"):
        await client.post(
            numbers_path(TWILIO, tenant), data={"PhoneNumber": phone}, headers=tenant.auth
        )

    response = await client.get(
        numbers_path(TWILIO, tenant), params={"PageSize": "2"}, headers=tenant.auth
    )
    body = await response.json()

    assert set(body) == ENVELOPE | {"incoming_phone_numbers"}
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (0, 2, 0, 1)
    assert body["previous_page_uri"] is None
    assert body["next_page_uri"].startswith(
        f"{TWILIO}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json?"
    )
    second = await client.get(body["next_page_uri"], headers=tenant.auth)
    page = await second.json()
    assert [n["phone_number"] for n in page["incoming_phone_numbers"]] == ["+15105550102"]
    assert page["next_page_uri"] is None


async def test_restcomm_mount_still_answers_200_and_refuses_twilios_version(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    await add_inventory(NUMBER)
    path = numbers_path("/2012-04-24", tenant)
    refused = await client.post(
        path, data={"PhoneNumber": NUMBER, "ApiVersion": "2010-04-01"}, headers=tenant.auth
    )
    assert refused.status == 400
    assert "ApiVersion" in (await refused.json())["message"]

    response = await client.post(path, data={"PhoneNumber": NUMBER}, headers=tenant.auth)
    assert response.status == 200
    listed = await (await client.get(path, headers=tenant.auth)).json()
    assert "incomingPhoneNumbers" in listed
    assert listed["num_pages"] == 1


async def test_xml_answers_and_errors_are_wrapped_in_twilio_response(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    await add_inventory(NUMBER)
    created = await client.post(
        numbers_path(TWILIO, tenant, ""), data={"PhoneNumber": NUMBER}, headers=tenant.auth
    )
    root = parse_xml(await created.text())
    assert (created.status, root.tag) == (201, "TwilioResponse")
    number = root.find("IncomingPhoneNumber")
    assert number is not None
    assert number.findtext("Capabilities/SMS") == "true"
    assert number.findtext("ApiVersion") == "2010-04-01"

    again = await client.post(
        numbers_path(TWILIO, tenant, ""), data={"PhoneNumber": NUMBER}, headers=tenant.auth
    )
    error = parse_xml(await again.text())
    assert (again.status, error.tag) == (400, "TwilioResponse")
    assert error.findtext("RestException/Code") == "21452"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({}, 400, 21421),
        ({"PhoneNumber": NUMBER, "ApiVersion": "2008-08-01"}, 400, 21100),
        ({"PhoneNumber": NUMBER, "VoiceMethod": "PUT"}, 400, 21100),
        ({"PhoneNumber": "+15105559999"}, 400, 21452),
    ],
    ids=["no-number", "bad-version", "bad-method", "not-in-inventory"],
)
async def test_errors_are_twilios_json_and_write_nothing(
    client: Client,
    tenant: Tenant,
    add_inventory: AddInventory,
    data: dict[str, str],
    status: int,
    code: int,
) -> None:
    await add_inventory(NUMBER)
    response = await client.post(numbers_path(TWILIO, tenant), data=data, headers=tenant.auth)
    body = await response.json()

    assert response.status == status
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (code, status)
    listed = await (await client.get(numbers_path(TWILIO, tenant), headers=tenant.auth)).json()
    assert listed["incoming_phone_numbers"] == []


async def test_restcomm_only_resources_are_not_on_the_twilio_mount(
    client: Client, admin: Tenant
) -> None:
    for path in (
        "/Organizations.json",
        f"/Accounts/{admin.sid}/IncomingPhoneNumbers/AvailableCountries.json",
    ):
        response = await client.get(TWILIO + path, headers=admin.auth)
        assert response.status in {404, 405}, path
