"""A newcomer's first `router serve`: secrets on the terminal, the new database
announced, a busy port refused in one line before anything starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

from tests.cli.router_process import (
    COMMAND_TIMEOUT,
    ROUTER,
    environment,
    free_port,
    stop,
    wait_ready,
    workdir,
)

__all__ = ["workdir"]


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the other side is closed
            return
        if not chunk:
            return
        into.append(chunk)


def _start_on_terminal(terminal: int, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ROUTER, "serve", *argv],
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        text=True,
    )


async def test_on_a_terminal_secrets_are_printed_and_no_file_is_written(workdir: Path) -> None:
    port = free_port()
    data_dir = workdir / "data"
    master, slave = os.openpty()
    output: list[bytes] = []
    process = _start_on_terminal(slave, "--port", str(port), "--data-dir", str(data_dir))
    os.close(slave)
    reader = threading.Thread(target=_drain, args=(master, output), daemon=True)
    reader.start()
    try:
        await wait_ready(port, process)
    finally:
        stop(process)
        reader.join(timeout=10)
        os.close(master)
    text = b"".join(output).decode()
    assert "Super admin AccountSid: AC" in text
    assert "Super admin AuthToken:  " in text
    assert "Gateway token:          " in text
    assert not (data_dir / "initial-secrets.txt").exists()
    # One line says a new database was made, and where.
    [created] = [line for line in text.splitlines() if "new_embedded_database" in line]
    assert json.loads(created)["path"] == str(data_dir / "pgdata")


def test_a_busy_port_is_refused_in_one_line_before_anything_starts(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [ROUTER, "serve", "--port", str(port), "--data-dir", str(workdir / "data")],
            env=environment(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr == (
        f"router: Port {port} on 127.0.0.1 is already in use (another router serve?). "
        "Stop that process, or choose another port with --port or ROUTER_PORT.\n"
    )
    # Nothing was started against a database: not even the data directory exists.
    assert not (workdir / "data").exists()
    assert "embedded_postgres" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
