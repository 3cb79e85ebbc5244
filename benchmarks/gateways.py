"""Kamailio and SIPp on loopback, started from the shipped examples/kamailio files: used by
the gateway tests (tests/gateways) and the SIP benchmark (benchmarks/sip.py).

Every process gets free ports on 127.0.0.1, its own temporary directory, a time limit,
and is stopped by its PID (its own process group) when the `with` block ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KAMAILIO_DIR = REPO / "examples" / "kamailio"
KAMAILIO_CFG = KAMAILIO_DIR / "kamailio.cfg"
CALLER = KAMAILIO_DIR / "sipp" / "caller.xml"
ANSWERER = KAMAILIO_DIR / "sipp" / "answerer.xml"
LOOPBACK = "127.0.0.1"


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process's group (it was started in a session of its own), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


@dataclass(frozen=True)
class Kamailio:
    """A running Kamailio: where it listens and where its log goes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def log_tail(self, size: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-size:]


def _define(name: str, value: str | int) -> list[str]:
    """A -A override of one of the script's #!trydef settings (strings keep quotes)."""
    text = str(value) if isinstance(value, int) else '"' + value.replace('"', "") + '"'
    return ["-A", f"{name}={text}"]


@contextlib.contextmanager
def kamailio(
    *,
    router_url: str,
    gateway_token: str,
    app_server_uri: str,
    organization_sid: str = "",
    fetch: bool = True,
    timeout_seconds: int = 2,
    mode: str = "relay",
    children: int = 2,
    async_workers: int = 2,
    shared_memory_mb: int = 32,
    without_router: bool = False,
    ready_within: float = 15.0,
) -> Iterator[Kamailio]:
    """examples/kamailio/kamailio.cfg in the foreground, UDP on a free loopback port
    (`without_router`: the benchmark baseline, relaying without asking router)."""
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    folder = Path(tempfile.mkdtemp(prefix="router-kamailio-", dir="/tmp"))
    port = free_udp_port()
    settings = {
        "ROUTER_URL": router_url,
        "ROUTER_GATEWAY_TOKEN": gateway_token,
        "ROUTER_ORGANIZATION_SID": organization_sid,
        "ROUTER_FETCH": "true" if fetch else "false",
        "ROUTER_TIMEOUT": timeout_seconds,
        "APP_SERVER_URI": app_server_uri,
        "ROUTER_MODE": mode,
        "SIP_CHILDREN": children,
        "ASYNC_WORKERS": async_workers,
    }
    command = [
        binary,
        "-f", str(KAMAILIO_CFG),
        "-DD", "-E",  # foreground, children still forked; log to stderr
        "-m", str(shared_memory_mb), "-M", "8",  # shared, per-process memory (MB): starts fast
        "-Y", str(folder), "-P", str(folder / "kamailio.pid"), "-w", str(folder),
        "-A", f"KAMAILIO_LISTEN=udp:{LOOPBACK}:{port}",
    ]  # fmt: skip
    for name, value in settings.items():
        command += _define(name, value)
    if without_router:
        command += ["-A", "WITHOUT_ROUTER"]
    try:
        with process_in(folder, command, "kamailio.log") as process:
            running = Kamailio(process, port, folder / "kamailio.log")
            _wait_answering(running, ready_within)
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_answering(running: Kamailio, within: float) -> None:
    """Until Kamailio answers a SIP OPTIONS on its port (its config answers it with 405)."""
    deadline = time.monotonic() + within
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(0.2)
        local = sock.getsockname()[1]
        probe = (
            f"OPTIONS sip:probe@{running.address} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{local};branch=z9hG4bK-probe{time.monotonic_ns()}\r\n"
            f"From: <sip:probe@{LOOPBACK}>;tag=probe\r\nTo: <sip:probe@{running.address}>\r\n"
            f"Call-ID: probe-{time.monotonic_ns()}@{LOOPBACK}\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                raise RuntimeError(f"kamailio exited at start:\n{running.log_tail()}")
            sock.sendto(probe, (LOOPBACK, running.port))
            with contextlib.suppress(TimeoutError):
                if sock.recv(4096).startswith(b"SIP/2.0 "):
                    return
    raise RuntimeError(f"kamailio did not answer within {within} s:\n{running.log_tail()}")


def sipp_command(
    scenario: Path,
    *,
    port: int,
    extra: Sequence[str] = (),
    remote: str | None = None,
    service: str | None = None,
) -> list[str]:
    """A SIPp command line bound to 127.0.0.1 on `port` (and a free media port)."""
    binary = shutil.which("sipp") or "/usr/bin/sipp"
    command = [binary, "-sf", str(scenario), "-i", LOOPBACK, "-p", str(port)]
    command += ["-mp", str(free_udp_port()), "-nostdin", "-nd"]
    if service is not None:
        command += ["-s", service]
    command += list(extra)
    if remote is not None:
        command.append(remote)
    return command


@contextlib.contextmanager
def process_in(
    folder: Path, command: Sequence[str], output: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` run in `folder`, in a session of its own, writing to `folder/output`;
    stopped by its PID when the block ends."""
    with (folder / output).open("wb") as sink:
        process = subprocess.Popen(
            list(command),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


def sipp(
    command: Sequence[str], folder: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """SIPp running `command` in `folder` (its logs land there), stopped at the end."""
    return process_in(folder, command, f"sipp-{time.monotonic_ns()}.out")
