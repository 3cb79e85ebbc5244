"""Running the installed `router` command as a user does, in a subprocess."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

# The console script pip installed beside this interpreter (the venv's `router`).
ROUTER = str(Path(sys.executable).with_name("router"))
COMMAND_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A scratch directory the embedded server's user may enter."""
    path = Path(tempfile.mkdtemp(prefix="router-cli-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without router settings of its own, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    return {**env, "ROUTER_LOG_FORMAT": "json", **extra}


def run(*argv: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `router argv...` to completion."""
    return subprocess.run(
        [ROUTER, *argv],
        env=environment(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def start(*argv: str, cwd: Path | None = None, **env: str) -> subprocess.Popen[str]:
    """Start `router serve argv...`; output (stdout and stderr) is piped."""
    return subprocess.Popen(
        [ROUTER, "serve", *argv],
        env=environment(**env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def wait_ready(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read() if process.stdout else "exited")
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("router serve did not become ready within 60 s")


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, wait, return everything it wrote; it must exit 0."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"router serve did not stop on SIGTERM:\n{output}") from None
    assert process.returncode == 0, output
    return output
