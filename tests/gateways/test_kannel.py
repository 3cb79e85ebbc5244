"""Kannel (examples/kannel/kannel.conf) in front of router, for real: a mobile-originated
SMS from Kannel's fake SMSC reaches the number's SmsUrl through router's Kannel adapter;
one router does not route comes back to the sender as Kannel's failure reply."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from router import config
from router.store.postgres import Database
from tests.api.test_callback_delivery import Hit, eventually, receiving, service
from tests.api.test_status_events import provision
from tests.conftest import GATEWAY_TOKEN, Tenant
from tests.gateways.kannel import Kannel, fake_smsc, kannel

SENDER = "+14155550000"
NUMBER = "+15105555555"


async def sms_app(hit: Hit) -> web.StreamResponse:
    return web.Response(text="<Response/>", content_type="application/xml")


@asynccontextmanager
async def running_kannel(post_url: str, folder: Path) -> AsyncIterator[Kannel]:
    context = kannel(post_url, folder)
    running = await asyncio.to_thread(context.__enter__)
    try:
        yield running
    finally:
        await asyncio.to_thread(context.__exit__, None, None, None)


def replies(folder: Path, name: str) -> list[str]:
    """The messages Kannel sent back to one fakesmsc run ("Got message n: <...>")."""
    path = folder / name
    text = path.read_text(errors="replace") if path.exists() else ""
    return [
        line.split(": <", 1)[1].rstrip(">") for line in text.splitlines() if "Got message" in line
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    return tmp_path


async def test_an_mo_sms_reaches_the_sms_url_and_an_unrouted_one_is_answered_as_failed(
    db: Database,
    settings: config.Settings,
    tenant: Tenant,
    folder: Path,
) -> None:
    """fakesmsc -> Kannel -> router -> the number's SmsUrl, with Kannel's message id as the
    SmsSid and no reply to the sender; a message to an unknown number is not posted to any
    SmsUrl and the sender gets the reply-couldnotfetch text."""
    async with receiving(answer=sms_app) as app, service(db, settings) as router:
        await provision(router, tenant, "5555", SmsUrl=app.url("/sms"))
        org = tenant.account.organization_sid
        post_url = (
            f"http://gateway:{GATEWAY_TOKEN}@127.0.0.1:{router.server.port}"
            f"/v1/gateways/kannel/messages?id=%I&DestinationOrganizationSid={org}"
        )
        async with running_kannel(post_url, folder) as gateway:
            started = time.monotonic()
            # The fake SMSC serves one client at a time: one fakesmsc run per message.
            # fakesmsc runs until stopped, so the first run is stopped
            # once router has answered; a reply to it (there must be none) would reach
            # it or, queued by Kannel, the second run.
            with fake_smsc(gateway, f"{SENDER} 5555 text hello from a handset", "routed.out"):
                await eventually(lambda: len(app.hits) == 1, within=10)
                await asyncio.sleep(0.5)
            with fake_smsc(gateway, f"{SENDER} 7777 text nobody here", "unrouted.out"):
                await eventually(lambda: bool(replies(folder, "unrouted.out")), within=10)
            took = time.monotonic() - started
        outputs = gateway.outputs()
    assert len(outputs) >= 4  # both boxes' logs and console output
    assert not [text for text in outputs if GATEWAY_TOKEN in text]  # the token is not logged
    hit = app.hits[0]
    assert hit.path == "/sms"
    assert hit.params["From"] == SENDER
    assert hit.params["To"] == "5555"
    assert hit.params["Body"] == "hello from a handset"
    assert re.fullmatch("SM[0-9a-f]{32}", hit.params["SmsSid"])  # from Kannel's message id
    assert len(app.hits) == 1  # the unknown number reached no SmsUrl
    assert replies(folder, "routed.out") == []  # routed: nothing sent back
    assert replies(folder, "unrouted.out") == [f"7777 {SENDER} text Message not delivered."]
    assert took < 10
