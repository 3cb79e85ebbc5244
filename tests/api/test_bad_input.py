"""Malformed input (SPEC 8, SPEC 7 "Limits"): no request yields a 500 or writes part of
itself, and every refusal is an error document in the caller's format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from router.store.postgres import Database
from tests.conftest import Tenant

NUMBER = "+15105555555"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
MAX_BODY = 65536
LONG = 7000  # fits aiohttp's 8190-byte request line, so the application sees it

AddInventory = Callable[..., Awaitable[None]]


def numbers_path(account_sid: str, suffix: str = "", fmt: str = ".json") -> str:
    return f"/2012-04-24/Accounts/{account_sid}/IncomingPhoneNumbers{suffix}{fmt}"


async def error_document(response: ClientResponse, *, json: bool) -> dict[str, Any]:
    """The four fields of a SPEC 8 error, checked to be the whole document in its format."""
    assert response.status != 500
    raw = await response.read()
    if json:
        assert response.content_type == "application/json"
        body: dict[str, Any] = orjson.loads(raw)
        assert set(body) == {"code", "message", "more_info", "status"}
    else:
        assert response.content_type == "application/xml"
        root = ET.fromstring(raw)  # noqa: S314 - our own server's answer, not untrusted input
        assert root.tag == "RestcommResponse"
        (exception,) = list(root)
        assert exception.tag == "RestException"
        assert [child.tag for child in exception] == ["Code", "Message", "MoreInfo", "Status"]
        fields = {child.tag: child.text or "" for child in exception}
        body = {
            "code": int(fields["Code"]),
            "message": fields["Message"],
            "more_info": fields["MoreInfo"],
            "status": int(fields["Status"]),
        }
    assert body["status"] == response.status
    assert isinstance(body["code"], int)
    assert body["message"]
    assert str(body["code"]) in body["more_info"]
    return body


async def assert_error(
    response: ClientResponse,
    *,
    status: int,
    code: int,
    param: str | None = None,
    json: bool = True,
) -> dict[str, Any]:
    body = await error_document(response, json=json)
    assert (response.status, body["code"]) == (status, code), body
    if param is not None:
        assert param in body["message"], body
    return body


async def assert_nothing_written(db: Database) -> None:
    """No number exists and every inventory DID is still free."""
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incoming_numbers") == 0
        assigned = await conn.fetchval(
            "SELECT count(*) FROM inventory WHERE assigned_sid IS NOT NULL"
        )
        assert assigned == 0


@pytest.fixture
async def inventory(add_inventory: AddInventory) -> None:
    await add_inventory(NUMBER)


async def post_raw(
    client: TestClient, tenant: Tenant, body: bytes, headers: dict[str, str]
) -> ClientResponse:
    return await client.post(
        numbers_path(tenant.sid), data=body, headers={**tenant.auth, **headers}
    )


# ---------------------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize(
    ("document", "code", "param"),
    [
        ({"PhoneNumber": NUMBER, "VoiceUrl": 5}, 21402, "VoiceUrl"),
        ({"PhoneNumber": NUMBER, "VoiceUrl": {"a": 1}}, 21100, "VoiceUrl"),
        ({"PhoneNumber": NUMBER, "VoiceUrl": [1]}, 21100, "VoiceUrl"),
        ({"PhoneNumber": NUMBER, "VoiceCapable": 1}, 21100, "VoiceCapable"),
        ({"PhoneNumber": NUMBER, "FriendlyName": None}, 21100, "FriendlyName"),
        ({"PhoneNumber": NUMBER, "FriendlyName": "a\u0000b"}, 21100, "FriendlyName"),
        ({"PhoneNumber": 15105555555}, 21421, "PhoneNumber"),
        ({"PhoneNumber": [NUMBER]}, 21100, "PhoneNumber"),
    ],
    ids=[
        "number url",
        "object url",
        "array url",
        "number boolean",
        "null name",
        "NUL in name",
        "number phone",
        "array phone",
    ],
)
async def test_json_value_of_wrong_type_is_refused_naming_it(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    inventory: None,
    document: dict[str, Any],
    code: int,
    param: str,
) -> None:
    """A JSON value that is not a fitting scalar is a 400 naming its parameter."""
    response = await client.post(numbers_path(tenant.sid), json=document, headers=tenant.auth)
    await assert_error(response, status=400, code=code, param=param)
    await assert_nothing_written(db)


async def test_json_body_with_boolean_values_is_accepted(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """JSON true and false are read as the booleans they are."""
    document = {"PhoneNumber": NUMBER, "VoiceCapable": False, "FaxCapable": True}
    response = await client.post(numbers_path(tenant.sid), json=document, headers=tenant.auth)
    assert response.status == 200
    capabilities = (await response.json())["capabilities"]
    assert (capabilities["voice_capable"], capabilities["fax_capable"]) == (False, True)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"PhoneNumber": "+15105555555"}]',
        b'"PhoneNumber"',
        b"null",
        b'{"PhoneNumber": ',
        b'{"PhoneNumber": "+15105555555", "FriendlyName": "\xff"}',
        b'{"PhoneNumber": "+15105555555", "FriendlyName": "\\ud800"}',
        b'{"PhoneNumber": "+15105555555", "VoiceUrl": 1e400}',
        b"[" * 30000 + b"]" * 30000,
    ],
    ids=[
        "array",
        "string",
        "null",
        "truncated",
        "bad utf-8",
        "lone surrogate",
        "float overflow",
        "deep nesting",
    ],
)
async def test_json_body_that_is_not_an_object_of_parameters_is_refused(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, body: bytes
) -> None:
    """A JSON body that does not parse to an object is a 400 saying so."""
    response = await post_raw(client, tenant, body, JSON)
    error = await assert_error(response, status=400, code=21100)
    assert "JSON" in error["message"]
    await assert_nothing_written(db)


# ---------------------------------------------------------------------------- form bodies


@pytest.mark.parametrize(
    "body",
    [
        b"PhoneNumber=%2B15105555555&FriendlyName=%ff%fe",
        b"PhoneNumber=%2B15105555555&FriendlyName=\xff",
        b"PhoneNumber=%2B15105555555&FriendlyName=%ed%a0%80",
        b"PhoneNumber=%2B15105555555&\xff\xfe=x",
    ],
    ids=["escaped", "raw byte", "encoded surrogate", "raw byte in name"],
)
async def test_form_body_that_is_not_utf8_is_refused(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, body: bytes
) -> None:
    """A form body whose bytes are not UTF-8 is a 400, and the number is not claimed."""
    response = await post_raw(client, tenant, body, FORM)
    error = await assert_error(response, status=400, code=21100)
    assert "UTF-8" in error["message"]
    await assert_nothing_written(db)


async def test_query_string_that_is_not_utf8_is_refused(client: TestClient, tenant: Tenant) -> None:
    """A list query string whose escapes are not UTF-8 is a 400."""
    response = await client.get(
        numbers_path(tenant.sid) + "?FriendlyName=%ff%fe", headers=tenant.auth
    )
    await assert_error(response, status=400, code=21100)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            b"PhoneNumber=%2B15105555555&VoiceUrl=http://a.example&VoiceUrl=http://b.example",
            "VoiceUrl",
        ),
        (b"PhoneNumber=%2B15105555555&PhoneNumber=%2B15105555555", "PhoneNumber"),
        (b"PhoneNumber=%2B15105555555&FriendlyName=a&FriendlyName=a", "FriendlyName"),
    ],
    ids=["different values", "same number", "same name"],
)
async def test_repeated_parameter_is_refused_naming_it(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, body: bytes, param: str
) -> None:
    """A parameter given twice is ambiguous: 400 naming it."""
    response = await post_raw(client, tenant, body, FORM)
    await assert_error(response, status=400, code=21100, param=param)
    await assert_nothing_written(db)


async def test_repeated_query_parameter_on_list_is_refused(
    client: TestClient, tenant: Tenant
) -> None:
    """A list query parameter given twice is a 400 naming it."""
    response = await client.get(
        numbers_path(tenant.sid) + "?PageSize=1&PageSize=2", headers=tenant.auth
    )
    await assert_error(response, status=400, code=21100, param="PageSize")


@pytest.mark.parametrize("json_body", [False, True], ids=["form", "json"])
async def test_more_than_200_parameters_are_refused(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, json_body: bool
) -> None:
    """A request with 300 parameters is a 400 before any of them is read."""
    params = {"PhoneNumber": NUMBER} | {f"Extra{i}": "x" for i in range(299)}
    if json_body:
        response = await client.post(numbers_path(tenant.sid), json=params, headers=tenant.auth)
    else:
        response = await client.post(numbers_path(tenant.sid), data=params, headers=tenant.auth)
    error = await assert_error(response, status=400, code=21100)
    assert "parameters" in error["message"]
    await assert_nothing_written(db)


@pytest.mark.parametrize(
    "body",
    [
        b"PhoneNumber=%2B15105555555&Foo=bar&Sid=PN00000000000000000000000000000000",
        b"PhoneNumber=%2B15105555555&%00=x&Friendly%00Name=y&Zzz=%00",
        b"PhoneNumber=%2B15105555555&friendlyname=lowercase+is+another+name",
    ],
    ids=["plain", "NUL in names and values", "wrong case"],
)
async def test_unknown_form_parameters_are_ignored(
    client: TestClient, tenant: Tenant, inventory: None, body: bytes
) -> None:
    """Parameters the resource does not know are ignored; the request succeeds."""
    response = await post_raw(client, tenant, body, FORM)
    assert response.status == 200
    document = await response.json()
    assert document["phone_number"] == NUMBER
    assert document["friendly_name"] == "(510) 555-5555"
    assert document["sid"] != "PN" + "0" * 32


async def test_unknown_json_parameters_are_ignored(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """Unknown JSON keys with scalar values of any type are ignored."""
    document = {"PhoneNumber": NUMBER, "Extra": 5, "Other": None, "Flag": True, "Name": "x"}
    response = await client.post(numbers_path(tenant.sid), json=document, headers=tenant.auth)
    assert response.status == 200


# ---------------------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"PhoneNumber": NUMBER, "FriendlyName": "a\x00b"}, 21100, "FriendlyName"),
        ({"PhoneNumber": NUMBER, "VoiceUrl": "http://example.com/\x00"}, 21402, "VoiceUrl"),
        ({"PhoneNumber": NUMBER, "VoiceMethod": "GET\x00"}, 21100, "VoiceMethod"),
        ({"PhoneNumber": NUMBER, "VoiceCapable": "true\x00"}, 21100, "VoiceCapable"),
        ({"PhoneNumber": NUMBER, "SmsApplicationSid": "AP\x00"}, 21100, "SmsApplicationSid"),
        ({"PhoneNumber": "+1510555\x005555"}, 21421, "PhoneNumber"),
        ({"PhoneNumber": "1234\x00", "isSIP": "true"}, 21421, "PhoneNumber"),
        ({"PhoneNumber": "12.*\x00", "isSIP": "true"}, 21421, "PhoneNumber"),
        ({"AreaCode": "510\x00"}, 21100, "AreaCode"),
    ],
    ids=[
        "FriendlyName",
        "VoiceUrl",
        "VoiceMethod",
        "VoiceCapable",
        "SmsApplicationSid",
        "PhoneNumber",
        "SIP PhoneNumber",
        "SIP pattern",
        "AreaCode",
    ],
)
async def test_nul_byte_in_value_is_refused_naming_the_parameter(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    inventory: None,
    params: dict[str, str],
    code: int,
    param: str,
) -> None:
    """A NUL byte never reaches the database: the parameter is refused first."""
    response = await client.post(numbers_path(tenant.sid), data=params, headers=tenant.auth)
    await assert_error(response, status=400, code=code, param=param)
    await assert_nothing_written(db)


@pytest.mark.parametrize(
    ("resource", "method", "fmt"),
    [
        ("IncomingPhoneNumbers/%00", "GET", ".json"),
        ("IncomingPhoneNumbers/%00", "POST", ""),
        ("IncomingPhoneNumbers/PN%00", "DELETE", ".json"),
        ("Applications/%00", "GET", ""),
        ("Applications/%00", "POST", ".json"),
        ("Applications/AP%00", "DELETE", ""),
    ],
)
async def test_nul_byte_in_sid_path_segment_is_not_found(
    client: TestClient, tenant: Tenant, fmt: str, method: str, resource: str
) -> None:
    """A sid segment holding a NUL names no resource: 404 in the caller's format."""
    path = f"/2012-04-24/Accounts/{tenant.sid}/{resource}{fmt}"
    response = await client.request(method, path, headers=tenant.auth)
    await assert_error(response, status=404, code=20404, param="Sid", json=fmt == ".json")


@pytest.mark.parametrize(
    ("path", "as_admin", "status", "code"),
    [
        ("/2012-04-24/Accounts/%00", True, 404, 20404),
        ("/2012-04-24/Accounts/%00", False, 403, 20403),
        ("/2012-04-24/Organizations/%00", True, 404, 20404),
        ("/2012-04-24/Accounts/%00/IncomingPhoneNumbers", False, 403, 20403),
    ],
)
async def test_error_quoting_a_nul_byte_is_still_well_formed_xml(
    client: TestClient,
    admin: Tenant,
    tenant: Tenant,
    path: str,
    as_admin: bool,
    status: int,
    code: int,
) -> None:
    """An XML error whose message quotes input with a NUL byte is still well-formed XML."""
    caller = admin if as_admin else tenant
    response = await client.get(path, headers=caller.auth)
    await assert_error(response, status=status, code=code, json=False)


async def test_repeated_parameter_with_control_characters_in_name_gives_well_formed_xml(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    """An XML error naming a parameter full of control characters is still well-formed."""
    response = await client.post(
        numbers_path(tenant.sid, fmt=""),
        data=b"A%00%01%1b=1&A%00%01%1b=2",
        headers={**tenant.auth, **FORM},
    )
    await assert_error(response, status=400, code=21100, json=False)
    await assert_nothing_written(db)


# ---------------------------------------------------------------------------- sizes


async def streamed(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """The body in pieces, sent chunked (no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize(
    ("chunked", "fmt"),
    [(False, ".json"), (True, ".json"), (False, "")],
    ids=["content-length", "chunked", "xml"],
)
async def test_body_over_64_kib_is_refused_with_413(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, chunked: bool, fmt: str
) -> None:
    """A body of 64 KiB + 1 byte is a 413, announced or streamed."""
    prefix = b"PhoneNumber=%2B15105555555&Pad="
    body = prefix + b"a" * (MAX_BODY + 1 - len(prefix))
    response = await client.post(
        numbers_path(tenant.sid, fmt=fmt),
        data=streamed(body) if chunked else body,
        headers={**tenant.auth, **FORM},
    )
    await assert_error(response, status=413, code=20413, json=fmt == ".json")
    await assert_nothing_written(db)


async def test_body_of_exactly_64_kib_is_accepted(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """The 64 KiB limit is inclusive."""
    prefix = b"PhoneNumber=%2B15105555555&Pad="
    body = prefix + b"a" * (MAX_BODY - len(prefix))
    response = await post_raw(client, tenant, body, FORM)
    assert response.status == 200


async def test_json_body_over_64_kib_is_refused_with_413(
    client: TestClient, tenant: Tenant, db: Database, inventory: None
) -> None:
    """The body limit applies to JSON bodies too."""
    document = {"PhoneNumber": NUMBER, "Pad": "a" * MAX_BODY}
    response = await client.post(numbers_path(tenant.sid), json=document, headers=tenant.auth)
    await assert_error(response, status=413, code=20413)
    await assert_nothing_written(db)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("PhoneNumber=" + "1" * LONG, "PhoneNumber"),
        ("FriendlyName=" + "a" * LONG, "FriendlyName"),
        ("Page=" + "9" * LONG, "Page"),
        ("PageSize=" + "9" * LONG, "PageSize"),
        ("AfterSid=PN" + "0" * LONG, "AfterSid"),
    ],
    ids=["PhoneNumber", "FriendlyName", "Page", "PageSize", "AfterSid"],
)
async def test_huge_list_query_value_is_refused_naming_it(
    client: TestClient, tenant: Tenant, query: str, param: str
) -> None:
    """A 7,000-character list filter or paging value is a 400 naming it."""
    response = await client.get(numbers_path(tenant.sid) + "?" + query, headers=tenant.auth)
    await assert_error(response, status=400, code=21100, param=param)


async def test_huge_unknown_list_query_value_is_ignored(client: TestClient, tenant: Tenant) -> None:
    """An unknown query parameter is ignored however long it is."""
    response = await client.get(
        numbers_path(tenant.sid) + "?Whatever=" + "x" * LONG, headers=tenant.auth
    )
    assert response.status == 200
    assert (await response.json())["total"] == 0


@pytest.mark.parametrize(("method", "fmt"), [("GET", ".json"), ("DELETE", "")])
async def test_long_number_sid_segment_is_not_found(
    client: TestClient, tenant: Tenant, fmt: str, method: str
) -> None:
    """A 7,000-character sid segment is a 404 in the caller's format."""
    path = numbers_path(tenant.sid, "/PN" + "a" * LONG, fmt)
    response = await client.request(method, path, headers=tenant.auth)
    await assert_error(response, status=404, code=20404, json=fmt == ".json")


async def test_long_account_sid_segment_is_forbidden(client: TestClient, tenant: Tenant) -> None:
    """A 7,000-character account segment names no account the caller controls: 403."""
    response = await client.get(numbers_path("AC" + "a" * LONG), headers=tenant.auth)
    await assert_error(response, status=403, code=20403)


async def test_100_kb_url_is_refused_without_a_500_and_the_server_keeps_serving(
    client: TestClient, tenant: Tenant
) -> None:
    """A 100 KB path segment or query string is refused with a 4xx, and the next request works."""
    for path in (
        numbers_path(tenant.sid, "/PN" + "a" * 100_000),
        numbers_path(tenant.sid) + "?PhoneNumber=" + "1" * 100_000,
    ):
        response = await client.get(path, headers=tenant.auth)
        assert 400 <= response.status < 500
    response = await client.get(numbers_path(tenant.sid), headers=tenant.auth)
    assert response.status == 200


# ---------------------------------------------------------------------------- routes


@pytest.mark.parametrize(
    ("path", "json"),
    [
        ("/2012-04-24/Nope.json", True),
        ("/2012-04-24/Nope", False),
        ("/restcomm/2012-04-24/Accounts/{sid}/Nope.json", True),
        ("/2012-04-24/Accounts/{sid}/IncomingPhoneNumbers/PN0/extra", False),
        ("/v1/nothing", True),
    ],
)
async def test_unknown_route_is_404_in_error_format(
    client: TestClient, tenant: Tenant, path: str, json: bool
) -> None:
    """A route that does not exist is a 404 error document (JSON for .json, XML otherwise)."""
    response = await client.get(path.format(sid=tenant.sid), headers=tenant.auth)
    await assert_error(response, status=404, code=20404, json=json)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_unsupported_method_is_405_in_error_format(
    client: TestClient, tenant: Tenant, db: Database, method: str
) -> None:
    """A method the list resource does not support is a 405 error document."""
    response = await client.request(method, numbers_path(tenant.sid), headers=tenant.auth)
    await assert_error(response, status=405, code=20405)
    await assert_nothing_written(db)


# ---------------------------------------------------------------------------- updates


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"FriendlyName": ', JSON, 400, 21100),
        (b"FriendlyName=%ff", FORM, 400, 21100),
        (b"FriendlyName=a&FriendlyName=b", FORM, 400, 21100),
        (b"FriendlyName=changed&Pad=" + b"a" * MAX_BODY, FORM, 413, 20413),
    ],
    ids=["invalid json", "bad utf-8", "repeated", "too large"],
)
async def test_malformed_update_leaves_the_number_unchanged(
    client: TestClient,
    tenant: Tenant,
    inventory: None,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: int,
) -> None:
    """A malformed update body is refused and the number keeps every value."""
    created = await client.post(
        numbers_path(tenant.sid), data={"PhoneNumber": NUMBER}, headers=tenant.auth
    )
    assert created.status == 200
    path = numbers_path(tenant.sid, "/" + (await created.json())["sid"])
    before = await (await client.get(path, headers=tenant.auth)).json()
    response = await client.post(path, data=body, headers={**tenant.auth, **headers})
    await assert_error(response, status=status, code=code)
    assert await (await client.get(path, headers=tenant.auth)).json() == before


@pytest.mark.parametrize("fmt", [".json", ""], ids=["json", "xml"])
async def test_100_kb_url_is_refused_with_an_error_document(
    client: TestClient, tenant: Tenant, fmt: str
) -> None:
    """A 100 KB path segment or query string is refused with a SPEC 8 error document."""
    for path in (
        numbers_path(tenant.sid, "/PN" + "a" * 100_000, fmt),
        numbers_path(tenant.sid, "", fmt) + "?PhoneNumber=" + "1" * 100_000,
    ):
        response = await client.get(path, headers=tenant.auth)
        assert 400 <= response.status < 500
        await error_document(response, json=fmt == ".json")
