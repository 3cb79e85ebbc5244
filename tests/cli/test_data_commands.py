"""`router inventory import`, `router backup` and `router restore` against the real
embedded cluster (and backup of an external server), run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database
from tests.cli.router_process import run, workdir

__all__ = ["workdir"]


async def _inventory(data_dir: Path) -> list[str]:
    with EmbeddedPostgres(data_dir) as cluster:
        conn = await asyncpg.connect(cluster.dsn)
        try:
            rows = await conn.fetch("SELECT phone_number FROM inventory ORDER BY phone_number")
        finally:
            await conn.close()
    return [row["phone_number"] for row in rows]


@pytest.mark.long
async def test_inventory_import_then_backup_and_restore(workdir: Path) -> None:
    """One embedded cluster through a user's steps (each command starts and stops it)."""
    data = workdir / "data"
    first, second = workdir / "first.csv", workdir / "second.csv"
    first.write_text(
        "number,type,area code,country\n"
        "+15105550001,local,510,US\n+15105550002,local,,US\n+15105550004,local,999,US\n"
    )
    second.write_text("+15105550009,local\n")
    result = run("inventory", "import", str(first), "--data-dir", str(data))
    assert result.returncode == 1  # a row was rejected
    assert "inserted: 2, already present: 0, rejected: 1" in result.stdout
    assert (
        "line 4: Invalid area code: 999 is not the area code of +15105550004; its area code "
        "is 510. [+15105550004,local,999,US]"
    ) in result.stdout
    # The bar reaches 100 % (read as text, its carriage returns are line ends).
    assert result.stderr.splitlines()[-1] == "[" + "#" * 30 + "] 100%"

    dump = workdir / "backups" / "router.dump"
    dump.parent.mkdir()
    result = run("backup", str(dump), "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert f"backup written to {dump}" in result.stdout
    assert dump.stat().st_mode & 0o777 == 0o600
    assert run("inventory", "import", str(second), "--data-dir", str(data)).returncode == 0

    garbage = workdir / "garbage.dump"
    garbage.write_text("not a dump\n")
    result = run("restore", str(garbage), "--data-dir", str(data))
    assert result.returncode == 2
    assert result.stderr.startswith(f"router: {garbage} is not a dump router can restore:")
    missing = run("restore", str(workdir / "absent.dump"), "--data-dir", str(data))
    assert missing.stderr.strip() == f"router: No such dump file: {workdir / 'absent.dump'}"
    assert await _inventory(data) == ["+15105550001", "+15105550002", "+15105550009"]

    result = run("restore", str(dump), "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert await _inventory(data) == ["+15105550001", "+15105550002"]


def test_backup_without_a_database_creates_nothing(workdir: Path) -> None:
    result = run("backup", str(workdir / "x.dump"), "--data-dir", str(workdir / "none"))
    assert result.returncode == 2
    assert "There is no database in" in result.stderr
    assert not (workdir / "none").exists()
    assert not (workdir / "x.dump").exists()


async def test_backup_of_an_external_server(workdir: Path, db: Database, database_url: str) -> None:
    """With ROUTER_DATABASE_URL the same command dumps that server (here the suite's)."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO inventory (phone_number, number_type, area_code, country) "
            "VALUES ('+15105550077', 'local', '510', 'US')"
        )
    dump = workdir / "external.dump"
    result = run("backup", str(dump), ROUTER_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert database_url.split("@")[0] not in result.stdout + result.stderr  # no password shown
    result = run("restore", str(dump), "--data-dir", str(workdir / "copy"))
    assert result.returncode == 0, result.stderr
    assert await _inventory(workdir / "copy") == ["+15105550077"]
