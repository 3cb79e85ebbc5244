"""Kannel's bearerbox and smsbox from examples/kannel/kannel.conf, and its fake SMSC
client (fakesmsc, from kannel-extras), on free loopback ports under a temporary folder;
every process is stopped by its PID when the `with` block ends."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks.gateways import REPO, process_in

KANNEL_CONF = REPO / "examples" / "kannel" / "kannel.conf"
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
_SETTING = re.compile(r"^(?P<key>[a-z-]+)\s*=")


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configured(source: str, overrides: Mapping[tuple[str, str], str]) -> str:
    """`source` with the given (group, key) settings replaced; each must be present."""
    lines, group, seen = [], "", set()
    for line in source.splitlines():
        match = _SETTING.match(line)
        if match and match["key"] == "group":
            group = line.split("=", 1)[1].strip()
        elif match and (group, match["key"]) in overrides:
            seen.add((group, match["key"]))
            line = f"{match['key']} = {overrides[group, match['key']]}"
        lines.append(line)
    missing = set(overrides) - seen
    assert not missing, f"not in {KANNEL_CONF.name}: {sorted(missing)}"
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Kannel:
    smsc_port: int
    folder: Path

    def outputs(self) -> list[str]:
        """Everything Kannel and fakesmsc wrote: log files and console output."""
        paths = [*self.folder.glob("*.log"), *self.folder.glob("*.out")]
        return [path.read_text(errors="replace") for path in paths]

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


@contextlib.contextmanager
def kannel(post_url: str, folder: Path, within: float = 20.0) -> Iterator[Kannel]:
    """bearerbox and smsbox running the shipped configuration, posting to `post_url`."""
    smsc_port, smsbox_port = free_tcp_port(), free_tcp_port()
    conf = folder / "kannel.conf"
    conf.write_text(
        configured(
            KANNEL_CONF.read_text(),
            {
                ("core", "admin-port"): str(free_tcp_port()),
                ("core", "admin-password"): "test-admin-password",
                ("core", "smsbox-port"): str(smsbox_port),
                ("core", "log-file"): f'"{folder / "bearerbox.log"}"',
                ("smsc", "port"): str(smsc_port),
                ("smsbox", "bearerbox-port"): str(smsbox_port),
                ("smsbox", "sendsms-port"): str(free_tcp_port()),
                ("smsbox", "log-file"): f'"{folder / "smsbox.log"}"',
                ("sms-service", "post-url"): f'"{post_url}"',
            },
        )
    )
    running = Kannel(smsc_port, folder)
    with contextlib.ExitStack() as boxes:
        started: list[subprocess.Popen[bytes]] = []
        for box, ready in (
            ("bearerbox", "entering mainloop"),  # its ports (the fake SMSC's too) are open
            ("smsbox", "Connected to bearerbox"),
        ):
            binary = shutil.which(box) or f"/usr/sbin/{box}"
            started.append(
                # -v 1: no debug output on the console (it would print the post-url's token)
                boxes.enter_context(
                    process_in(folder, [binary, "-v", "1", str(conf)], f"{box}.out")
                )
            )
            _wait_logged(running, folder / f"{box}.log", ready, started, within)
        yield running


def _wait_logged(
    running: Kannel,
    log: Path,
    line: str,
    started: list[subprocess.Popen[bytes]],
    within: float,
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for process in started:
            assert process.poll() is None, running.logs()
        if log.exists() and line in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"Kannel did not log {line!r} within {within} s\n{running.logs()}")


def fake_smsc(
    running: Kannel, message: str, output: str = "fakesmsc.out"
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """fakesmsc sending "sender receiver text words" once; its output (with the replies
    Kannel sends back) goes to `output` in the folder."""
    command = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(running.smsc_port), "-m", "1", message]
    return process_in(running.folder, command, output)
