"""The embedded PostgreSQL cluster, against the real server binaries of this machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from router.errors import ConfigError, PostgresNotFound
from router.store.embedded import (
    EmbeddedPostgres,
    default_dsn_or_embedded,
    find_server_binaries,
)


@contextlib.contextmanager
def scratch_data_dir() -> Iterator[Path]:
    """A data dir path (not yet made) under /tmp, reachable by the postgres user when root."""
    path = Path(tempfile.mkdtemp(prefix="router-embedded-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path / "data"
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data dir for tests that create, stop or break their own cluster."""
    with scratch_data_dir() as path:
        yield path


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    """One started cluster shared by the tests that only look at it (initdb takes ~1.5 s)."""
    with scratch_data_dir() as path, EmbeddedPostgres(path) as embedded:
        yield embedded


async def fetch_value(dsn: str, query: str) -> object:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def lock_file_lines(embedded: EmbeddedPostgres) -> list[str]:
    return (embedded.pgdata / "postmaster.pid").read_text().splitlines()


def make_fake_install(root: Path, version: str) -> None:
    bindir = root / version / "bin"
    bindir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl", "postgres"):
        (bindir / name).write_text("#!/bin/sh\n")
        (bindir / name).chmod(0o755)


def test_find_server_binaries_finds_a_directory_with_initdb() -> None:
    """The finder returns a directory holding executable initdb, pg_ctl and postgres."""
    bindir = find_server_binaries()

    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bindir / name, os.X_OK)


def test_find_server_binaries_without_postgresql_says_how_to_fix(tmp_path: Path) -> None:
    """With nothing to find, the error says to install PostgreSQL or set ROUTER_DATABASE_URL."""
    with pytest.raises(PostgresNotFound) as raised:
        find_server_binaries(
            path_env=str(tmp_path), pg_config=str(tmp_path / "pg_config"), glob_root=tmp_path
        )

    assert "apt-get install -y postgresql" in raised.value.message
    assert "ROUTER_DATABASE_URL" in raised.value.message


def test_find_server_binaries_prefers_the_highest_major_version(tmp_path: Path) -> None:
    """Under the versioned root, 15 wins over 13 and 9.6 (numeric, not text, order)."""
    for version in ("9.6", "13", "15"):
        make_fake_install(tmp_path, version)

    found = find_server_binaries(path_env="", pg_config="", glob_root=tmp_path)

    assert found == tmp_path / "15" / "bin"


def test_find_server_binaries_looks_on_path_first(tmp_path: Path) -> None:
    """A directory on the search path with all three programs wins over the versioned root."""
    make_fake_install(tmp_path / "path", "local")
    make_fake_install(tmp_path / "root", "16")
    on_path = tmp_path / "path" / "local" / "bin"

    found = find_server_binaries(path_env=str(on_path), pg_config="", glob_root=tmp_path / "root")

    assert found == on_path


async def test_started_cluster_accepts_an_asyncpg_connection(cluster: EmbeddedPostgres) -> None:
    """The DSN from start() connects as role router to database router."""
    who = await fetch_value(cluster.dsn, "SELECT current_user || '@' || current_database()")

    assert who == "router@router"
    assert cluster.dsn.startswith("postgresql://router:")
    assert cluster.is_running()


def test_server_listens_on_loopback_only_without_unix_socket(cluster: EmbeddedPostgres) -> None:
    """The lock file records 127.0.0.1 as the only address and no socket directory."""
    lines = lock_file_lines(cluster)

    assert lines[4] == ""
    assert lines[5] == "127.0.0.1"
    assert f"@127.0.0.1:{lines[3]}/" in cluster.dsn


def test_password_file_is_private(cluster: EmbeddedPostgres) -> None:
    """The generated password is kept in data_dir/pg_password, readable by its owner only."""
    mode = stat.S_IMODE(cluster.password_file.stat().st_mode)

    assert mode == 0o600
    assert cluster.password_file.read_text().strip() in cluster.dsn


async def test_data_survives_stop_and_start(data_dir: Path) -> None:
    """A row written before stop() is read back after the next start(), same password."""
    embedded = EmbeddedPostgres(data_dir)
    first_dsn = embedded.start()
    connection = await asyncpg.connect(first_dsn)
    await connection.execute("CREATE TABLE kept (word text); INSERT INTO kept VALUES ('hello')")
    await connection.close()
    embedded.stop()

    second_dsn = embedded.start()
    try:
        assert await fetch_value(second_dsn, "SELECT word FROM kept") == "hello"
        assert second_dsn.split("@")[0] == first_dsn.split("@")[0]
    finally:
        embedded.stop()


def test_stop_is_idempotent(data_dir: Path) -> None:
    """stop() before start, after start and again afterwards is harmless; the server ends."""
    embedded = EmbeddedPostgres(data_dir)
    embedded.stop()
    embedded.start()

    embedded.stop()
    embedded.stop()

    assert not embedded.is_running()
    assert not (embedded.pgdata / "postmaster.pid").exists()


def test_requested_port_is_used(data_dir: Path) -> None:
    """With port= given, the server listens there and the DSN names it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with EmbeddedPostgres(data_dir, port=port) as embedded:
        assert lock_file_lines(embedded)[3] == str(port)
        assert embedded.dsn.endswith(f"@127.0.0.1:{port}/router")


async def test_second_instance_reuses_running_server_and_leaves_it_up(
    cluster: EmbeddedPostgres,
) -> None:
    """A second object on the same data dir returns the same DSN; its stop() is a no-op."""
    other = EmbeddedPostgres(cluster.data_dir)

    assert other.start() == cluster.dsn
    other.stop()

    assert cluster.is_running()
    assert await fetch_value(cluster.dsn, "SELECT 1") == 1


async def test_server_stays_up_until_its_last_user_stops(data_dir: Path) -> None:
    """The starter's stop() leaves the server to a second user, whose stop() ends it."""
    starter, sharer = EmbeddedPostgres(data_dir), EmbeddedPostgres(data_dir)
    starter.start()
    dsn = sharer.start()

    starter.stop()
    assert await fetch_value(dsn, "SELECT 1") == 1
    sharer.stop()

    assert not sharer.is_running()


def test_concurrent_first_starts_create_one_cluster(data_dir: Path) -> None:
    """Two starts racing on a fresh data dir share one cluster and one DSN."""
    instances = [EmbeddedPostgres(data_dir) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        dsns = list(pool.map(EmbeddedPostgres.start, instances))
    for instance in instances:
        instance.stop()

    assert dsns[0] == dsns[1]
    assert not instances[0].is_running()


def test_lock_file_naming_another_program_does_not_block_start(data_dir: Path) -> None:
    """A postmaster.pid whose pid now belongs to some other live process is cleared."""
    embedded = EmbeddedPostgres(data_dir)
    embedded.start()
    lines = lock_file_lines(embedded)
    embedded.stop()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as impostor:
        lines[0] = str(impostor.pid)
        (embedded.pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
        try:
            embedded.start()
            assert embedded.is_running()
        finally:
            embedded.stop()
            impostor.kill()


async def test_start_after_a_crash_recovers(data_dir: Path) -> None:
    """After the server is killed (postmaster.pid left behind), start() brings it back."""
    embedded = EmbeddedPostgres(data_dir)
    embedded.start()
    pid = int(lock_file_lines(embedded)[0])
    os.kill(pid, signal.SIGKILL)
    wait_until_gone(pid)
    assert (embedded.pgdata / "postmaster.pid").exists()

    try:
        assert await fetch_value(embedded.start(), "SELECT 1") == 1
    finally:
        embedded.stop()


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if " Z " in Path(f"/proc/{pid}/stat").read_text(errors="replace"):
            return  # a zombie nobody reaps yet: dead, though kill(pid, 0) still succeeds
        time.sleep(0.05)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_root_with_unreachable_data_dir_names_the_directory(data_dir: Path) -> None:
    """As root, a data dir inside a 0700 directory fails with ConfigError naming it."""
    closed = data_dir.parent / "closed"
    closed.mkdir(mode=0o700)

    with pytest.raises(ConfigError) as raised:
        EmbeddedPostgres(closed / "data").start()

    assert str(closed) in raised.value.message
    assert "ROUTER_DATA_DIR" in raised.value.message


def test_default_dsn_or_embedded_keeps_a_configured_url(data_dir: Path) -> None:
    """A non-empty database URL is returned unchanged and nothing is started."""
    url = "postgresql://someone@db.example:5432/router"

    assert default_dsn_or_embedded(url, data_dir) == (url, None)
    assert not data_dir.exists()


async def test_default_dsn_or_embedded_starts_a_cluster_without_url(data_dir: Path) -> None:
    """An empty database URL starts an embedded cluster whose DSN works."""
    dsn, embedded = default_dsn_or_embedded("", data_dir)

    assert embedded is not None
    try:
        assert await fetch_value(dsn, "SELECT 1") == 1
    finally:
        embedded.stop()
