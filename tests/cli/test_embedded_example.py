"""examples/embedded.py, run as a user runs it: router inside an asyncio program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from router.store.embedded import EmbeddedPostgres
from tests.cli.router_process import COMMAND_TIMEOUT, environment, workdir

__all__ = ["workdir"]

ANSWER_KINDS = {"call", "message", "status"}
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embedded.py"


def _run_example(cwd: Path) -> subprocess.CompletedProcess[str]:
    """The example with no database URL: it starts the embedded PostgreSQL of ./.router;
    a run that outlives the bound is killed and its cluster stopped."""
    try:
        return subprocess.run(
            [sys.executable, str(EXAMPLE)],
            env=environment(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    finally:
        EmbeddedPostgres(cwd / ".router").stop()


def _answers(output: str) -> list[str]:
    """The example's own lines, without router's log lines."""
    return [line for line in output.splitlines() if line.split(" ", 1)[0] in ANSWER_KINDS]


def test_example_routes_a_call_and_a_message_without_http(workdir: Path) -> None:
    """The call is routed by the pattern, the message by the exact number, and both
    statuses are accepted; running it again finds what the first run left released."""
    for _ in range(2):
        result = _run_example(workdir)
        assert result.returncode == 0, result.stderr + result.stdout
        lines = _answers(result.stdout)
        assert len(lines) == 4, lines
        call, message, in_progress, completed = lines
        assert call.startswith("call CA"), call
        assert ": routed by pattern " in call, call
        assert call.endswith("-> http://127.0.0.1:9000/pattern.xml"), call
        assert message.startswith("message SM"), message
        assert ": routed by exact +15550100" in message, message
        call_sid = call.split()[1].rstrip(":")
        assert in_progress == f"status {call_sid} in-progress: accepted"
        assert completed == f"status {call_sid} completed: accepted"
