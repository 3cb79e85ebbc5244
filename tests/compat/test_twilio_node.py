"""Twilio's Node.js SDK (npm `twilio`, installed by .ci/run into tests/compat/node)
against router's 2010-04-01 mount: create, list over several pages, update, delete. The
script runs in a `node` process bounded in time and stopped by PID."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import Tenant

Client = TestClient[web.Request, web.Application]
AddInventory = Callable[..., Awaitable[None]]
NODE_DIR = Path(__file__).parent / "node"
NUMBERS = ["+15105550100", "+15105550101", "+15105550102"]


async def run_node(*args: str) -> tuple[int, str, str]:
    """Run provision.js with args; at most 60 s, then the process is killed."""
    node = shutil.which("node")
    assert node, "node is needed for the twilio-node tests (.ci/run installs it)"
    assert (NODE_DIR / "node_modules" / "twilio").is_dir(), (
        "twilio-node is missing: run `npm install` in tests/compat/node (.ci/run does)"
    )
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / "provision.js"),
        *args,
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_twilio_node_creates_lists_updates_and_deletes(
    client: Client, tenant: Tenant, add_inventory: AddInventory
) -> None:
    await add_inventory(*NUMBERS)
    base_url = str(client.make_url("")).rstrip("/")

    code, out, err = await run_node(base_url, tenant.sid, tenant.token, *NUMBERS)

    assert code == 0, err
    seen = json.loads(out)
    created = seen["created"]
    assert [n["phoneNumber"] for n in created] == NUMBERS
    assert {n["apiVersion"] for n in created} == {"2010-04-01"}
    sids = [n["sid"] for n in created]
    assert sorted(seen["listed"]) == sorted(sids)  # three numbers, pages of two
    assert seen["updated"] == {
        "friendlyName": "Front desk",
        "voiceUrl": "https://app.example.com/voice",
    }
    assert seen["removed"] is True
    assert sorted(seen["afterDelete"]) == sorted([sids[0], sids[2]])
    assert seen["missing"] == {"status": 404, "code": 20404}
    response = await client.get(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers/{sids[0]}.json",
        headers=tenant.auth,
    )
    assert (await response.json())["friendly_name"] == "Front desk"
