"""In JSON mode every line a process writes is one JSON object with a level: the
standard library's loggers (asyncpg, aiohttp, warnings) and uncaught exceptions in the
main thread or another one included, with tracebacks inside the object."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import logging, threading, warnings
    from router import config, logging as router_logging
    router_logging.configure(config.replace(config.Settings(), log_format="json"))
    try:
        raise ConnectionRefusedError("database down")
    except OSError:
        logging.getLogger("asyncpg.pool").exception("connection failed")
    logging.getLogger("aiohttp.server").warning("plain %s", "message")
    warnings.warn("deprecated thing", stacklevel=1)
    thread = threading.Thread(target=lambda: 1 / 0, name="helper")
    thread.start()
    thread.join()
    raise ValueError("the end")
    """
)


def test_every_line_is_json_with_a_level_and_tracebacks_inside() -> None:
    """Five sources of lines; each line parses, has a level, and the three tracebacks
    are each one JSON string field, not text of their own."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    entries = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) and entry.get("level") for entry in entries), lines
    by_event = {entry["event"]: entry for entry in entries}
    pool = by_event["connection failed"]
    assert (pool["level"], pool["logger"]) == ("error", "asyncpg.pool")
    assert "ConnectionRefusedError: database down" in pool["exception"]
    assert by_event["plain message"]["level"] == "warning"
    assert any("deprecated thing" in entry["event"] for entry in entries)
    thread = by_event["uncaught_exception_in_thread"]
    assert thread["thread"] == "helper"
    assert "ZeroDivisionError" in thread["exception"]
    uncaught = by_event["uncaught_exception"]
    assert uncaught["level"] == "critical"
    assert "ValueError: the end" in uncaught["exception"]
    assert len(entries) == 5
