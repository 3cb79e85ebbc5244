"""`router serve` as a newcomer runs it: embedded PostgreSQL, bootstrap, clean shutdown."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.cli.router_process import free_port, start, stop, wait_ready, workdir

__all__ = ["workdir"]

ADMIN_SID = "AC" + "a" * 32
ADMIN_TOKEN = "b" * 32
AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{ADMIN_SID}:{ADMIN_TOKEN}".encode()).decode()
}


@pytest.fixture
def data_dir(workdir: Path) -> Path:
    return workdir / "data"


def _start(data_dir: Path, port: int, **extra_env: str) -> subprocess.Popen[str]:
    return start("--data-dir", str(data_dir), "--port", str(port), **extra_env)


async def test_serve_bootstraps_and_keeps_data_across_restarts(data_dir: Path) -> None:
    """A number provisioned before a SIGTERM is still there after the next start."""
    port = free_port()
    env = {"ROUTER_ADMIN_ACCOUNT_SID": ADMIN_SID, "ROUTER_ADMIN_AUTH_TOKEN": ADMIN_TOKEN}
    first = _start(data_dir, port, **env)
    await wait_ready(port, first)
    base = f"http://127.0.0.1:{port}/restcomm/2012-04-24/Accounts/{ADMIN_SID}"
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.post(
            f"{base}/IncomingPhoneNumbers.json", data={"PhoneNumber": "1234", "isSIP": "true"}
        ) as response,
    ):
        assert response.status == 200
        sid = (await response.json())["sid"]
    output = stop(first)
    # One line says a new, empty database was created, and where; later starts do not.
    assert output.count("new_embedded_database") == 1
    assert f'"path": "{data_dir / "pgdata"}"' in output
    # stdout is a pipe here, not a terminal: the generated secret went to a file.
    assert "Gateway token:" not in output
    assert "Gateway token:" in (data_dir / "initial-secrets.txt").read_text()
    assert ADMIN_TOKEN not in output  # a configured secret is never echoed
    assert ADMIN_TOKEN not in (data_dir / "initial-secrets.txt").read_text()
    (data_dir / "initial-secrets.txt").unlink()

    second = _start(data_dir, port, **env)
    await wait_ready(port, second)
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.get(f"{base}/IncomingPhoneNumbers/{sid}.json") as response,
    ):
        assert response.status == 200
        assert (await response.json())["phone_number"] == "1234"
    output = stop(second)
    assert "new_embedded_database" not in output
    assert not (data_dir / "initial-secrets.txt").exists()  # written once, on the first start


async def test_serve_generates_and_prints_admin_credentials_once(data_dir: Path) -> None:
    """Without configured credentials the first start prints a working AccountSid and token."""
    port = free_port()
    process = _start(data_dir, port)
    await wait_ready(port, process)
    output = stop(process)
    secrets_file = data_dir / "initial-secrets.txt"
    assert f'"path": "{secrets_file}"' in output  # the log says where the secrets are
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    lines = dict(
        line.split(":", 1)
        for line in secrets_file.read_text().splitlines()
        if line.startswith("Super admin ")
    )
    assert lines["Super admin AuthToken"].split()[0] not in output
    sid = lines["Super admin AccountSid"].strip()
    token = lines["Super admin AuthToken"].split()[0]
    process = _start(data_dir, port)
    await wait_ready(port, process)
    auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
    url = f"http://127.0.0.1:{port}/2012-04-24/Accounts/{sid}.json"
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Basic " + auth}) as session,
        session.get(url) as response,
    ):
        assert response.status == 200
        assert "auth_token" not in await response.json()
    assert "Super admin AuthToken" not in stop(process)
    assert "Super admin AuthToken" in secrets_file.read_text()  # not rewritten by later starts
