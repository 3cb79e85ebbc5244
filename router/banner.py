"""Generated secrets, shown once: on the terminal, or in an owner-only file.

Under systemd or Docker stdout is the log, and secrets must never reach a log.
So the banner is printed only when stdout is a terminal; otherwise it goes to a
file readable only by its owner in the data directory, and the log says where.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import structlog

from router.bootstrap import Bootstrap

log = structlog.get_logger(__name__)

SECRETS_FILE_NAME = "initial-secrets.txt"


def secret_lines(result: Bootstrap) -> list[str]:
    """The banner's lines; empty when nothing was generated on this start."""
    lines = []
    if result.admin_auth_token:
        lines.append(f"Super admin AccountSid: {result.admin_account_sid}")
        lines.append(f"Super admin AuthToken:  {result.admin_auth_token}  (shown once; store it)")
    if result.gateway_token:
        lines.append(f"Gateway token:          {result.gateway_token}  (shown once; store it)")
    return lines


def announce(result: Bootstrap, data_dir: Path, stream: TextIO | None = None) -> Path | None:
    """Show generated secrets; return the file they went to, if they went to one."""
    lines = secret_lines(result)
    if not lines:
        return None
    out = sys.stdout if stream is None else stream
    if out.isatty():
        out.write("\n".join(lines) + "\n")
        out.flush()
        return None
    path = data_dir / SECRETS_FILE_NAME
    try:
        write_owner_only(path, "\n".join(lines) + "\n")
    except OSError as error:
        # Never fall back to the log; new secrets can be had at any time.
        log.error(
            "generated_secrets_not_written",
            path=str(path),
            error=error.strerror,
            hint="run `router admin reset-token` to get new ones",
        )
        return None
    log.warning(
        "generated_secrets_written",
        path=str(path),
        hint="stdout is not a terminal: read the file, store the secrets, then delete it",
    )
    return path


def write_owner_only(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, whatever the file was before."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # an existing file keeps its mode otherwise
        file.write(text)
