"""Validation of every IncomingPhoneNumbers parameter (SPEC 2.1 "Validation", SPEC 8):
each bad value is a 400 with the exact code and a message naming the parameter, and a
refused request writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from router.domain import Application, ApplicationKind
from router.store.accounts import AccountStore
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant

NUMBER = "+15105555555"
OTHER_NUMBER = "+16505550000"
INVALID = 21100  # the generic invalid-parameter code
INVALID_URL = 21402
FALLBACK_WITHOUT_PRIMARY = 21405
INVALID_PHONE_NUMBER = 21421

METHOD_FIELDS = {
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
    "ReferMethod": "refer_method",
}
BOOLEAN_PARAMS = [
    "VoiceCallerIdLookup",
    "VoiceCapable",
    "SmsCapable",
    "MmsCapable",
    "FaxCapable",
    "isSIP",
]
APPLICATION_PARAMS = ["VoiceApplicationSid", "SmsApplicationSid", "ReferApplicationSid"]
BAD_URLS = {
    "relative": "/x.xml",
    "ftp": "ftp://example.com/x.xml",
    "no host": "http://",
    "3000 characters": "http://example.com/" + "a" * (3000 - len("http://example.com/")),
    "space": "http://example.com/a b.xml",
    "control character": "http://example.com/a\x01b.xml",
}
MORE_BAD_URLS = {
    "no host with path": "http:///x.xml",
    "newline": "http://example.com/x.xml\n",
    "bad port": "http://example.com:99999/x.xml",
}
URL_FIELDS = {
    "VoiceUrl": "voice_url",
    "VoiceFallbackUrl": "voice_fallback_url",
    "StatusCallback": "status_callback",
    "SmsUrl": "sms_url",
    "SmsFallbackUrl": "sms_fallback_url",
    "ReferUrl": "refer_url",
}

AddInventory = Callable[..., Awaitable[None]]


def numbers_path(account_sid: str, suffix: str = "") -> str:
    return f"/2012-04-24/Accounts/{account_sid}/IncomingPhoneNumbers{suffix}.json"


async def provision(client: TestClient, tenant: Tenant, params: dict[str, str]) -> ClientResponse:
    return await client.post(numbers_path(tenant.sid), data=params, headers=tenant.auth)


async def assert_error(response: ClientResponse, *, status: int, code: int, param: str) -> None:
    """The response is a JSON error with this status and code whose message names param."""
    body = await response.json()
    assert response.status == status, body
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == status
    assert body["code"] == code, body
    assert param in body["message"], body


async def assert_nothing_written(client: TestClient, tenant: Tenant, db: Database) -> None:
    """No number exists and every inventory DID is still free."""
    listing = await (await client.get(numbers_path(tenant.sid), headers=tenant.auth)).json()
    assert listing["total"] == 0
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incoming_numbers") == 0
        assert (
            await conn.fetchval("SELECT count(*) FROM inventory WHERE assigned_sid IS NOT NULL")
            == 0
        )


@pytest.fixture
async def inventory(add_inventory: AddInventory) -> None:
    """Two free DIDs: one in area code 510, one in 650."""
    await add_inventory(NUMBER, area_code="510")
    await add_inventory(OTHER_NUMBER, area_code="650")


@pytest.fixture
def make_application(db: Database) -> Callable[..., Awaitable[Application]]:
    async def make(owner: Tenant, kind: ApplicationKind) -> Application:
        fields = {"friendly_name": f"{kind} app", "kind": kind, "rcml_url": "http://example.com/a"}
        return await AccountStore(db).create_application(owner.sid, fields)

    return make


@pytest.fixture
async def provisioned(client: TestClient, tenant: Tenant, inventory: None) -> dict[str, Any]:
    """A number of the tenant with a voice URL, as GET shows it."""
    response = await provision(
        client,
        tenant,
        {
            "PhoneNumber": NUMBER,
            "VoiceUrl": "http://example.com/voice.xml",
            "FriendlyName": "original",
        },
    )
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def current(client: TestClient, tenant: Tenant, number: dict[str, Any]) -> dict[str, Any]:
    path = numbers_path(tenant.sid, "/" + number["sid"])
    response = await client.get(path, headers=tenant.auth)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


# ---------------------------------------------------------------------------- URLs


@pytest.mark.parametrize("param", URL_FIELDS)
@pytest.mark.parametrize("value", BAD_URLS.values(), ids=BAD_URLS.keys())
async def test_provision_refuses_url_that_is_not_absolute_http(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, param: str, value: str
) -> None:
    """A URL parameter that is not an absolute, clean http(s) URL is a 400 with code 21402."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: value})
    await assert_error(response, status=400, code=INVALID_URL, param=param)
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize("value", MORE_BAD_URLS.values(), ids=MORE_BAD_URLS.keys())
async def test_provision_refuses_other_malformed_voice_url(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, value: str
) -> None:
    """More ways for a URL not to be an absolute http(s) URL: each a 400 with code 21402."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, "VoiceUrl": value})
    await assert_error(response, status=400, code=INVALID_URL, param="VoiceUrl")
    await assert_nothing_written(client, tenant, db)


async def test_provision_checks_lower_camel_status_callback_alias(
    client: TestClient, tenant: Tenant, db: Database, inventory: None
) -> None:
    """The seed's `statusCallback` spelling is validated like StatusCallback."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, "statusCallback": "/x.xml"})
    await assert_error(response, status=400, code=INVALID_URL, param="StatusCallback")
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_absolute_http_and_https_urls(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """Absolute http and https URLs (with port and query) are accepted and stored as given."""
    urls = {
        name: f"http{'s' * (i % 2)}://example.com:{8000 + i}/{name}.xml?x=1"
        for i, name in enumerate(URL_FIELDS)
    }
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, **urls})
    assert response.status == 200
    body = await response.json()
    assert {field: body[field] for field in URL_FIELDS.values()} == {
        URL_FIELDS[name]: url for name, url in urls.items()
    }


# ---------------------------------------------------------------------------- methods


@pytest.mark.parametrize("param", METHOD_FIELDS)
@pytest.mark.parametrize("value", ["PUT", "", "POST "])
async def test_provision_refuses_method_other_than_get_or_post(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, param: str, value: str
) -> None:
    """A *Method that is not GET or POST (exactly, up to case) is a 400 naming it."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: value})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


async def test_provision_normalizes_method_case(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """Methods in any case are accepted and stored upper-case."""
    spellings = ["get", "post", "Get", "pOST", "GET", "post"]
    methods = dict(zip(METHOD_FIELDS, spellings, strict=True))
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, **methods})
    assert response.status == 200
    body = await response.json()
    assert [body[field] for field in METHOD_FIELDS.values()] == [s.upper() for s in spellings]


async def test_provision_defaults_every_method_to_post(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """Methods not given are POST."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER})
    assert response.status == 200
    body = await response.json()
    assert {body[field] for field in METHOD_FIELDS.values()} == {"POST"}


# ---------------------------------------------------------------------------- booleans


@pytest.mark.parametrize("param", BOOLEAN_PARAMS)
@pytest.mark.parametrize("value", ["yes", "1", ""])
async def test_provision_refuses_boolean_other_than_true_or_false(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, param: str, value: str
) -> None:
    """Booleans accept only true and false: anything else is a 400 naming the parameter."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: value})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_booleans_in_any_case(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """TRUE and False are read as booleans."""
    params = {"PhoneNumber": NUMBER, "FaxCapable": "TRUE", "VoiceCapable": "False"}
    response = await provision(client, tenant, params)
    assert response.status == 200
    capabilities = (await response.json())["capabilities"]
    assert capabilities["fax_capable"] is True
    assert capabilities["voice_capable"] is False


# ------------------------------------------------------------ FriendlyName, ApiVersion


@pytest.mark.parametrize(
    "value",
    ["a" * 65, "", "bad\x07name", "line\nbreak"],
    ids=["65 characters", "empty", "bell", "newline"],
)
async def test_provision_refuses_bad_friendly_name(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, value: str
) -> None:
    """FriendlyName must be 1 to 64 printable characters."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, "FriendlyName": value})
    await assert_error(response, status=400, code=INVALID, param="FriendlyName")
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_friendly_name_of_exactly_64_characters(
    client: TestClient, tenant: Tenant, inventory: None
) -> None:
    """The 64-character bound is inclusive, and non-ASCII letters count as one each."""
    name = "é" * 64
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, "FriendlyName": name})
    assert response.status == 200
    assert (await response.json())["friendly_name"] == name


@pytest.mark.parametrize("value", ["2010-04-01", "", "2012-04-24 "])
async def test_provision_refuses_api_version_other_than_2012_04_24(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, value: str
) -> None:
    """ApiVersion accepts only 2012-04-24."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, "ApiVersion": value})
    await assert_error(response, status=400, code=INVALID, param="ApiVersion")
    await assert_nothing_written(client, tenant, db)


# ---------------------------------------------------------------------------- application sids


@pytest.mark.parametrize("param", APPLICATION_PARAMS)
@pytest.mark.parametrize(
    "value",
    ["AP123", "PN" + "0" * 32],
    ids=["short", "wrong prefix"],
)
async def test_provision_refuses_malformed_application_sid(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, param: str, value: str
) -> None:
    """An application sid that is not AP and 32 hex digits is a 400 naming the parameter."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: value})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize("param", APPLICATION_PARAMS)
async def test_provision_refuses_unknown_application_sid(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, param: str
) -> None:
    """A well-formed application sid that does not exist is a 400 naming the parameter."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: "AP" + "0" * 32})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize("param", APPLICATION_PARAMS)
async def test_provision_refuses_application_of_a_sibling_account(
    client: TestClient,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    make_application: Callable[..., Awaitable[Application]],
    db: Database,
    inventory: None,
    param: str,
) -> None:
    """An application of another tenant (a sibling account) cannot be used."""
    sibling = await make_account(admin)
    kind = ApplicationKind.SMS if param == "SmsApplicationSid" else ApplicationKind.VOICE
    foreign = await make_application(sibling, kind)
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: foreign.sid})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize(
    ("param", "kind"),
    [
        ("VoiceApplicationSid", ApplicationKind.SMS),
        ("VoiceApplicationSid", ApplicationKind.USSD),
        ("ReferApplicationSid", ApplicationKind.SMS),
        ("SmsApplicationSid", ApplicationKind.VOICE),
    ],
)
async def test_provision_refuses_application_of_wrong_kind(
    client: TestClient,
    tenant: Tenant,
    make_application: Callable[..., Awaitable[Application]],
    db: Database,
    inventory: None,
    param: str,
    kind: ApplicationKind,
) -> None:
    """An application whose kind does not fit the channel is a 400 naming the parameter."""
    application = await make_application(tenant, kind)
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, param: application.sid})
    await assert_error(response, status=400, code=INVALID, param=param)
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_own_applications_of_fitting_kinds(
    client: TestClient,
    tenant: Tenant,
    make_application: Callable[..., Awaitable[Application]],
    inventory: None,
) -> None:
    """Voice, SMS (or USSD) and refer applications of the account are accepted."""
    voice = await make_application(tenant, ApplicationKind.VOICE)
    ussd = await make_application(tenant, ApplicationKind.USSD)
    params = {
        "PhoneNumber": NUMBER,
        "VoiceApplicationSid": voice.sid,
        "SmsApplicationSid": ussd.sid,
        "ReferApplicationSid": voice.sid,
    }
    response = await provision(client, tenant, params)
    assert response.status == 200
    body = await response.json()
    assert body["voice_application_sid"] == voice.sid
    assert body["sms_application_sid"] == ussd.sid
    assert body["refer_application_sid"] == voice.sid


# ---------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"VoiceFallbackUrl": "http://example.com/fb.xml"}, "VoiceFallbackUrl"),
        ({"VoiceFallbackUrl": "http://example.com/fb.xml", "VoiceUrl": ""}, "VoiceFallbackUrl"),
        (
            {"VoiceFallbackUrl": "http://example.com/fb.xml", "SmsUrl": "http://example.com/s"},
            "VoiceFallbackUrl",
        ),
        ({"SmsFallbackUrl": "http://example.com/fb.xml"}, "SmsFallbackUrl"),
    ],
    ids=["voice alone", "voice with empty primary", "voice with sms primary", "sms alone"],
)
async def test_provision_refuses_fallback_without_primary(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    inventory: None,
    params: dict[str, str],
    param: str,
) -> None:
    """A fallback URL with neither a primary URL nor an application is code 21405."""
    response = await provision(client, tenant, {"PhoneNumber": NUMBER, **params})
    await assert_error(response, status=400, code=FALLBACK_WITHOUT_PRIMARY, param=param)
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_fallback_behind_an_application(
    client: TestClient,
    tenant: Tenant,
    make_application: Callable[..., Awaitable[Application]],
    inventory: None,
) -> None:
    """VoiceFallbackUrl is accepted when VoiceApplicationSid gives the primary."""
    voice = await make_application(tenant, ApplicationKind.VOICE)
    params = {
        "PhoneNumber": NUMBER,
        "VoiceApplicationSid": voice.sid,
        "VoiceFallbackUrl": "http://example.com/fb.xml",
    }
    response = await provision(client, tenant, params)
    assert response.status == 200
    assert (await response.json())["voice_fallback_url"] == "http://example.com/fb.xml"


# ---------------------------------------------------------------------------- PhoneNumber, AreaCode


@pytest.mark.parametrize(
    "value",
    [
        "15105555555",
        "+1abc",
        "+",
        "+" + "1" * 20,
        "1" * 20,
        "",
        "+1 510 555 5555",
        "+１５１０５５５５５５５",
    ],
    ids=[
        "no plus",
        "letters",
        "plus only",
        "20 digits",
        "20 digits no plus",
        "empty",
        "spaces",
        "fullwidth",
    ],
)
async def test_provision_refuses_phone_number_that_is_not_e164(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, value: str
) -> None:
    """An inventory PhoneNumber must be E.164: otherwise 21421 and the DID stays free."""
    response = await provision(client, tenant, {"PhoneNumber": value})
    await assert_error(response, status=400, code=INVALID_PHONE_NUMBER, param="PhoneNumber")
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize("pattern", ["[12", "(abc", "a{2,1}"])
async def test_provision_refuses_sip_pattern_that_does_not_compile(
    client: TestClient, tenant: Tenant, db: Database, pattern: str
) -> None:
    """A SIP pattern that does not compile is an invalid PhoneNumber (21421)."""
    response = await provision(client, tenant, {"PhoneNumber": pattern, "isSIP": "true"})
    await assert_error(response, status=400, code=INVALID_PHONE_NUMBER, param="PhoneNumber")
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize(
    "params",
    [
        {"PhoneNumber": "1650.*"},
        {"PhoneNumber": "[45]234[23]"},
        {"PhoneNumber": "+1650.*"},
        {"PhoneNumber": "1650.*", "isSIP": "false"},
    ],
    ids=["dot star", "classes", "plus prefix", "isSIP false"],
)
async def test_provision_refuses_pattern_on_non_sip_number(
    client: TestClient, tenant: Tenant, db: Database, params: dict[str, str]
) -> None:
    """A pattern needs isSIP=true."""
    response = await provision(client, tenant, params)
    await assert_error(response, status=400, code=INVALID_PHONE_NUMBER, param="PhoneNumber")
    await assert_nothing_written(client, tenant, db)


async def test_provision_accepts_compiling_sip_pattern(client: TestClient, tenant: Tenant) -> None:
    """A pattern that compiles is stored as given on a SIP number."""
    response = await provision(client, tenant, {"PhoneNumber": "1650.*", "isSIP": "true"})
    assert response.status == 200
    body = await response.json()
    assert body["phone_number"] == "1650.*"
    assert body["pure_sip"] is True


async def test_provision_with_phone_number_and_area_code_uses_area_code(
    client: TestClient, tenant: Tenant, db: Database, inventory: None
) -> None:
    """Both given: AreaCode wins and the PhoneNumber's DID stays free (the seed's rule)."""
    params = {"PhoneNumber": OTHER_NUMBER, "AreaCode": "510"}
    response = await provision(client, tenant, params)
    assert response.status == 200
    assert (await response.json())["phone_number"] == NUMBER
    async with db.connection() as conn:
        free = await conn.fetchval(
            "SELECT assigned_sid IS NULL FROM inventory WHERE phone_number = $1", OTHER_NUMBER
        )
    assert free is True


@pytest.mark.parametrize(
    "params", [{}, {"FriendlyName": "no number"}], ids=["empty body", "other parameters only"]
)
async def test_provision_without_phone_number_or_area_code_is_refused(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, params: dict[str, str]
) -> None:
    """Neither PhoneNumber nor AreaCode: 400 code 21421 naming PhoneNumber."""
    response = await provision(client, tenant, params)
    await assert_error(response, status=400, code=INVALID_PHONE_NUMBER, param="PhoneNumber")
    await assert_nothing_written(client, tenant, db)


@pytest.mark.parametrize("value", ["abc", "5105555555", ""])
async def test_provision_refuses_malformed_area_code(
    client: TestClient, tenant: Tenant, db: Database, inventory: None, value: str
) -> None:
    """AreaCode must be a few ASCII digits."""
    response = await provision(client, tenant, {"AreaCode": value})
    await assert_error(response, status=400, code=INVALID, param="AreaCode")
    await assert_nothing_written(client, tenant, db)


async def test_provision_on_typed_route_refuses_area_code(
    client: TestClient, tenant: Tenant, db: Database, inventory: None
) -> None:
    """The Local, TollFree and Mobile resources do not accept AreaCode."""
    response = await client.post(
        numbers_path(tenant.sid, "/Local"), data={"AreaCode": "510"}, headers=tenant.auth
    )
    await assert_error(response, status=400, code=INVALID, param="AreaCode")
    await assert_nothing_written(client, tenant, db)


async def test_provision_checks_every_parameter_before_claiming_the_number(
    client: TestClient, tenant: Tenant, db: Database, inventory: None
) -> None:
    """Valid parameters beside one invalid one do not claim the DID."""
    params = {
        "PhoneNumber": NUMBER,
        "FriendlyName": "fine",
        "VoiceUrl": "http://example.com/v.xml",
        "SmsMethod": "PATCH",
    }
    response = await provision(client, tenant, params)
    await assert_error(response, status=400, code=INVALID, param="SmsMethod")
    await assert_nothing_written(client, tenant, db)


# ---------------------------------------------------------------------------- update


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"VoiceUrl": "/x.xml"}, INVALID_URL, "VoiceUrl"),
        ({"SmsFallbackUrl": "http://example.com/a b"}, INVALID_URL, "SmsFallbackUrl"),
        ({"SmsMethod": "PUT"}, INVALID, "SmsMethod"),
        ({"VoiceMethod": ""}, INVALID, "VoiceMethod"),
        ({"VoiceCapable": "yes"}, INVALID, "VoiceCapable"),
        ({"FriendlyName": "a" * 65}, INVALID, "FriendlyName"),
        ({"ApiVersion": "2010-04-01"}, INVALID, "ApiVersion"),
        ({"VoiceApplicationSid": "AP123"}, INVALID, "VoiceApplicationSid"),
        ({"SmsApplicationSid": "AP" + "0" * 32}, INVALID, "SmsApplicationSid"),
        ({"PhoneNumber": OTHER_NUMBER}, INVALID, "PhoneNumber"),
        ({"isSIP": "true"}, INVALID, "isSIP"),
        ({"VoiceUrl": ""}, FALLBACK_WITHOUT_PRIMARY, "VoiceFallbackUrl"),
        (
            {"SmsFallbackUrl": "http://example.com/fb.xml"},
            FALLBACK_WITHOUT_PRIMARY,
            "SmsFallbackUrl",
        ),
        ({"FriendlyName": "changed", "ReferUrl": "/relative"}, INVALID_URL, "ReferUrl"),
    ],
)
async def test_update_refuses_invalid_parameter_and_changes_nothing(
    client: TestClient,
    tenant: Tenant,
    provisioned: dict[str, Any],
    params: dict[str, str],
    code: int,
    param: str,
) -> None:
    """An update is validated like a provision, and a refused update leaves the number as it was."""
    if param == "VoiceFallbackUrl":  # clearing VoiceUrl would orphan this fallback
        setup = {"VoiceFallbackUrl": "http://example.com/fb.xml"}
        path = numbers_path(tenant.sid, "/" + provisioned["sid"])
        assert (await client.post(path, data=setup, headers=tenant.auth)).status == 200
    before = await current(client, tenant, provisioned)
    response = await client.post(
        numbers_path(tenant.sid, "/" + provisioned["sid"]), data=params, headers=tenant.auth
    )
    await assert_error(response, status=400, code=code, param=param)
    assert await current(client, tenant, provisioned) == before


async def test_update_by_put_is_validated_too(
    client: TestClient, tenant: Tenant, provisioned: dict[str, Any]
) -> None:
    """PUT on the instance validates like POST and leaves the number as it was."""
    before = await current(client, tenant, provisioned)
    response = await client.put(
        numbers_path(tenant.sid, "/" + provisioned["sid"]),
        data={"FriendlyName": "changed", "VoiceUrl": "ftp://example.com/x"},
        headers=tenant.auth,
    )
    await assert_error(response, status=400, code=INVALID_URL, param="VoiceUrl")
    assert await current(client, tenant, provisioned) == before


async def test_update_refuses_application_of_a_sibling_account(
    client: TestClient,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    make_application: Callable[..., Awaitable[Application]],
    provisioned: dict[str, Any],
) -> None:
    """Pointing a number at another tenant's application is refused and changes nothing."""
    sibling = await make_account(admin)
    foreign = await make_application(sibling, ApplicationKind.VOICE)
    before = await current(client, tenant, provisioned)
    response = await client.post(
        numbers_path(tenant.sid, "/" + provisioned["sid"]),
        data={"VoiceApplicationSid": foreign.sid},
        headers=tenant.auth,
    )
    await assert_error(response, status=400, code=INVALID, param="VoiceApplicationSid")
    assert await current(client, tenant, provisioned) == before


async def test_update_refuses_application_of_wrong_kind(
    client: TestClient,
    tenant: Tenant,
    make_application: Callable[..., Awaitable[Application]],
    provisioned: dict[str, Any],
) -> None:
    """An SMS application cannot become the number's voice application."""
    sms = await make_application(tenant, ApplicationKind.SMS)
    before = await current(client, tenant, provisioned)
    response = await client.post(
        numbers_path(tenant.sid, "/" + provisioned["sid"]),
        data={"VoiceApplicationSid": sms.sid},
        headers=tenant.auth,
    )
    await assert_error(response, status=400, code=INVALID, param="VoiceApplicationSid")
    assert await current(client, tenant, provisioned) == before


async def test_update_normalizes_lower_case_method(
    client: TestClient, tenant: Tenant, provisioned: dict[str, Any]
) -> None:
    """A lower-case method on update is stored upper-case."""
    response = await client.post(
        numbers_path(tenant.sid, "/" + provisioned["sid"]),
        data={"SmsMethod": "get"},
        headers=tenant.auth,
    )
    assert response.status == 200
    assert (await current(client, tenant, provisioned))["sms_method"] == "GET"
