"""Applications routes (SPEC 2.2): create, read, list, update, delete, isolation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.domain import new_sid
from tests.conftest import MakeAccount, Tenant

API = "/2012-04-24"


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own server's answer, not untrusted input


def apps_path(account_sid: str, sid: str | None = None, suffix: str = ".json") -> str:
    path = f"{API}/Accounts/{account_sid}/Applications"
    return (f"{path}/{sid}" if sid else path) + suffix


async def create(client: TestClient, owner: Tenant, **data: str) -> Any:
    data.setdefault("FriendlyName", "My app")
    response = await client.post(apps_path(owner.sid), data=data, headers=owner.auth)
    body = await response.json()
    assert response.status == 200, body
    return body


def assert_error(body: Any, status: int, code: int, param: str | None = None) -> None:
    assert (body["status"], body["code"]) == (status, code), body
    assert body["more_info"]
    if param:
        assert param in body["message"]


async def test_create_returns_the_application(client: TestClient, tenant: Tenant) -> None:
    """POST with every parameter returns the application with those values."""
    body = await create(
        client,
        tenant,
        FriendlyName="Reception",
        RcmlUrl="https://rcml.example.com/reception.xml",
        Kind="sms",
        ApiVersion="2012-04-24",
        VoiceCallerIdLookup="true",
    )
    assert body["sid"].startswith("AP")
    assert len(body["sid"]) == 34
    assert body["account_sid"] == tenant.sid
    assert body["friendly_name"] == "Reception"
    assert body["rcml_url"] == "https://rcml.example.com/reception.xml"
    assert body["kind"] == "sms"
    assert body["api_version"] == "2012-04-24"
    assert body["voice_caller_id_lookup"] is True
    assert body["uri"] == f"{API}/Accounts/{tenant.sid}/Applications/{body['sid']}.json"
    assert body["date_created"].endswith("+0000")


async def test_create_defaults(client: TestClient, tenant: Tenant) -> None:
    """Only FriendlyName given: kind voice, no RCML URL, API version 2012-04-24."""
    body = await create(client, tenant, FriendlyName="Bare")
    assert (body["kind"], body["rcml_url"], body["api_version"]) == ("voice", None, "2012-04-24")
    assert body["voice_caller_id_lookup"] is False


@pytest.mark.parametrize("kind", ["voice", "sms", "ussd", "USSD"])
async def test_each_kind_is_accepted(client: TestClient, tenant: Tenant, kind: str) -> None:
    """Kind voice, sms and ussd (any case) are accepted."""
    body = await create(client, tenant, Kind=kind)
    assert body["kind"] == kind.lower()


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({}, "FriendlyName", 21100),
        ({"FriendlyName": ""}, "FriendlyName", 21100),
        ({"FriendlyName": "z" * 65}, "FriendlyName", 21100),
        ({"FriendlyName": "ok", "RcmlUrl": "not a url"}, "RcmlUrl", 21402),
        ({"FriendlyName": "ok", "RcmlUrl": "ftp://example.com/app.xml"}, "RcmlUrl", 21402),
        ({"FriendlyName": "ok", "RcmlUrl": "/relative/app.xml"}, "RcmlUrl", 21402),
        ({"FriendlyName": "ok", "RcmlUrl": "http://"}, "RcmlUrl", 21402),
        ({"FriendlyName": "ok", "Kind": "fax"}, "Kind", 21100),
        ({"FriendlyName": "ok", "ApiVersion": "2010-04-01"}, "ApiVersion", 21100),
        ({"FriendlyName": "ok", "VoiceCallerIdLookup": "maybe"}, "VoiceCallerIdLookup", 21100),
    ],
)
async def test_create_validates_each_parameter(
    client: TestClient, tenant: Tenant, data: dict[str, str], param: str, code: int
) -> None:
    """Missing FriendlyName, bad URL (21402), unknown Kind...: 400 naming the parameter."""
    response = await client.post(apps_path(tenant.sid), data=data, headers=tenant.auth)
    assert response.status == 400
    assert_error(await response.json(), 400, code, param)
    listing = await client.get(apps_path(tenant.sid), headers=tenant.auth)
    assert await listing.json() == []


async def test_create_accepts_a_json_body(client: TestClient, tenant: Tenant) -> None:
    """A JSON object body is read like a form."""
    response = await client.post(
        apps_path(tenant.sid),
        json={"FriendlyName": "From JSON", "VoiceCallerIdLookup": True},
        headers=tenant.auth,
    )
    assert response.status == 200
    body = await response.json()
    assert (body["friendly_name"], body["voice_caller_id_lookup"]) == ("From JSON", True)


async def test_list_and_get(client: TestClient, tenant: Tenant, make_account: MakeAccount) -> None:
    """GET list returns the account's applications in creation order; GET instance one."""
    first = await create(client, tenant, FriendlyName="First")
    second = await create(client, tenant, FriendlyName="Second", Kind="sms")
    child = await make_account(tenant)
    await create(client, child, FriendlyName="Child's")
    response = await client.get(apps_path(tenant.sid), headers=tenant.auth)
    assert response.status == 200
    assert await response.json() == [first, second]
    response = await client.get(apps_path(tenant.sid, second["sid"]), headers=tenant.auth)
    assert response.status == 200
    assert await response.json() == second


async def test_list_and_get_as_xml(client: TestClient, tenant: Tenant) -> None:
    """Without .json the list is <Applications><Application>... in XML."""
    created = await create(client, tenant, FriendlyName="Xml", RcmlUrl="http://a.example/x")
    response = await client.get(apps_path(tenant.sid, suffix=""), headers=tenant.auth)
    assert response.status == 200
    listing = parse_xml(await response.text()).find("Applications")
    assert listing is not None
    apps = listing.findall("Application")
    assert [a.findtext("Sid") for a in apps] == [created["sid"]]
    assert apps[0].findtext("RcmlUrl") == "http://a.example/x"
    response = await client.get(apps_path(tenant.sid, created["sid"], ""), headers=tenant.auth)
    application = parse_xml(await response.text()).find("Application")
    assert application is not None
    assert application.findtext("FriendlyName") == "Xml"


async def test_update_changes_only_given_parameters(client: TestClient, tenant: Tenant) -> None:
    """POST on the instance changes the given fields and keeps the others."""
    created = await create(
        client, tenant, FriendlyName="Before", RcmlUrl="https://a.example/app", Kind="voice"
    )
    path = apps_path(tenant.sid, created["sid"])
    response = await client.post(path, data={"FriendlyName": "After"}, headers=tenant.auth)
    assert response.status == 200
    updated = await response.json()
    assert updated["friendly_name"] == "After"
    assert (updated["rcml_url"], updated["kind"]) == ("https://a.example/app", "voice")
    assert updated["sid"] == created["sid"]
    response = await client.get(path, headers=tenant.auth)
    assert await response.json() == updated


async def test_update_with_empty_rcml_url_clears_it(client: TestClient, tenant: Tenant) -> None:
    """RcmlUrl= (empty) clears the URL."""
    created = await create(client, tenant, RcmlUrl="https://a.example/app")
    path = apps_path(tenant.sid, created["sid"])
    response = await client.post(path, data={"RcmlUrl": ""}, headers=tenant.auth)
    assert response.status == 200
    assert (await response.json())["rcml_url"] is None


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"RcmlUrl": "javascript:alert(1)"}, "RcmlUrl", 21402),
        ({"Kind": "video"}, "Kind", 21100),
        ({"FriendlyName": ""}, "FriendlyName", 21100),
    ],
)
async def test_update_validates_and_changes_nothing_on_error(
    client: TestClient, tenant: Tenant, data: dict[str, str], param: str, code: int
) -> None:
    """A bad update parameter answers 400 naming it and leaves the application as it was."""
    created = await create(client, tenant, RcmlUrl="https://a.example/app")
    path = apps_path(tenant.sid, created["sid"])
    response = await client.post(path, data=data, headers=tenant.auth)
    assert response.status == 400
    assert_error(await response.json(), 400, code, param)
    assert await (await client.get(path, headers=tenant.auth)).json() == created


async def test_delete_answers_204_and_removes_it(client: TestClient, tenant: Tenant) -> None:
    """DELETE answers 204 with an empty body; the application is then 404."""
    created = await create(client, tenant)
    path = apps_path(tenant.sid, created["sid"])
    response = await client.delete(path, headers=tenant.auth)
    assert response.status == 204
    assert await response.read() == b""
    response = await client.get(path, headers=tenant.auth)
    assert response.status == 404
    assert_error(await response.json(), 404, 20404)
    response = await client.delete(path, headers=tenant.auth)
    assert response.status == 404


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("voice", "VoiceApplicationSid"),
        ("sms", "SmsApplicationSid"),
        ("voice", "ReferApplicationSid"),
    ],
)
async def test_deleting_an_application_in_use_is_a_conflict(
    client: TestClient, tenant: Tenant, kind: str, field: str
) -> None:
    """An application a number points at cannot be deleted: 409, and it still exists."""
    created = await create(client, tenant, Kind=kind)
    response = await client.post(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "7007", "isSIP": "true", field: created["sid"]},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()
    number = await response.json()
    path = apps_path(tenant.sid, created["sid"])
    response = await client.delete(path, headers=tenant.auth)
    assert response.status == 409
    assert_error(await response.json(), 409, 20409)
    response = await client.get(path, headers=tenant.auth)
    assert response.status == 200
    # Detached, it can go.
    detach = await client.post(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers/{number['sid']}.json",
        data={field: ""},
        headers=tenant.auth,
    )
    assert detach.status == 200
    response = await client.delete(path, headers=tenant.auth)
    assert response.status == 204


async def test_another_tenants_application_is_out_of_reach(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A sibling cannot read, change or delete the tenant's application by either URL."""
    created = await create(client, tenant, FriendlyName="Private")
    sibling = await make_account(admin)
    by_owner_url = apps_path(tenant.sid, created["sid"])
    by_own_url = apps_path(sibling.sid, created["sid"])
    for method in ("GET", "POST", "DELETE"):
        response = await client.request(
            method, by_owner_url, data={"FriendlyName": "Hacked"}, headers=sibling.auth
        )
        assert response.status == 403, method
        assert_error(await response.json(), 403, 20403)
        response = await client.request(
            method, by_own_url, data={"FriendlyName": "Hacked"}, headers=sibling.auth
        )
        assert response.status == 404, method
        assert_error(await response.json(), 404, 20404)
    response = await client.get(apps_path(tenant.sid), headers=sibling.auth)
    assert response.status == 403
    response = await client.get(by_owner_url, headers=tenant.auth)
    assert await response.json() == created


async def test_ancestor_reaches_a_descendants_application(
    client: TestClient, admin: Tenant, tenant: Tenant
) -> None:
    """The parent account reads the child's application through the child's URL."""
    created = await create(client, tenant)
    response = await client.get(apps_path(tenant.sid, created["sid"]), headers=admin.auth)
    assert response.status == 200
    assert await response.json() == created


async def test_child_cannot_reach_the_parents_applications(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A sub-account gets 403 on its parent's Applications."""
    created = await create(client, tenant)
    child = await make_account(tenant)
    response = await client.get(apps_path(tenant.sid), headers=child.auth)
    assert response.status == 403
    response = await client.get(apps_path(tenant.sid, created["sid"]), headers=child.auth)
    assert response.status == 403


@pytest.mark.parametrize(
    "sid",
    [new_sid("AP"), "APnot-a-sid", new_sid("PN")],
    ids=["unknown", "malformed", "a-number-sid"],
)
async def test_unknown_application_is_404(client: TestClient, tenant: Tenant, sid: str) -> None:
    """GET of an application sid that does not exist: 404."""
    response = await client.get(apps_path(tenant.sid, sid), headers=tenant.auth)
    assert response.status == 404
    assert_error(await response.json(), 404, 20404)


async def test_kind_change_that_breaks_a_number_is_a_conflict(
    client: TestClient, tenant: Tenant
) -> None:
    """An application used as VoiceApplicationSid cannot become an sms application: 409."""
    app = await create(client, tenant, Kind="voice")
    r = await client.post(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "7007", "isSIP": "true", "VoiceApplicationSid": app["sid"]},
        headers=tenant.auth,
    )
    assert r.status == 200
    r = await client.post(
        apps_path(tenant.sid, app["sid"]), data={"Kind": "sms"}, headers=tenant.auth
    )
    assert r.status == 409
    assert "Kind" in (await r.json())["message"]
    r = await client.get(apps_path(tenant.sid, app["sid"]), headers=tenant.auth)
    assert (await r.json())["kind"] == "voice"
