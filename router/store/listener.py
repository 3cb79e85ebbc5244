"""A dedicated LISTEN connection that survives database restarts.

While connected, every notification on the channel is handed to `on_message`; when
the connection drops, `on_reset` runs (notifications may have been missed, so
callers forget what they cached) and the listener reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class Listener:
    """LISTEN on one channel in a background task until `stop`."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        on_message: Callable[[str], None],
        on_reset: Callable[[], None],
        *,
        max_backoff: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_message = on_message
        self._on_reset = on_reset
        self._max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen_until_lost()
                backoff = 0.1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("listener_connect_failed", channel=self._channel, error=str(error))
            # Caches are dropped when the connection is back (notifications may have been
            # missed), not now: during an outage they are all routing has (SPEC 8).
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _listen_until_lost(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            await conn.add_listener(self._channel, self._deliver)
            # Whatever was cached before this point may have missed notifications.
            self._on_reset()
            self.connected.set()
            log.info("listener_connected", channel=self._channel)
            await self._watch(conn, lost)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        # The termination callback is not always fired for a silently dead peer, so
        # probe the connection now and then as well.
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=5.0)
            if not lost.is_set():
                await conn.execute("SELECT 1", timeout=5.0)
        log.warning("listener_lost", channel=self._channel)

    def _deliver(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            self._on_message(payload)
        except Exception:
            log.exception("listener_callback_failed", channel=channel)
