"""schemathesis fuzzes a real server from its own OpenAPI document: no 5xx, and every
answer conforms to the document (status, media type, headers, JSON body)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import GATEWAY_TOKEN, Tenant

SCHEMATHESIS = str(Path(sys.executable).with_name("st"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
# Time budgets of the two runs: the whole test stays under a minute.
ADMIN_SECONDS = 20
GATEWAY_SECONDS = 10


async def _fuzz(url: str, tmp_path: Path, seconds: int, *options: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        url,
        f"--checks={CHECKS}",
        "--phases=examples,coverage,fuzzing",
        f"--max-time={seconds}",
        "--max-examples=30",
        "--seed=14",
        "--workers=2",
        "--request-timeout=10",
        "--no-color",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds * 4 + 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    return process.returncode or 0, output.decode(errors="replace")


@pytest.mark.long
async def test_schemathesis_finds_no_server_error_and_no_violation(
    client: TestClient, admin: Tenant, add_inventory: Callable[..., Awaitable[None]], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{client.server.port}/openapi.json"
    await add_inventory("+15105550100", "+15105550101", area_code="510")
    # The super admin's own sid in every AccountSid: the fuzzing reaches real numbers,
    # applications and sub-accounts instead of stopping at 404 for random sids.
    (tmp_path / "schemathesis.toml").write_text(f'[parameters]\naccount_sid = "{admin.sid}"\n')
    # As the super admin on every route, then as the gateway on the gateway's routes.
    status, output = await _fuzz(url, tmp_path, ADMIN_SECONDS, f"--auth={admin.sid}:{admin.token}")
    assert status == 0, output
    status, output = await _fuzz(
        url,
        tmp_path,
        GATEWAY_SECONDS,
        f"--header=Authorization: Bearer {GATEWAY_TOKEN}",
        "--include-path-regex=^/v1/(events|calls|callbacks|routes)/",
    )
    assert status == 0, output
