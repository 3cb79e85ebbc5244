"""The spool's files: append-only segments in `<data_dir>/spool/`, one writer each.

Every process (each worker of `router serve --workers N`, each instance) writes its
own segments and holds an exclusive `flock` on each while it lives. The lock is how
another process tells a live owner from a dead one: a segment whose lock it can take
belongs to a process that died (kill -9 releases flocks too), so it adopts the
segment and replays it. A segment is created under a hidden name, locked, then
renamed, so no one can adopt it between its creation and its lock.

An append is fsync'd (file, and the directory for a new file) before it returns, and
concurrent appends share one write and one fsync (group commit). A crash in the middle
of a write leaves a last line without its newline; that entry was never answered
(the answer waits for the fsync), so reading skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from router.errors import Unavailable
from router.spool.entries import Entry, decode, encode
from router.store.batching import Batcher

log = structlog.get_logger(__name__)

SUFFIX = ".spool"
HIDDEN_PREFIX = "."


@dataclass(eq=False, slots=True)
class Segment:
    """One spool file this process holds the lock of, with its entries not yet replayed."""

    path: Path
    fd: int
    entries: list[Entry] = field(default_factory=list)
    size: int = 0  # bytes on disk
    replayed: int = 0  # entries[:replayed] are in the database

    @property
    def remaining(self) -> Sequence[Entry]:
        return self.entries[self.replayed :]


class Journal:
    """The segments of one process: the one it appends to, and the sealed or adopted
    ones waiting for replay (oldest first)."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._current: Segment | None = None
        self._waiting: list[Segment] = []
        self._reserved = 0  # bytes of appends admitted but not yet written
        self._write_lock = asyncio.Lock()
        self._appends: Batcher[tuple[Entry, bytes], None] = Batcher(self._write_batch)

    @property
    def held_bytes(self) -> int:
        """Bytes of every segment this process holds, plus appends under way."""
        held = sum(s.size for s in self._waiting) + self._reserved
        return held + (self._current.size if self._current else 0)

    def is_empty(self) -> bool:
        current_empty = self._current is None or not self._current.entries
        return current_empty and not self._waiting and self._reserved == 0

    async def append(self, entry: Entry) -> None:
        """Write the entry durably; Unavailable (HTTP 503) when the spool is full or the
        disk refuses it."""
        line = encode(entry)
        if self.held_bytes + len(line) > self.max_bytes:
            raise Unavailable(
                "The database is unreachable and this worker's spool is full"
                f" ({self.max_bytes} bytes, setting spool_max_bytes); retry later."
            )
        self._reserved += len(line)
        try:
            await self._appends.submit((entry, line))
        finally:
            self._reserved -= len(line)

    async def _write_batch(self, batch: Sequence[tuple[Entry, bytes]]) -> list[None]:
        async with self._write_lock:
            if self._current is None:
                self._current = await asyncio.to_thread(self._create)
            segment, data = self._current, b"".join(line for _, line in batch)
            try:
                await asyncio.to_thread(_write_durably, segment.fd, data)
            except OSError as error:
                # What may have reached the file is cut off again, so a later append
                # cannot make a refused entry readable.
                with contextlib.suppress(OSError):
                    os.ftruncate(segment.fd, segment.size)
                raise Unavailable(
                    f"The database is unreachable and the spool cannot be written: {error}"
                ) from error
            segment.size += len(data)
            segment.entries.extend(entry for entry, _ in batch)
        return [None] * len(batch)

    def _create(self) -> Segment:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        hidden = self.directory / (HIDDEN_PREFIX + name)
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = self.directory / name
        os.rename(hidden, path)
        _sync_directory(self.directory)
        return Segment(path, fd)

    async def seal(self) -> None:
        """Stop appending to the current segment: later appends start a new one, and
        this one waits for replay behind the others."""
        async with self._write_lock:
            if self._current is not None and self._current.entries:
                self._waiting.append(self._current)
                self._current = None

    def adopt_orphans(self) -> list[Segment]:
        """Take every segment whose owner is gone; return them (their entries read)."""
        adopted = []
        held = {s.path for s in self._waiting} | ({self._current.path} if self._current else set())
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        for name in names:
            path = self.directory / name
            if name.startswith(HIDDEN_PREFIX) or not name.endswith(SUFFIX) or path in held:
                continue
            segment = _take(path)
            if segment is not None:
                log.info("spool_segment_adopted", path=str(path), entries=len(segment.entries))
                adopted.append(segment)
        self._waiting.extend(adopted)
        self._waiting.sort(key=lambda s: s.path.name)
        return adopted

    def waiting(self) -> list[Segment]:
        """The segments to replay, oldest first."""
        return list(self._waiting)

    def discard(self, segment: Segment) -> None:
        """Every entry of this segment is in the database: delete it (then unlock)."""
        self._waiting.remove(segment)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(segment.path)
        os.close(segment.fd)

    def close(self) -> None:
        """Let go of every segment (kept on disk for the next process to adopt)."""
        for segment in [*self._waiting, *([self._current] if self._current else [])]:
            if not segment.entries:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(segment.path)
            os.close(segment.fd)
        self._waiting, self._current = [], None


def _write_durably(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _take(path: Path) -> Segment | None:
    """The segment at `path` if its owner is gone and it still exists, else None."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None  # its owner is alive
    try:
        # Replayed and deleted by another process between our open and our lock.
        if os.fstat(fd).st_nlink == 0:
            os.close(fd)
            return None
        data = _read_all(fd)
    except OSError:
        os.close(fd)
        raise
    return Segment(path, fd, _entries(path, data), size=len(data))


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _entries(path: Path, data: bytes) -> list[Entry]:
    lines = data.split(b"\n")
    # The last piece is empty after a complete line, or a write cut short by a crash
    # (never answered: the answer waits for the fsync).
    entries = []
    for number, line in enumerate(lines[:-1], start=1):
        try:
            entries.append(decode(line))
        except (ValueError, KeyError, TypeError) as error:
            log.error("spool_entry_unreadable", path=str(path), line=number, error=str(error))
    return entries
