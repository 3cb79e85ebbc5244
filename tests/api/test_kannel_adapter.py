"""The Kannel adapter, POST /v1/gateways/kannel/messages: Kannel's post-url request (the
text as the body, X-Kannel-From/To, Basic credentials from the URL) routed like
/v1/events/messages; routed answers 202 with no body, anything else keeps router's
status and envelope; bad input is refused naming the parameter, with nothing written."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from router import config
from router.store.postgres import Database
from tests.api.test_callback_delivery import Hit, receiving, service
from tests.api.test_status_events import count, provision
from tests.conftest import GATEWAY_TOKEN, Tenant

ROUTE = "/v1/gateways/kannel/messages"
SENDER = "+14155550000"


def basic(password: str, user: str = "gateway") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def kannel_headers(
    sender: str | None = SENDER, receiver: str | None = "5555", charset: str = "UTF-8"
) -> dict[str, str]:
    """What Kannel's smsbox sends with post-url and send-sender = true."""
    headers = {
        "Content-Type": f'text/plain; charset="{charset}"',
        "X-Kannel-SMSC": "fake",
        "X-Kannel-Coding": "0",
        **basic(GATEWAY_TOKEN),
    }
    if sender is not None:
        headers["X-Kannel-From"] = sender
    if receiver is not None:
        headers["X-Kannel-To"] = receiver
    return headers


async def sms_app(hit: Hit) -> web.StreamResponse:
    return web.Response(text="<Response/>", content_type="application/xml")


async def post(
    client: TestClient,
    tenant: Tenant,
    text: bytes = b"hello",
    headers: dict[str, str] | None = None,
    **query: str,
) -> tuple[int, str]:
    params = {"DestinationOrganizationSid": tenant.account.organization_sid, **query}
    response = await client.post(
        ROUTE, data=text, params=params, headers=headers or kannel_headers()
    )
    return response.status, await response.text()


async def test_a_routed_message_reaches_the_sms_url_and_answers_202_without_a_body(
    db: Database, settings: config.Settings, tenant: Tenant
) -> None:
    """The SmsUrl gets From, To, Body and the SmsSid made from Kannel's id; Kannel gets an
    empty 202 (so it sends nothing back to the handset)."""
    message_id = str(uuid.uuid4())
    async with receiving(answer=sms_app) as app, service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl=app.url("/sms"))
        status, text = await post(client, tenant, "héllo wörld".encode(), id=message_id)
    assert (status, text) == (202, "")
    assert len(app.hits) == 1
    params = app.hits[0].params
    assert params["From"] == SENDER
    assert params["To"] == "5555"
    assert params["Body"] == "héllo wörld"
    assert params["SmsSid"] == "SM" + message_id.replace("-", "")


async def test_a_repost_of_the_same_kannel_id_gets_the_first_answer_and_one_record(
    db: Database, settings: config.Settings, tenant: Tenant
) -> None:
    message_id = str(uuid.uuid4())
    async with receiving(answer=sms_app) as app, service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl=app.url("/sms"))
        first = await post(client, tenant, id=message_id)
        again = await post(client, tenant, id=message_id)
    assert first == again == (202, "")
    assert len(app.hits) == 1
    assert await count(db, "SELECT count(*) FROM messages") == 1


async def test_the_text_is_read_in_the_charset_kannel_declares(
    db: Database, settings: config.Settings, tenant: Tenant
) -> None:
    """A UCS-2 message arrives as UTF-16BE (Kannel's charset for coding 2)."""
    async with receiving(answer=sms_app) as app, service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl=app.url("/sms"))
        status, _ = await post(
            client, tenant, "Привет".encode("utf-16-be"), kannel_headers(charset="UTF-16BE")
        )
    assert status == 202
    assert app.hits[0].params["Body"] == "Привет"


@pytest.mark.parametrize(
    ("fields", "status", "outcome"),
    [
        ({}, 404, "not_found"),  # nothing provisioned at 5555
        ({"SmsUrl": ""}, 404, "no_application"),
        ({"SmsUrl": "http://127.0.0.1:9/sms"}, 502, "rcml_unavailable"),
    ],
)
async def test_an_unrouted_message_keeps_routers_status_and_envelope(
    db: Database,
    settings: config.Settings,
    tenant: Tenant,
    fields: dict[str, str],
    status: int,
    outcome: str,
) -> None:
    """Kannel counts a non-2xx answer as failed and sends its reply-couldnotfetch text."""
    async with service(db, settings) as client:
        if fields:
            await provision(client, tenant, "5555", **fields)
        got, text = await post(client, tenant)
    assert got == status
    assert f'"outcome":"{outcome}"' in text
    assert await count(db, "SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("wrong-token"),
        basic(""),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": f"Token {GATEWAY_TOKEN}"},
    ],
)
async def test_without_the_gateway_token_nothing_is_routed(
    db: Database, settings: config.Settings, tenant: Tenant, headers: dict[str, str]
) -> None:
    async with service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl="http://127.0.0.1:9/sms")
        sent = {k: v for k, v in kannel_headers().items() if k != "Authorization"}
        status, text = await post(client, tenant, headers={**sent, **headers})
    assert status == 401, text
    assert '"code":20003' in text
    assert await count(db, "SELECT count(*) FROM messages") == 0


async def test_bearer_works_too_and_basic_stays_refused_on_the_event_routes(
    db: Database, settings: config.Settings, tenant: Tenant
) -> None:
    """Basic credentials are for Kannel's route only; /v1/events/messages keeps Bearer."""
    async with receiving(answer=sms_app) as app, service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl=app.url("/sms"))
        bearer = {**kannel_headers(), "Authorization": f"Bearer {GATEWAY_TOKEN}"}
        assert (await post(client, tenant, headers=bearer))[0] == 202
        response = await client.post(
            "/v1/events/messages",
            json={"From": SENDER, "To": "5555", "DestinationOrganizationSid": "x"},
            headers=basic(GATEWAY_TOKEN),
        )
        assert response.status == 401


@pytest.mark.parametrize(
    ("headers", "query", "text", "status", "param"),
    [
        (kannel_headers(sender=None), {}, b"hi", 400, "From"),
        (kannel_headers(receiver=None), {}, b"hi", 400, "To"),
        (kannel_headers(receiver="55 55"), {}, b"hi", 400, "To"),
        (kannel_headers(sender="x" * 300), {}, b"hi", 400, "From"),
        (kannel_headers(), {"id": "not-a-uuid"}, b"hi", 400, "id"),
        (kannel_headers(), {"id": "SM" + "0" * 32}, b"hi", 400, "id"),
        (kannel_headers(charset="no-such-charset"), {}, b"hi", 400, "Body"),
        (kannel_headers(), {}, b"\xff\xfe bad utf-8", 400, "Body"),
        (kannel_headers(), {}, b"x" * 5000, 400, "Body"),
        (kannel_headers(), {}, b"x" * 70000, 413, None),
        (kannel_headers(), {"DestinationOrganizationSid": "OR123"}, b"hi", 400, None),
    ],
)
async def test_bad_input_is_refused_with_nothing_written(
    db: Database,
    settings: config.Settings,
    tenant: Tenant,
    headers: dict[str, str],
    query: dict[str, str],
    text: bytes,
    status: int,
    param: str | None,
) -> None:
    async with service(db, settings) as client:
        await provision(client, tenant, "5555", SmsUrl="http://127.0.0.1:9/sms")
        got, answer = await post(client, tenant, text, headers, **query)
    assert got == status, answer
    if param is not None:
        assert param in json.loads(answer)["message"], answer
    assert await count(db, "SELECT count(*) FROM messages") == 0
