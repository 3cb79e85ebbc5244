"""A flood of malformed HTTP requests leaves a log an operator can trust (issue 12):
`router serve` in JSON mode writes only JSON lines with a level, each malformed request
is one info line with the peer and the reason (never a traceback), and a metric counts
them across workers."""

from __future__ import annotations

import asyncio
import json
import re
import socket

import aiohttp

from router.store.postgres import Database
from tests.cli.router_process import wait_ready
from tests.cluster.test_workers import _router

# Raw bytes a client can put on the wire; each is refused by aiohttp's parser.
MALFORMED = {
    "bad request line": b"GARBAGE\r\n\r\n",
    "bad method": b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"GET / HTTP/9.z\r\nHost: x\r\n\r\n",
    "invalid header character": b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad\x01: y\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "request line too long": b"GET /" + b"a" * (200 * 1024) + b" HTTP/1.1\r\n\r\n",
    "header too long": b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * (40 * 1024) + b"\r\n\r\n",
    "bad chunk size": (
        b"POST /v1/events/calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nhello\r\n0\r\n\r\n"
    ),
    "tls hello": bytes.fromhex("160301007a0100007603035f") + b"\x00" * 40,
}
ROUNDS = 6


def _send(port: int, payload: bytes) -> bytes:
    """Write the bytes, half-close, and read whatever the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close on the first bad bytes, before it read them all
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer


def _counted(metrics: str) -> float:
    found = re.findall(r"^router_malformed_http_requests_total\{[^}]*\} (\S+)$", metrics, re.M)
    return sum(float(value) for value in found)


async def test_malformed_requests_are_one_json_info_line_each_and_counted(
    db: Database, database_url: str
) -> None:
    """Every kind of malformed request, several times over two workers: the server
    answers 400 where it can and keeps serving; each request is one info line with the
    peer and a reason; the counter sums them; every line written parses as JSON with a
    level and none carries a traceback."""
    with _router(database_url) as router:
        await wait_ready(router.port, router.process)
        sent = 0
        for _ in range(ROUNDS):
            for name, payload in MALFORMED.items():
                answer = await asyncio.to_thread(_send, router.port, payload)
                assert answer == b"" or re.match(rb"HTTP/1\.[01] 400 ", answer), (name, answer[:80])
                sent += 1
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{router.port}/healthz") as response:
                assert response.status == 200
            async with session.get(f"http://127.0.0.1:{router.port}/metrics") as response:
                counted = _counted(await response.text())
        output = router.stop()

    entries = []
    for line in output.splitlines():
        entry = json.loads(line)  # every line is one JSON object
        assert isinstance(entry, dict), line
        assert entry.get("level") in {"debug", "info", "warning", "error", "critical"}, line
        entries.append(entry)
    assert "Traceback" not in output
    malformed = [entry for entry in entries if entry["event"] == "malformed_http_request"]
    assert len(malformed) == sent
    assert counted == sent
    for entry in malformed:
        assert entry["level"] == "info"
        assert entry["peer"] == "127.0.0.1"
        assert entry["reason"]
        assert "\n" not in entry["reason"]
    kinds = {entry["kind"] for entry in malformed}
    assert {"BadStatusLine", "BadHttpMethod", "BadHttpMessage", "LineTooLong"} <= kinds
    assert not [entry for entry in entries if entry["level"] in {"error", "critical"}]
