"""Backups with PostgreSQL's own tools: pg_dump to a custom-format file, pg_restore
from one. The embedded cluster listens on a random port with no unix socket, so
router runs these against whichever database it is configured with, the password
handed over in the environment (never on a command line others can read)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit, urlunsplit

from router.errors import ConfigError, PostgresNotFound, Unavailable
from router.store.embedded import find_server_binaries

# A dump of a busy database takes a while; a stuck one should still end.
TOOL_TIMEOUT_SECONDS = 3600


def dump(dsn: str, target: Path) -> None:
    """Write the whole database to ``target`` (pg_dump custom format, no owners)."""
    if target.exists() and not target.is_file():
        raise ConfigError(f"{target} exists and is not a file.")
    partial = target.with_name(target.name + ".partial")
    argv = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run_tool([*argv, f"--file={partial}"], dsn, what="pg_dump")
    partial.chmod(0o600)  # a dump holds token hashes and signing keys
    partial.replace(target)  # a failed dump never replaces a good one


def restore(dsn: str, source: Path) -> None:
    """Replace everything in the database with the dump in ``source``, in one
    transaction: a failed restore leaves the database as it was.

    pg_restore turns the dump into SQL, which psql runs between a BEGIN that drops the
    public schema (pg_restore --clean would leave tables the dump lacks) and a COMMIT
    sent only once pg_restore has succeeded: cut short, psql rolls everything back."""
    if not source.is_file():
        raise ConfigError(f"No such dump file: {source}")
    url, env = _connection(dsn)
    to_sql = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)]
    apply = [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={url}"]
    begin = b"BEGIN;\nDROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"
    with tempfile.TemporaryFile() as read_errors, tempfile.TemporaryFile() as apply_errors:
        try:
            with (
                subprocess.Popen(
                    apply,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=apply_errors,
                    env=env,
                ) as psql,
                subprocess.Popen(to_sql, stdout=subprocess.PIPE, stderr=read_errors) as reader,
            ):
                assert psql.stdin is not None
                assert reader.stdout is not None
                with contextlib.suppress(BrokenPipeError):  # psql stopped at an error
                    psql.stdin.write(begin)
                    shutil.copyfileobj(reader.stdout, psql.stdin)
                    if reader.wait(timeout=TOOL_TIMEOUT_SECONDS) == 0:
                        psql.stdin.write(b"\nCOMMIT;\n")
                psql.stdin.close()
                psql.wait(timeout=TOOL_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise Unavailable(f"The restore could not run: {error}") from error
        if reader.returncode != 0:
            said = _read(read_errors)
            raise ConfigError(f"{source} is not a dump router can restore: {said}")
        if psql.returncode != 0:
            said = _read(apply_errors)
            raise Unavailable(f"The restore failed; the database is unchanged: {said}")


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode(errors="replace").strip()


def _tool(name: str) -> str:
    """The tool beside the server programs (same version as the embedded cluster),
    else the one on PATH."""
    try:
        beside = find_server_binaries() / name
        if beside.is_file():
            return str(beside)
    except PostgresNotFound:
        pass
    found = shutil.which(name)
    if found is None:
        raise PostgresNotFound(
            f"{name} was not found. Install the PostgreSQL client programs "
            "(for example `apt-get install -y postgresql-client`)."
        )
    return found


def _run_tool(argv: list[str], dsn: str, *, what: str) -> None:
    url, env = _connection(dsn)
    try:
        result = subprocess.run(
            [*argv, f"--dbname={url}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{what} could not run: {error}") from error
    if result.returncode != 0:
        raise Unavailable(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")


def _connection(dsn: str) -> tuple[str, dict[str, str]]:
    """The URL to give a tool, and its environment holding the password."""
    url, password = _without_password(dsn)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if password is not None:
        env["PGPASSWORD"] = password
    return url, env


def _without_password(dsn: str) -> tuple[str, str | None]:
    """The URL without its password, and the password."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, None
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)
