"""The supervisor of `router serve --workers N` (N > 1).

It owns what must happen once: the embedded PostgreSQL, migrations, bootstrap, and the
read of every stored phone number, which it freezes before forking so that every
worker shares those pages instead of holding its own copy. Then it forks the workers
(each binds the port with SO_REUSEPORT and keeps its own LISTEN connections), restarts
one that dies (with backoff), and on SIGTERM or SIGINT stops them gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from router import banner, config, listening, metrics, spellings
from router.bootstrap import bootstrap
from router.known_numbers import InheritedNumbers
from router.serve.placement import WorkerPlace
from router.serve.worker import run_worker
from router.store.accounts import AccountStore
from router.store.numbers import NumberStore
from router.store.opening import start_embedded
from router.store.postgres import Database

log = structlog.get_logger(__name__)

# A worker that lived this long before dying is restarted at once; quicker deaths in a
# row wait twice as long each time, up to the cap.
_HEALTHY_SECONDS = 30.0
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 30.0
_TICK_SECONDS = 0.1


def serve(settings: config.Settings) -> int:
    """Run the supervisor and its workers until SIGTERM or SIGINT; 0 on a clean stop."""
    workers = config.effective_workers(settings)
    stop = _StopRequest()  # from here on a signal stops cleanly, even during the start
    # The port first: a busy one stops us before anything touches the database.
    with _port_reserved(settings) as port, _database(settings) as dsn, _metrics_directory():
        settings = config.replace(settings, database_url=dsn, port=port)
        known = asyncio.run(_prepare(settings))
        spellings.load_metadata()  # before the fork: the workers share its pages
        # Everything read so far lives as long as the service: out of the collector's
        # passes, whose bookkeeping writes would otherwise copy shared pages per worker.
        gc.freeze()
        return Supervisor(settings, workers, known, stop).run()


class _StopRequest:
    """Set by SIGTERM or SIGINT."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._set)

    def _set(self, signum: int, frame: object) -> None:
        self.requested = True


@contextlib.contextmanager
def _database(settings: config.Settings) -> Iterator[str]:
    """The configured database URL, or the embedded cluster's for the duration."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded, dsn = start_embedded(settings)
    try:
        yield dsn
    finally:
        embedded.stop()


@contextlib.contextmanager
def _port_reserved(settings: config.Settings) -> Iterator[int]:
    """Bind (without listening) the port the workers will share: a busy port fails
    here, once, and port 0 becomes one port for all. A socket that does not listen
    receives no connections, so it takes none from the workers."""
    probe = listening.bind(settings.host, settings.port, reuse_port=True)
    try:
        yield int(probe.getsockname()[1])
    finally:
        probe.close()


@contextlib.contextmanager
def _metrics_directory() -> Iterator[None]:
    directory = Path(tempfile.mkdtemp(prefix="router-metrics-"))
    metrics.share_between_processes(directory)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _prepare(settings: config.Settings) -> InheritedNumbers:
    """Migrate and bootstrap once; every stored phone number, read once."""
    database = await Database.connect(settings.database_url, min_size=1, max_size=2)
    try:
        await database.migrate()
        banner.announce(await bootstrap(AccountStore(database), settings), Path(settings.data_dir))
        numbers, fingerprint = await NumberStore(database).all_phone_numbers_and_fingerprint()
        known = InheritedNumbers(await asyncio.to_thread(frozenset, numbers), fingerprint)
        log.info("known_numbers_loaded", count=len(known.numbers), shared=True)
        return known
    finally:
        await database.close()


@dataclass(slots=True)
class _Slot:
    """One worker position: its current process and its recent failures."""

    index: int
    pid: int | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Forks the workers, restarts the ones that die, stops them all on a signal."""

    def __init__(
        self,
        settings: config.Settings,
        workers: int,
        known: InheritedNumbers,
        stop: _StopRequest,
    ) -> None:
        self._settings = settings
        self._known = known
        self._slots = [_Slot(index) for index in range(workers)]
        self._stop = stop

    def run(self) -> int:
        if not self._stop.requested:
            for slot in self._slots:
                self._start(slot)
            log.info("supervising", workers=len(self._slots), port=self._settings.port)
        while not self._stop.requested:
            self._reap(time.monotonic())
            self._restart_due(time.monotonic())
            time.sleep(_TICK_SECONDS)
        self._stop_all()
        return 0

    def _start(self, slot: _Slot) -> None:
        place = WorkerPlace(slot.index, len(self._slots), self._known)
        sys.stdout.flush()  # or the child would write the parent's buffer once more
        sys.stderr.flush()
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            os._exit(run_worker(self._settings, place, supervisor))
        slot.pid, slot.started_at, slot.restart_at = pid, time.monotonic(), None
        log.info("worker_started", index=slot.index, worker_pid=pid)

    def _reap(self, now: float) -> None:
        for slot in self._slots:
            status = _exit_status(slot.pid)
            if status is None:
                continue
            assert slot.pid is not None
            metrics.forget_process(slot.pid)
            lived = now - slot.started_at
            slot.failures = 0 if lived >= _HEALTHY_SECONDS else slot.failures + 1
            delay = (
                0.0
                if slot.failures == 0
                else min(_FIRST_BACKOFF_SECONDS * 2 ** (slot.failures - 1), _MAX_BACKOFF_SECONDS)
            )
            log.warning(
                "worker_exited",
                index=slot.index,
                worker_pid=slot.pid,
                status=status,
                lived_seconds=round(lived, 1),
                restart_in_seconds=delay,
            )
            slot.pid, slot.restart_at = None, now + delay

    def _restart_due(self, now: float) -> None:
        for slot in self._slots:
            if slot.pid is None and slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    def _stop_all(self) -> None:
        """SIGTERM every worker, wait for their graceful stop, SIGKILL what is left."""
        log.info("stopping", workers=sum(slot.pid is not None for slot in self._slots))
        running = {slot.pid for slot in self._slots if slot.pid is not None}
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        # The workers' own limit for in-flight work, plus time to close their pools.
        deadline = time.monotonic() + self._settings.serve_stop_timeout_seconds + 10.0
        while running and time.monotonic() < deadline:
            running = {pid for pid in running if _exit_status(pid) is None}
            time.sleep(_TICK_SECONDS)
        for pid in running:
            log.warning("worker_killed", worker_pid=pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        log.info("stopped")


def _exit_status(pid: int | None) -> str | None:
    """How the child exited ('exit 1', 'signal 9'), or None while it runs."""
    if pid is None:
        return None
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return "unknown"
    if done == 0:
        return None
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.waitstatus_to_exitcode(status)}"
