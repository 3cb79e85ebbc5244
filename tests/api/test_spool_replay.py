"""The spool's files and their replay against the real database: a replay repeated
after a crash changes nothing, a torn last line is skipped, a live process's segment is
left alone and a dead one's adopted, and a full spool refuses with a clear error."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.domain import Call, CallStatus
from router.engine.answers import RoutingAnswer
from router.errors import Unavailable
from router.routing import Outcome
from router.spool.entries import Entry, SpooledCall, SpooledMessage, SpooledStatus, decode, encode
from router.spool.journal import Journal
from router.spool.recorder import EventRecorder
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.postgres import Database
from tests.api.test_status_events import DEAD_URL, provision
from tests.conftest import Tenant

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
IN_ORDER = [(0, "ringing"), (1, "in-progress"), (2, "completed")]


def a_call(number: dict[str, Any], sid: str) -> Call:
    return Call(
        sid=sid,
        number_sid=number["sid"],
        account_sid=number["account_sid"],
        organization_sid=number["organization_sid"],
        from_number="+15550100",
        to_number=number["phone_number"],
        status=CallStatus.RINGING,
        caller_name=None,
        forwarded_from=None,
        sip_headers={"X-Trunk": "a"},
        date_created=NOW,
        date_updated=NOW,
    )


def entries_of_one_call(
    number: dict[str, Any], sid: str, at: datetime | None = None
) -> list[Entry]:
    at = at or datetime.now(UTC)
    answer = RoutingAnswer(sid, Outcome.ROUTED)
    return [
        SpooledCall(a_call(number, sid), answer, at),
        SpooledStatus(sid, CallStatus.RINGING, {}, at),
        SpooledStatus(sid, CallStatus.IN_PROGRESS, {}, at),
        SpooledStatus(sid, CallStatus.COMPLETED, {"CallDuration": "42"}, at),
    ]


async def spool(directory: Path, entries: list[Entry]) -> Path:
    """Entries written by a process that then died (its lock let go, its file kept)."""
    journal = Journal(directory, max_bytes=1 << 20)
    for entry in entries:
        await journal.append(entry)
    journal.close()
    (segment,) = segments(directory)
    return segment


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.spool"))


def recorder(db: Database, directory: Path) -> EventRecorder:
    return EventRecorder(Journal(directory, max_bytes=1 << 20), CallStore(db), CallbackStore(db))


async def stored(db: Database, sid: str) -> tuple[str | None, list[tuple[int, str]]]:
    async with db.connection() as conn:
        status = await conn.fetchval("SELECT status FROM calls WHERE sid = $1", sid)
        callbacks = await conn.fetch(
            "SELECT sequence_number, call_status FROM callbacks WHERE call_sid = $1"
            " ORDER BY sequence_number",
            sid,
        )
    return status, [(r["sequence_number"], r["call_status"]) for r in callbacks]


@pytest.fixture
async def api(db: Database, settings: config.Settings) -> AsyncIterator[TestClient]:
    app = create_app(config.replace(settings, callbacks_dispatcher_enabled=False), database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def number(api: TestClient, tenant: Tenant) -> dict[str, Any]:
    return await provision(api, tenant, "7000", StatusCallback=f"{DEAD_URL}/status")


def test_every_kind_of_entry_reads_back_as_written() -> None:
    number = {"sid": "PN" + "1" * 32, "account_sid": "AC" + "2" * 32}
    number |= {"organization_sid": "OR" + "3" * 32, "phone_number": "7000"}
    message = SpooledMessage(
        "SM" + "4" * 32,
        number["sid"],
        "AC1",
        "OR1",
        "+1",
        "7000",
        "héllo\x00",
        RoutingAnswer("SM" + "4" * 32, Outcome.NO_APPLICATION),
        NOW,
    )
    for entry in [*entries_of_one_call(number, "CA" + "5" * 32, NOW), message]:
        line = encode(entry)
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert decode(line) == entry


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"", "zero-length"),
        (b'{"kind": "tape", "spooled_at": "2026-12-02T04:00:00+00:00"}', "unknown spool entry"),
        (b'{"kind": "status", "spooled_at": "2026-12-02T04:00:00+00:00"}', "call_sid"),
        (b"[1, 2]", "list indices"),
    ],
)
def test_a_line_that_is_no_entry_is_refused(line: bytes, error: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError), match=error):
        decode(line)


async def test_a_replay_repeated_after_a_crash_changes_nothing(
    db: Database, number: dict[str, Any], tmp_path: Path
) -> None:
    sid = "CA" + "a" * 32
    segment = await spool(tmp_path, entries_of_one_call(number, sid))
    kept = segment.read_bytes()

    first = recorder(db, tmp_path)
    assert await first.replay() == 4
    assert not segments(tmp_path)
    expected = ("completed", IN_ORDER)
    assert await stored(db, sid) == expected

    # A crash after the commits, before the segment was deleted: it is replayed again.
    (tmp_path / segment.name).write_bytes(kept)
    again = recorder(db, tmp_path)
    assert await again.replay() == 4
    assert await stored(db, sid) == expected
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM call_events WHERE call_sid = $1", sid) == 3


async def test_a_torn_last_line_was_never_answered_and_is_skipped(
    db: Database, number: dict[str, Any], tmp_path: Path
) -> None:
    sid = "CA" + "b" * 32
    segment = await spool(tmp_path, entries_of_one_call(number, sid)[:2])
    with segment.open("ab") as file:
        file.write(encode(entries_of_one_call(number, sid)[2])[:-9])
    assert await recorder(db, tmp_path).replay() == 2
    assert await stored(db, sid) == ("ringing", [(0, "ringing")])


async def test_the_segment_of_a_live_process_is_left_alone_until_it_dies(
    db: Database, number: dict[str, Any], tmp_path: Path
) -> None:
    sid = "CA" + "c" * 32
    segment = await spool(tmp_path, entries_of_one_call(number, sid))
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY);"
        " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
        str(segment),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"
        other = recorder(db, tmp_path)
        assert await other.replay() == 0
        assert segments(tmp_path) == [segment]
        assert await stored(db, sid) == (None, [])
    finally:
        holder.kill()
        await asyncio.wait_for(holder.wait(), 10)
    assert await other.replay() == 4
    assert await stored(db, sid) == (
        "completed",
        [(0, "ringing"), (1, "in-progress"), (2, "completed")],
    )


async def test_a_status_whose_call_is_nowhere_yet_waits_then_is_dropped(
    db: Database, number: dict[str, Any], tmp_path: Path
) -> None:
    call, *statuses = entries_of_one_call(number, "CA" + "d" * 32)
    await spool(tmp_path, statuses)
    waiting = recorder(db, tmp_path)
    assert await waiting.replay() == 3  # tried, and kept: the call may be in another spool
    assert waiting.spooled == 3
    assert len(segments(tmp_path)) == 1
    # Its call arrives (another instance's spool replayed it): the statuses follow.
    await CallStore(db).record_call(call.call, call.answer)  # type: ignore[union-attr]
    assert await waiting.replay() == 3
    assert waiting.spooled == 0
    assert await stored(db, call.sid) == ("completed", IN_ORDER)

    # Older than its patience: dropped (and logged), not kept forever.
    orphan = SpooledStatus("CA" + "e" * 32, CallStatus.RINGING, {}, NOW)
    impatient = EventRecorder(
        Journal(tmp_path, max_bytes=1 << 20), CallStore(db), CallbackStore(db), unmatched_seconds=1
    )
    await spool(tmp_path, [orphan])
    assert await impatient.replay() == 1
    assert impatient.spooled == 0
    assert not segments(tmp_path)


async def test_a_full_spool_refuses_and_writes_nothing(
    number: dict[str, Any], tmp_path: Path
) -> None:
    entry = entries_of_one_call(number, "CA" + "f" * 32)[0]
    journal = Journal(tmp_path, max_bytes=len(encode(entry)) + 10)
    await journal.append(entry)
    with pytest.raises(Unavailable) as refused:
        await journal.append(entry)
    assert refused.value.message == (
        "The database is unreachable and this worker's spool is full"
        f" ({len(encode(entry)) + 10} bytes, setting spool_max_bytes); retry later."
    )
    (segment,) = segments(tmp_path)
    assert segment.read_bytes() == encode(entry)
    journal.close()


async def test_appends_under_way_together_share_one_segment_in_order(tmp_path: Path) -> None:
    entries = [SpooledStatus(f"CA{n:032x}", CallStatus.RINGING, {}, NOW) for n in range(200)]
    journal = Journal(tmp_path, max_bytes=1 << 20)
    await asyncio.gather(*(journal.append(e) for e in entries))
    (segment,) = segments(tmp_path)
    assert [decode(line) for line in segment.read_bytes().splitlines()] == entries
    journal.close()
