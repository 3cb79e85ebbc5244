"""IncomingPhoneNumbers over HTTP (SPEC 2.1): the list and instance routes under both
mount points and in every format, the resource's wire shape, defaults, updates and
transfers, applications, the number inventory, concurrency and pattern numbers."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from router.domain import Organization
from router.store.postgres import Database
from tests.conftest import Tenant

MakeAccount = Callable[..., Awaitable[Tenant]]
MakeOrg = Callable[..., Awaitable[Organization]]
AddInventory = Callable[..., Awaitable[None]]
Client = TestClient[web.Request, web.Application]

MOUNTS = ("/2012-04-24", "/restcomm/2012-04-24")
FORMATS = ("suffix", "accept", "xml")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NUMBER = "+15105555555"
OTHER_NUMBER = "+15105555556"
VOICE_URL = "https://app.example.com/voice.xml"
SMS_URL = "https://app.example.com/sms.xml"

JSON_KEYS = [
    "sid",
    "account_sid",
    "friendly_name",
    "phone_number",
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "status_callback",
    "status_callback_method",
    "voice_caller_id_lookup",
    "voice_application_sid",
    "date_created",
    "date_updated",
    "sms_url",
    "sms_method",
    "sms_fallback_url",
    "sms_fallback_method",
    "sms_application_sid",
    "refer_url",
    "refer_method",
    "refer_application_sid",
    "capabilities",
    "api_version",
    "uri",
]
XML_ELEMENTS = [
    "Sid",
    "AccountSid",
    "FriendlyName",
    "PhoneNumber",
    "VoiceUrl",
    "VoiceMethod",
    "VoiceFallbackUrl",
    "VoiceFallbackMethod",
    "StatusCallback",
    "StatusCallbackMethod",
    "VoiceCallerIdLookup",
    "VoiceApplicationSid",
    "DateCreated",
    "DateUpdated",
    "SmsUrl",
    "SmsMethod",
    "SmsFallbackUrl",
    "SmsFallbackMethod",
    "SmsApplicationSid",
    "ReferUrl",
    "ReferMethod",
    "ReferApplicationSid",
    "Capabilities",
    "ApiVersion",
    "Uri",
]
METHOD_KEYS = [k for k in JSON_KEYS if k.endswith("_method")]
RFC2822_GMT = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)


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

    def headers(self, tenant: Tenant, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {**tenant.auth, **(extra or {})}
        if self.fmt == "accept":
            headers["Accept"] = "application/json"
        return headers


WIRES = [
    pytest.param(Wire(m, f), id=f"{m.strip('/').replace('/', '-')}-{f}")
    for m in MOUNTS
    for f in FORMATS
]
JSON_WIRE = Wire("/2012-04-24", "suffix")


def numbers_path(account_sid: str) -> str:
    return f"/Accounts/{account_sid}/IncomingPhoneNumbers"


def parse_xml(text: str) -> ET.Element:
    # The document comes from our own server under test, not from an untrusted party.
    return ET.fromstring(text)  # noqa: S314


def snake_case(tag: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", tag).lower()


def xml_number(element: ET.Element) -> dict[str, Any]:
    """An <IncomingPhoneNumber> element as a dict of snake_case keys to texts."""
    return {snake_case(child.tag): child.text for child in element}


async def read_number(wire: Wire, response: ClientResponse) -> dict[str, Any]:
    """The IncomingPhoneNumber a response carries, in either format."""
    if wire.is_json:
        assert response.content_type == "application/json"
        body: dict[str, Any] = await response.json()
        return body
    assert response.content_type == "application/xml"
    root = parse_xml(await response.text())
    assert root.tag == "RestcommResponse"
    element = root.find("IncomingPhoneNumber")
    assert element is not None
    return xml_number(element)


async def read_list(wire: Wire, response: ClientResponse) -> list[dict[str, Any]]:
    """The IncomingPhoneNumbers of a list response, in either format."""
    if wire.is_json:
        assert response.content_type == "application/json"
        items: list[dict[str, Any]] = (await response.json())["incomingPhoneNumbers"]
        return items
    assert response.content_type == "application/xml"
    root = parse_xml(await response.text())
    assert root.tag == "RestcommResponse"
    listing = root.find("IncomingPhoneNumbers")
    assert listing is not None
    return [xml_number(e) for e in listing.findall("IncomingPhoneNumber")]


async def read_error(wire: Wire, response: ClientResponse) -> tuple[int, str]:
    """The (code, message) of an error response, checking the envelope of its format."""
    if wire.is_json:
        body = await response.json()
        assert set(body) == {"code", "message", "more_info", "status"}
        assert body["status"] == response.status
        return body["code"], body["message"]
    root = parse_xml(await response.text())
    assert root.tag == "RestcommResponse"
    exception = root.find("RestException")
    assert exception is not None
    assert [c.tag for c in exception] == ["Code", "Message", "MoreInfo", "Status"]
    assert exception.findtext("Status") == str(response.status)
    return int(exception.findtext("Code") or 0), exception.findtext("Message") or ""


async def provision(
    client: Client, tenant: Tenant, account_sid: str | None = None, **params: str
) -> dict[str, Any]:
    """Provision through the JSON API and return the resource (asserting 200)."""
    response = await client.post(
        JSON_WIRE.url(numbers_path(account_sid or tenant.sid)), data=params, headers=tenant.auth
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def get_json(client: Client, tenant: Tenant, tail: str) -> ClientResponse:
    return await client.get(JSON_WIRE.url(tail), headers=tenant.auth)


async def listed_sids(client: Client, tenant: Tenant, account_sid: str) -> list[str]:
    response = await get_json(client, tenant, numbers_path(account_sid))
    assert response.status == 200
    return [n["sid"] for n in (await response.json())["incomingPhoneNumbers"]]


async def available(client: Client, tenant: Tenant) -> list[str]:
    """The free local US numbers AvailablePhoneNumbers shows."""
    path = f"/Accounts/{tenant.sid}/AvailablePhoneNumbers/US/Local"
    response = await get_json(client, tenant, path)
    assert response.status == 200
    return [n["phone_number"] for n in (await response.json())["available_phone_numbers"]]


async def create_application(
    client: Client, tenant: Tenant, name: str, kind: str
) -> dict[str, Any]:
    response = await client.post(
        JSON_WIRE.url(f"/Accounts/{tenant.sid}/Applications"),
        data={"FriendlyName": name, "RcmlUrl": "https://app.example.com/rcml.xml", "Kind": kind},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def assert_recent(value: str) -> datetime:
    """An RFC 2822 GMT date within a few seconds of now."""
    assert RFC2822_GMT.match(value), value
    moment = parsedate_to_datetime(value)
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=10)
    return moment


# --- every route and method, under both mounts, in every format ---------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_provision_get_and_list_in_every_format(
    client: Client, tenant: Tenant, add_inventory: AddInventory, wire: Wire
) -> None:
    """POST on the list answers 200 with the new number; GET on the instance and on the
    list show it, with the paging envelope."""
    await add_inventory(NUMBER)
    response = await client.post(
        wire.url(numbers_path(tenant.sid)),
        data={"PhoneNumber": NUMBER, "VoiceUrl": VOICE_URL},
        headers=wire.headers(tenant),
    )
    assert response.status == 200
    created = await read_number(wire, response)
    sid = created["sid"]
    assert sid.startswith("PN")
    assert len(sid) == 34
    assert (created["account_sid"], created["phone_number"]) == (tenant.sid, NUMBER)
    assert created["voice_url"] == VOICE_URL
    assert created["uri"] == f"{wire.mount}{numbers_path(tenant.sid)}/{sid}.json"

    response = await client.get(
        wire.url(f"{numbers_path(tenant.sid)}/{sid}"), headers=wire.headers(tenant)
    )
    assert response.status == 200
    assert await read_number(wire, response) == created

    sip = await provision(client, tenant, PhoneNumber="1234", isSIP="true")
    response = await client.get(wire.url(numbers_path(tenant.sid)), headers=wire.headers(tenant))
    assert response.status == 200
    items = await read_list(wire, response)
    assert [n["sid"] for n in items] == [sid, sip["sid"]]
    assert items[0] == created
    if wire.is_json:
        body = await response.json()
        assert (body["total"], body["page"], body["next_page_uri"]) == (2, 0, None)
        assert body["uri"].startswith(wire.mount + numbers_path(tenant.sid))
    else:
        listing = parse_xml(await response.text()).find("IncomingPhoneNumbers")
        assert listing is not None
        assert listing.get("total") == "2"


@pytest.mark.parametrize("wire", WIRES)
async def test_update_with_post_and_with_put_in_every_format(
    client: Client, tenant: Tenant, add_inventory: AddInventory, wire: Wire
) -> None:
    """POST and PUT on the instance both apply a partial update and answer the number."""
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER, VoiceUrl=VOICE_URL)
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    for method, name, voice_method in (
        ("POST", "front desk", "get"),
        ("PUT", "back office", "post"),
    ):
        response = await client.request(
            method,
            wire.url(path),
            data={"FriendlyName": name, "VoiceMethod": voice_method},
            headers=wire.headers(tenant),
        )
        assert response.status == 200, method
        number = await read_number(wire, response)
        assert (number["friendly_name"], number["voice_method"]) == (name, voice_method.upper())
        assert number["voice_url"] == VOICE_URL
        stored = await (await get_json(client, tenant, path)).json()
        assert (stored["friendly_name"], stored["voice_method"]) == (name, voice_method.upper())


@pytest.mark.parametrize("wire", WIRES)
async def test_delete_answers_204_with_an_empty_body_in_every_format(
    client: Client, tenant: Tenant, add_inventory: AddInventory, wire: Wire
) -> None:
    """DELETE on the instance answers 204 without a body and the number is gone (404)."""
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    response = await client.delete(wire.url(path), headers=wire.headers(tenant))
    assert response.status == 204
    assert await response.read() == b""
    gone = await client.get(wire.url(path), headers=wire.headers(tenant))
    assert gone.status == 404
    code, message = await read_error(wire, gone)
    assert code == 20404
    assert created["sid"] in message
    assert await listed_sids(client, tenant, tenant.sid) == []


@pytest.mark.parametrize("wire", WIRES)
async def test_put_and_delete_on_list_and_migrate_answer_405(
    client: Client, admin: Tenant, tenant: Tenant, wire: Wire
) -> None:
    """PUT and DELETE are "Not Supported" on the list and on /migrate: 405 in the
    caller's format."""
    for tail in ("", "/migrate"):
        for method in ("PUT", "DELETE"):
            response = await client.request(
                method, wire.url(numbers_path(tenant.sid) + tail), headers=wire.headers(admin)
            )
            assert response.status == 405, (tail, method)
            code, message = await read_error(wire, response)
            assert code == 20405
            assert method in message


# --- the resource's wire shape ---------------------------------------------------------


async def test_json_fields_follow_the_seed_order_with_nulls_booleans_and_dates(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """JSON keys come in the seed's order (extras after), unset values are null,
    booleans are booleans and dates are RFC 2822 GMT close to now."""
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    listed = (await (await get_json(client, tenant, numbers_path(tenant.sid))).json())[
        "incomingPhoneNumbers"
    ][0]
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    fetched = await (await get_json(client, tenant, path)).json()
    for number in (created, listed, fetched):
        assert list(number)[: len(JSON_KEYS)] == JSON_KEYS
        assert list(number["capabilities"]) == [
            "voice_capable",
            "sms_capable",
            "mms_capable",
            "fax_capable",
        ]
        for unset in (
            "voice_url",
            "voice_fallback_url",
            "status_callback",
            "voice_application_sid",
            "sms_url",
            "sms_fallback_url",
            "sms_application_sid",
            "refer_url",
            "refer_application_sid",
        ):
            assert number[unset] is None, unset
        assert number["voice_caller_id_lookup"] is False
        assert all(type(v) is bool for v in number["capabilities"].values())
        assert_recent(number["date_created"])
        assert_recent(number["date_updated"])
        assert number["uri"].endswith(f"/IncomingPhoneNumbers/{created['sid']}.json")
        assert number["api_version"] == "2012-04-24"


async def test_xml_resource_has_pascal_case_elements_in_the_seed_order(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """XML wraps <IncomingPhoneNumber> in <RestcommResponse> with PascalCase elements."""
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER, VoiceUrl=VOICE_URL)
    response = await client.get(
        f"/restcomm/2012-04-24{numbers_path(tenant.sid)}/{created['sid']}", headers=tenant.auth
    )
    assert response.status == 200
    assert response.content_type == "application/xml"
    root = parse_xml(await response.text())
    assert root.tag == "RestcommResponse"
    [element] = list(root)
    assert element.tag == "IncomingPhoneNumber"
    assert [c.tag for c in element][: len(XML_ELEMENTS)] == XML_ELEMENTS
    assert element.findtext("Sid") == created["sid"]
    assert element.findtext("PhoneNumber") == NUMBER
    assert element.findtext("VoiceUrl") == VOICE_URL
    assert element.findtext("VoiceFallbackUrl") in (None, "")
    assert element.findtext("VoiceCallerIdLookup") == "false"
    capabilities = element.find("Capabilities")
    assert capabilities is not None
    assert [(c.tag, c.text) for c in capabilities] == [
        ("Voice", "true"),
        ("Sms", "true"),
        ("Mms", "false"),
        ("Fax", "false"),
    ]
    assert_recent(element.findtext("DateCreated") or "")
    assert element.findtext("Uri") == (
        f"/restcomm/2012-04-24{numbers_path(tenant.sid)}/{created['sid']}.json"
    )


# --- defaults and the seed's own examples ----------------------------------------------


async def test_provision_defaults_methods_api_version_and_national_friendly_name(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """Every *Method defaults to POST, ApiVersion to 2012-04-24 and FriendlyName to the
    national format of an E.164 number."""
    await add_inventory(NUMBER)
    number = await provision(client, tenant, PhoneNumber=NUMBER)
    assert {k: number[k] for k in METHOD_KEYS} == dict.fromkeys(METHOD_KEYS, "POST")
    assert number["api_version"] == "2012-04-24"
    assert number["friendly_name"] == "(510) 555-5555"
    assert number["capabilities"] == {
        "voice_capable": True,
        "sms_capable": True,
        "mms_capable": False,
        "fax_capable": False,
    }


async def test_sip_number_friendly_name_defaults_to_the_raw_value(
    client: Client, tenant: Tenant
) -> None:
    """A SIP number's default FriendlyName is the number as given."""
    number = await provision(client, tenant, PhoneNumber="1234", isSIP="true")
    assert (number["phone_number"], number["friendly_name"]) == ("1234", "1234")
    assert number["pure_sip"] is True


async def test_given_friendly_name_replaces_the_default(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """A FriendlyName given at provisioning is kept as given."""
    await add_inventory(NUMBER)
    number = await provision(client, tenant, PhoneNumber=NUMBER, FriendlyName="Sales line")
    assert number["friendly_name"] == "Sales line"


async def test_new_number_belongs_to_the_url_account_and_its_organization(
    client: Client,
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    add_inventory: AddInventory,
) -> None:
    """A super admin provisioning on a sub-account's URL gives the number to that account
    and that account's organization, not its own."""
    organization = await make_org("customer.test")
    customer = await make_account(admin, organization=organization)
    await add_inventory(NUMBER)
    number = await provision(client, admin, customer.sid, PhoneNumber=NUMBER)
    assert number["account_sid"] == customer.sid
    assert number["organization_sid"] == organization.sid != admin.account.organization_sid
    assert await listed_sids(client, customer, customer.sid) == [number["sid"]]
    assert await listed_sids(client, admin, admin.sid) == []


async def test_seed_curl_example_with_raw_plus_provisions_the_e164_number(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """curl -d 'PhoneNumber=+15105555555&VoiceUrl=...' sends an unescaped + that
    decodes as a space: the API reads it as the + the client meant."""
    await add_inventory(NUMBER)
    response = await client.post(
        f"/restcomm/2012-04-24{numbers_path(tenant.sid)}.json",
        data=f"PhoneNumber={NUMBER}&VoiceUrl=https://mycompany.restcomm.com/restcomm/demos/hello-play.xml",
        headers={**tenant.auth, **FORM},
    )
    assert response.status == 200, await response.text()
    number = await response.json()
    assert number["phone_number"] == NUMBER
    assert number["friendly_name"] == "(510) 555-5555"
    assert number["voice_url"] == "https://mycompany.restcomm.com/restcomm/demos/hello-play.xml"
    assert number["uri"].startswith("/restcomm/2012-04-24/")


async def test_seed_curl_example_of_a_sip_number_stores_it_as_given(
    client: Client, tenant: Tenant
) -> None:
    """The seed's PhoneNumber=1234&isSIP=true example creates SIP number 1234 (stored as
    given, not as the reference's +1234) without any inventory."""
    response = await client.post(
        f"/restcomm/2012-04-24{numbers_path(tenant.sid)}.json",
        data="PhoneNumber=1234&VoiceUrl=https://mycompany.restcomm.com/restcomm/demos/hello-play.xml&isSIP=true",
        headers={**tenant.auth, **FORM},
    )
    assert response.status == 200, await response.text()
    number = await response.json()
    assert (number["phone_number"], number["friendly_name"]) == ("1234", "1234")
    assert number["number_type"] == "sip"
    assert number["voice_method"] == "POST"


async def test_json_request_body_is_accepted(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """A JSON object body provisions like a form body, JSON booleans included."""
    await add_inventory(NUMBER)
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid)),
        json={"PhoneNumber": NUMBER, "VoiceCallerIdLookup": True, "SmsUrl": SMS_URL},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()
    number = await response.json()
    assert number["phone_number"] == NUMBER
    assert number["voice_caller_id_lookup"] is True
    assert number["sms_url"] == SMS_URL


# --- updates and transfers ---------------------------------------------------------------


async def test_update_changes_only_the_given_parameters(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """Parameters absent from an update keep their values."""
    await add_inventory(NUMBER)
    created = await provision(
        client,
        tenant,
        PhoneNumber=NUMBER,
        VoiceUrl=VOICE_URL,
        VoiceMethod="GET",
        SmsUrl=SMS_URL,
        FriendlyName="before",
        MmsCapable="true",
    )
    response = await client.post(
        JSON_WIRE.url(f"{numbers_path(tenant.sid)}/{created['sid']}"),
        data={"StatusCallback": "https://app.example.com/status"},
        headers=tenant.auth,
    )
    assert response.status == 200
    updated = await response.json()
    changed = {k for k in JSON_KEYS if updated[k] != created[k]}
    assert changed == {"status_callback", "date_updated"} or changed == {"status_callback"}
    assert updated["status_callback"] == "https://app.example.com/status"
    assert (updated["voice_url"], updated["voice_method"], updated["sms_url"]) == (
        VOICE_URL,
        "GET",
        SMS_URL,
    )
    assert updated["friendly_name"] == "before"
    assert updated["capabilities"]["mms_capable"] is True


async def test_update_with_empty_string_clears_urls_and_application_sid(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """An empty string clears a URL or an application sid (JSON null afterwards)."""
    await add_inventory(NUMBER)
    application = await create_application(client, tenant, "IVR", "voice")
    created = await provision(
        client,
        tenant,
        PhoneNumber=NUMBER,
        VoiceUrl=VOICE_URL,
        VoiceFallbackUrl="https://app.example.com/fallback.xml",
        StatusCallback="https://app.example.com/status",
        SmsUrl=SMS_URL,
        VoiceApplicationSid=application["sid"],
    )
    assert created["voice_application_sid"] == application["sid"]
    cleared = ("VoiceUrl", "VoiceFallbackUrl", "StatusCallback", "SmsUrl", "VoiceApplicationSid")
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    response = await client.post(
        JSON_WIRE.url(path), data=dict.fromkeys(cleared, ""), headers=tenant.auth
    )
    assert response.status == 200, await response.text()
    stored = await (await get_json(client, tenant, path)).json()
    for key in ("voice_url", "voice_fallback_url", "status_callback", "sms_url"):
        assert stored[key] is None, key
    assert stored["voice_application_sid"] is None
    assert stored["voice_application_name"] is None
    assert stored["voice_method"] == "POST"


async def test_update_sets_date_updated_and_persists_it(
    client: Client, tenant: Tenant, add_inventory: AddInventory, db: Database
) -> None:
    """An update moves date_updated to now (date_created stays) and a later GET shows it."""
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE incoming_numbers SET date_created = now() - interval '1 day',"
            " date_updated = now() - interval '1 day' WHERE sid = $1",
            created["sid"],
        )
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    before = await (await get_json(client, tenant, path)).json()
    response = await client.post(
        JSON_WIRE.url(path), data={"FriendlyName": "renamed"}, headers=tenant.auth
    )
    assert response.status == 200
    updated = await response.json()
    assert updated["date_created"] == before["date_created"]
    assert updated["date_updated"] != before["date_updated"]
    assert_recent(updated["date_updated"])
    after = await (await get_json(client, tenant, path)).json()
    assert after["date_updated"] == updated["date_updated"]
    assert after["date_created"] == before["date_created"]


@pytest.mark.parametrize(
    ("param", "value"), [("PhoneNumber", OTHER_NUMBER), ("isSIP", "true"), ("isSIP", "false")]
)
async def test_update_refuses_to_change_phone_number_or_is_sip(
    client: Client, tenant: Tenant, add_inventory: AddInventory, param: str, value: str
) -> None:
    """PhoneNumber and isSIP are fixed: 400 naming the parameter, nothing changes."""
    await add_inventory(NUMBER, OTHER_NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    response = await client.post(
        JSON_WIRE.url(path), data={param: value, "FriendlyName": "changed"}, headers=tenant.auth
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21100
    assert param in message
    stored = await (await get_json(client, tenant, path)).json()
    assert (stored["phone_number"], stored["friendly_name"]) == (NUMBER, "(510) 555-5555")
    assert OTHER_NUMBER in await available(client, tenant)


async def test_update_account_sid_transfers_to_a_sub_account(
    client: Client, tenant: Tenant, make_account: MakeAccount, add_inventory: AddInventory
) -> None:
    """AccountSid moves the number to a sub-account of the URL account: listed there, not
    under the old account."""
    child = await make_account(tenant)
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    response = await client.post(
        JSON_WIRE.url(f"{numbers_path(tenant.sid)}/{created['sid']}"),
        data={"AccountSid": child.sid},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()
    moved = await response.json()
    assert moved["account_sid"] == child.sid
    assert moved["uri"] == f"/2012-04-24{numbers_path(child.sid)}/{created['sid']}.json"
    assert await listed_sids(client, tenant, child.sid) == [created["sid"]]
    assert await listed_sids(client, child, child.sid) == [created["sid"]]
    assert await listed_sids(client, tenant, tenant.sid) == []
    old = await get_json(client, tenant, f"{numbers_path(tenant.sid)}/{created['sid']}")
    assert old.status == 404


async def test_super_admin_transfers_between_two_of_its_sub_accounts(
    client: Client,
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    add_inventory: AddInventory,
) -> None:
    """A caller controlling both accounts may move a number from one to the other; it
    joins the new account's organization."""
    first = await make_account(admin)
    organization = await make_org("second.test")
    second = await make_account(admin, organization=organization)
    await add_inventory(NUMBER)
    created = await provision(client, first, PhoneNumber=NUMBER)
    response = await client.post(
        JSON_WIRE.url(f"{numbers_path(first.sid)}/{created['sid']}"),
        data={"AccountSid": second.sid},
        headers=admin.auth,
    )
    assert response.status == 200, await response.text()
    moved = await response.json()
    assert (moved["account_sid"], moved["organization_sid"]) == (second.sid, organization.sid)
    assert await listed_sids(client, second, second.sid) == [created["sid"]]
    assert await listed_sids(client, first, first.sid) == []


@pytest.mark.parametrize("target", ["sibling", "parent", "unknown"])
async def test_update_account_sid_to_an_account_the_caller_does_not_control_is_403(
    client: Client,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    add_inventory: AddInventory,
    target: str,
) -> None:
    """Transferring to a sibling, a parent or an unknown account: 403, nothing changes."""
    sibling = await make_account(admin)
    target_sid = {
        "sibling": sibling.sid,
        "parent": admin.sid,
        "unknown": "AC" + "0" * 32,
    }[target]
    await add_inventory(NUMBER)
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    path = f"{numbers_path(tenant.sid)}/{created['sid']}"
    response = await client.post(
        JSON_WIRE.url(path),
        data={"AccountSid": target_sid, "FriendlyName": "stolen"},
        headers=tenant.auth,
    )
    assert response.status == 403
    code, _ = await read_error(JSON_WIRE, response)
    assert code == 20403
    stored = await (await get_json(client, tenant, path)).json()
    assert stored["account_sid"] == tenant.sid
    assert stored["friendly_name"] == "(510) 555-5555"
    assert await listed_sids(client, admin, sibling.sid) == []
    assert await listed_sids(client, admin, admin.sid) == []


# --- applications ------------------------------------------------------------------------


async def test_applications_attach_by_sid_and_show_their_names(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """Voice, SMS and Refer application sids attach API-created applications; the
    *_application_name fields show their names."""
    voice = await create_application(client, tenant, "Voice IVR", "voice")
    sms = await create_application(client, tenant, "SMS bot", "sms")
    refer = await create_application(client, tenant, "Transfer desk", "voice")
    await add_inventory(NUMBER, OTHER_NUMBER)
    number = await provision(
        client,
        tenant,
        PhoneNumber=NUMBER,
        VoiceApplicationSid=voice["sid"],
        SmsApplicationSid=sms["sid"],
        ReferApplicationSid=refer["sid"],
    )
    expected = {
        "voice_application_sid": voice["sid"],
        "voice_application_name": "Voice IVR",
        "sms_application_sid": sms["sid"],
        "sms_application_name": "SMS bot",
        "refer_application_sid": refer["sid"],
        "refer_application_name": "Transfer desk",
    }
    assert {k: number[k] for k in expected} == expected
    other = await provision(client, tenant, PhoneNumber=OTHER_NUMBER)
    response = await client.post(
        JSON_WIRE.url(f"{numbers_path(tenant.sid)}/{other['sid']}"),
        data={"VoiceApplicationSid": voice["sid"], "ReferApplicationSid": refer["sid"]},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()
    attached = await response.json()
    assert attached["voice_application_name"] == "Voice IVR"
    assert attached["refer_application_name"] == "Transfer desk"
    assert attached["sms_application_sid"] is None
    assert attached["sms_application_name"] is None


@pytest.mark.parametrize(
    ("param", "whose", "kind"),
    [
        ("VoiceApplicationSid", "own", "sms"),
        ("SmsApplicationSid", "own", "voice"),
        ("ReferApplicationSid", "own", "sms"),
        ("VoiceApplicationSid", "sibling", "voice"),
        ("SmsApplicationSid", "missing", "sms"),
    ],
)
async def test_provision_refuses_an_application_of_the_wrong_kind_or_account(
    client: Client,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    add_inventory: AddInventory,
    param: str,
    whose: str,
    kind: str,
) -> None:
    """An application of another kind, another account or none at all: 400 naming the
    parameter, and the number stays in the inventory."""
    owner = tenant if whose == "own" else await make_account(admin)
    sid = (await create_application(client, owner, "app", kind))["sid"]
    if whose == "missing":
        sid = "AP" + "0" * 32
    await add_inventory(NUMBER)
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid)),
        data={"PhoneNumber": NUMBER, param: sid},
        headers=tenant.auth,
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21100
    assert param in message
    assert NUMBER in await available(client, tenant)


# --- the inventory ---------------------------------------------------------------------


async def test_provisioning_takes_the_number_out_of_the_inventory_and_delete_returns_it(
    client: Client,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    add_inventory: AddInventory,
) -> None:
    """A provisioned DID leaves AvailablePhoneNumbers and cannot be provisioned twice;
    deleting it makes it available and provisionable again."""
    other = await make_account(admin)
    await add_inventory(NUMBER, OTHER_NUMBER)
    assert await available(client, tenant) == [NUMBER, OTHER_NUMBER]
    created = await provision(client, tenant, PhoneNumber=NUMBER)
    assert await available(client, tenant) == [OTHER_NUMBER]
    for who in (tenant, other):
        again = await client.post(
            JSON_WIRE.url(numbers_path(who.sid)), data={"PhoneNumber": NUMBER}, headers=who.auth
        )
        assert again.status == 400
        code, message = await read_error(JSON_WIRE, again)
        assert code == 21452
        assert "PhoneNumber" in message
    deleted = await client.delete(
        JSON_WIRE.url(f"{numbers_path(tenant.sid)}/{created['sid']}"), headers=tenant.auth
    )
    assert deleted.status == 204
    assert await available(client, tenant) == [NUMBER, OTHER_NUMBER]
    reprovisioned = await provision(client, other, PhoneNumber=NUMBER)
    assert reprovisioned["account_sid"] == other.sid
    assert reprovisioned["sid"] != created["sid"]


async def test_number_missing_from_the_inventory_is_21452_in_the_xml_error_envelope(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """A number missing from the inventory answers code 21452 in the XML error envelope."""
    response = await client.post(
        f"/restcomm/2012-04-24{numbers_path(tenant.sid)}",
        data={"PhoneNumber": NUMBER},
        headers=tenant.auth,
    )
    assert response.status == 400
    code, message = await read_error(Wire("/restcomm/2012-04-24", "xml"), response)
    assert code == 21452
    assert "PhoneNumber" in message


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"AreaCode": "415"}, "+14155550100", id="area-code"),
        pytest.param(
            {"AreaCode": "415", "PhoneNumber": NUMBER}, "+14155550100", id="area-code-wins"
        ),
        pytest.param({"AreaCode": "510"}, OTHER_NUMBER, id="skips-taken"),
    ],
)
async def test_area_code_provisions_a_free_number_of_that_area_code(
    client: Client,
    tenant: Tenant,
    add_inventory: AddInventory,
    params: dict[str, str],
    expected: str,
) -> None:
    """AreaCode picks a free inventory number with that area code, and wins over
    PhoneNumber when both are given (as the seed says)."""
    await add_inventory(NUMBER, OTHER_NUMBER, area_code="510")
    await add_inventory("+14155550100", area_code="415")
    await provision(client, tenant, PhoneNumber=NUMBER)
    number = await provision(client, tenant, **params)
    assert number["phone_number"] == expected
    assert expected not in await available(client, tenant)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        pytest.param({"AreaCode": "212"}, "AreaCode", id="unknown-area-code"),
        pytest.param({"AreaCode": "415"}, "AreaCode", id="area-code-all-taken"),
        pytest.param({"PhoneNumber": "+12125550123"}, "PhoneNumber", id="not-in-inventory"),
    ],
)
async def test_unavailable_number_or_area_code_is_21452(
    client: Client,
    tenant: Tenant,
    add_inventory: AddInventory,
    params: dict[str, str],
    param: str,
) -> None:
    """No free number for the AreaCode, or an E.164 number the inventory lacks: 400 21452."""
    await add_inventory(NUMBER, area_code="510")
    await add_inventory("+14155550100", area_code="415")
    await provision(client, tenant, PhoneNumber="+14155550100")
    response = await client.post(
        JSON_WIRE.url(numbers_path(tenant.sid)), data=params, headers=tenant.auth
    )
    assert response.status == 400
    code, message = await read_error(JSON_WIRE, response)
    assert code == 21452
    assert param in message
    assert await available(client, tenant) == [NUMBER]


async def test_sip_number_is_unique_within_an_organization_only(
    client: Client,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """A SIP number needs no inventory; a second one in the same organization is 400
    21452, while another organization may hold the same SIP number."""
    same_org = await make_account(admin)
    other_org = await make_account(admin, organization=await make_org("elsewhere.test"))
    first = await provision(client, tenant, PhoneNumber="1234", isSIP="true")
    for who in (tenant, same_org):
        response = await client.post(
            JSON_WIRE.url(numbers_path(who.sid)),
            data={"PhoneNumber": "1234", "isSIP": "true"},
            headers=who.auth,
        )
        assert response.status == 400
        code, message = await read_error(JSON_WIRE, response)
        assert code == 21452
        assert "PhoneNumber" in message
    second = await provision(client, other_org, PhoneNumber="1234", isSIP="true")
    assert second["organization_sid"] != first["organization_sid"]
    assert second["phone_number"] == first["phone_number"] == "1234"


async def test_concurrent_provisioning_of_one_number_succeeds_exactly_once(
    client: Client, tenant: Tenant, add_inventory: AddInventory, db: Database
) -> None:
    """Ten simultaneous POSTs of one DID: one 200, nine 400 with 21452, one row."""
    await add_inventory(NUMBER)
    responses = await asyncio.gather(
        *(
            client.post(
                JSON_WIRE.url(numbers_path(tenant.sid)),
                data={"PhoneNumber": NUMBER},
                headers=tenant.auth,
            )
            for _ in range(10)
        )
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [400] * 9
    codes = [(await r.json())["code"] for r in responses if r.status == 400]
    assert codes == [21452] * 9
    [winner] = [await r.json() for r in responses if r.status == 200]
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT sid FROM incoming_numbers WHERE phone_number = $1", NUMBER)
        assigned = await conn.fetchval(
            "SELECT assigned_sid FROM inventory WHERE phone_number = $1", NUMBER
        )
    assert [r["sid"] for r in rows] == [winner["sid"]]
    assert assigned == winner["sid"]


# --- pattern numbers -------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["^*77...33#$", "[45]234[23]", "16508.*", "*"])
async def test_sip_pattern_numbers_are_stored_verbatim(
    client: Client, tenant: Tenant, pattern: str
) -> None:
    """The seed's regex examples and the catch-all * are accepted with isSIP=true and
    stored exactly as given."""
    created = await provision(client, tenant, PhoneNumber=pattern, isSIP="true")
    assert created["phone_number"] == pattern
    assert created["friendly_name"] == pattern
    stored = await (
        await get_json(client, tenant, f"{numbers_path(tenant.sid)}/{created['sid']}")
    ).json()
    assert stored["phone_number"] == pattern
    assert stored["pure_sip"] is True
