"""Generated secrets: printed on a terminal, else an owner-only file, never the log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from router.banner import SECRETS_FILE_NAME, announce
from router.bootstrap import Bootstrap

GENERATED = Bootstrap("AC" + "1" * 32, "admin-token-123", "gateway-token-456")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_secrets_are_printed_and_no_file_is_written(tmp_path: Path) -> None:
    terminal = Terminal()
    assert announce(GENERATED, tmp_path, terminal) is None
    assert "Super admin AuthToken:  admin-token-123" in terminal.getvalue()
    assert "Gateway token:          gateway-token-456" in terminal.getvalue()
    assert not (tmp_path / SECRETS_FILE_NAME).exists()


def test_without_a_terminal_they_go_to_an_owner_only_file_and_the_log_says_where(
    tmp_path: Path,
) -> None:
    pipe = io.StringIO()
    stale = tmp_path / "data" / SECRETS_FILE_NAME
    stale.parent.mkdir()
    stale.write_text("old, longer contents than the new ones will be " * 10)
    stale.chmod(0o644)
    with capture_logs() as logs:
        path = announce(GENERATED, tmp_path / "data", pipe)
    assert path == stale
    assert pipe.getvalue() == ""
    assert stale.stat().st_mode & 0o777 == 0o600
    text = stale.read_text()
    assert text.startswith("Super admin AccountSid: AC")
    assert "old, longer" not in text
    assert [entry["event"] for entry in logs] == ["generated_secrets_written"]
    assert logs[0]["path"] == str(stale)
    assert "admin-token-123" not in repr(logs)


def test_an_unwritable_place_is_logged_without_the_secrets(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with capture_logs() as logs:
        assert announce(GENERATED, blocker / "data", io.StringIO()) is None
    assert [entry["event"] for entry in logs] == ["generated_secrets_not_written"]
    assert "reset-token" in logs[0]["hint"]
    assert "gateway-token-456" not in repr(logs)


@pytest.mark.parametrize("stream", [io.StringIO(), Terminal()])
def test_nothing_generated_shows_nothing(tmp_path: Path, stream: io.StringIO) -> None:
    assert announce(Bootstrap("AC" + "1" * 32, None, None), tmp_path, stream) is None
    assert stream.getvalue() == ""
    assert list(tmp_path.iterdir()) == []
