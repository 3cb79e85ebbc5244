"""Lost or changed credentials: `router admin reset-token` on a running and a stopped
service, and ROUTER_ADMIN_AUTH_TOKEN changed after the first start."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import aiohttp
import pytest

from tests.cli.router_process import free_port, run, start, stop, wait_ready, workdir

__all__ = ["workdir"]

SID = "AC" + "c" * 32
FIRST_TOKEN = "1" * 32
SECOND_TOKEN = "2" * 32


async def _account_status(port: int, sid: str, token: str) -> int:
    auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
    url = f"http://127.0.0.1:{port}/2012-04-24/Accounts/{sid}.json"
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Basic " + auth}) as session,
        session.get(url) as response,
    ):
        return response.status


async def _gateway_status(port: int, token: str) -> int:
    """401 for a wrong gateway token; any other status means it was accepted."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.post(
            f"http://127.0.0.1:{port}/v1/events/calls", data={"From": "+1", "To": "5"}
        ) as response,
    ):
        return response.status


def _printed(output: str) -> dict[str, str]:
    """`Name: value` lines of a banner or of reset-token's output."""
    values = {}
    for line in output.splitlines():
        name, separator, rest = line.partition(":")
        if separator and name in {
            "Super admin AccountSid",
            "Super admin AuthToken",
            "Gateway token",
        }:
            values[name] = rest.split()[0]
    return values


async def test_reset_token_rotates_on_a_running_service(workdir: Path) -> None:
    port = free_port()
    data = str(workdir / "data")
    process = start("--port", str(port), "--data-dir", data)
    try:
        await wait_ready(port, process)
        first = _printed((workdir / "data" / "initial-secrets.txt").read_text())
        sid, old_token = first["Super admin AccountSid"], first["Super admin AuthToken"]
        assert await _account_status(port, sid, old_token) == 200
        assert await _gateway_status(port, first["Gateway token"]) != 401

        result = run("admin", "reset-token", "--data-dir", data)
        assert result.returncode == 0, result.stderr
        new = _printed(result.stdout)
        assert new["Super admin AccountSid"] == sid
        assert new["Super admin AuthToken"] != old_token
        assert not (workdir / "data" / "initial-secrets.txt").exists()  # it held revoked ones

        # Taken at once by the running service, the old values refused.
        assert await _account_status(port, sid, new["Super admin AuthToken"]) == 200
        assert await _account_status(port, sid, old_token) == 401
        for _ in range(50):  # the gateway token arrives by notification, within moments
            if await _gateway_status(port, new["Gateway token"]) != 401:
                break
            await asyncio.sleep(0.1)
        assert await _gateway_status(port, new["Gateway token"]) != 401
        assert await _gateway_status(port, first["Gateway token"]) == 401

        only = run("admin", "reset-token", "--only", "gateway", "--data-dir", data)
        assert only.returncode == 0, only.stderr
        assert set(_printed(only.stdout)) == {"Gateway token"}
        assert await _account_status(port, sid, new["Super admin AuthToken"]) == 200
    finally:
        output = stop(process)
    assert new["Super admin AuthToken"] not in output  # never in the service's log


@pytest.mark.long
async def test_changed_admin_token_setting_takes_effect_and_reset_works_stopped(
    workdir: Path,
) -> None:
    port = free_port()
    data = str(workdir / "data")
    configured = {"ROUTER_ADMIN_ACCOUNT_SID": SID, "ROUTER_ADMIN_AUTH_TOKEN": FIRST_TOKEN}
    process = start("--port", str(port), "--data-dir", data, **configured)
    try:
        await wait_ready(port, process)
        assert await _account_status(port, SID, FIRST_TOKEN) == 200
        # While the setting holds the token, reset-token refuses and changes nothing.
        refused = run("admin", "reset-token", "--only", "admin", "--data-dir", data, **configured)
        assert refused.returncode == 2
        assert "set by ROUTER_ADMIN_AUTH_TOKEN" in refused.stderr
        assert "Super admin AuthToken" not in refused.stdout
        assert await _account_status(port, SID, FIRST_TOKEN) == 200
    finally:
        stop(process)

    changed = {**configured, "ROUTER_ADMIN_AUTH_TOKEN": SECOND_TOKEN}
    process = start("--port", str(port), "--data-dir", data, **changed)
    try:
        await wait_ready(port, process)
        assert await _account_status(port, SID, SECOND_TOKEN) == 200
        assert await _account_status(port, SID, FIRST_TOKEN) == 401
    finally:
        output = stop(process)
    assert "super_admin_token_replaced" in output
    assert SECOND_TOKEN not in output

    other_sid = {**changed, "ROUTER_ADMIN_ACCOUNT_SID": "AC" + "d" * 32}
    result = run("serve", "--port", str(port), "--data-dir", data, **other_sid)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"router: ROUTER_ADMIN_ACCOUNT_SID is AC{'d' * 32}, but the super admin of this "
        f"database is {SID}, and a super admin's AccountSid cannot change. Set it to {SID}, "
        "or unset it."
    )

    reset = run("admin", "reset-token", "--data-dir", data)  # the service is stopped
    assert reset.returncode == 0, reset.stderr
    token = _printed(reset.stdout)["Super admin AuthToken"]
    process = start("--port", str(port), "--data-dir", data)
    try:
        await wait_ready(port, process)
        assert await _account_status(port, SID, token) == 200
        assert await _account_status(port, SID, SECOND_TOKEN) == 401
    finally:
        stop(process)
