"""The status callback dispatcher: claim due callbacks, deliver, record, settle.

A background task of every `router serve`. It wakes on `callbacks_ready`
notifications and on a poll interval, keeps at most `concurrency` deliveries in
flight and at most `per_host_limit` per receiving host (so one slow endpoint cannot
take every slot), and on shutdown stops claiming and finishes what is in flight.
Ordering per call is the claim query's job (store/sql/claim_callbacks.sql).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import structlog
from yarl import URL

from router.config import Settings
from router.errors import ConfigError, Unavailable
from router.outbound import DenyList, OutboundRequest, Sender, SendFailed
from router.store.callbacks import AttemptRecord, CallbackStore, ClaimedCallback
from router.webhooks.retry import RetryPolicy, Verdict

log = structlog.get_logger(__name__)

# The settings' defaults are the dispatcher's: one place says what they are.
_DEFAULTS = Settings()

DELIVERY_ID_HEADER = "I-Router-Delivery-Id"
BODY_KEPT = 2048
# A settle refused for want of the database is tried again after these delays (doubling).
SETTLE_RETRY_FIRST_SECONDS = 0.25
SETTLE_RETRY_MAX_SECONDS = 4.0


class Dispatcher:
    """Delivers status callbacks durably, in SequenceNumber order per call."""

    def __init__(
        self,
        store: CallbackStore,
        session: aiohttp.ClientSession,
        policy: RetryPolicy,
        *,
        deny_list: DenyList,
        concurrency: int = _DEFAULTS.callbacks_concurrency,
        per_host_limit: int = _DEFAULTS.callbacks_per_host_limit,
        lease_seconds: float = _DEFAULTS.callbacks_lease_seconds,
        poll_interval: float = _DEFAULTS.callbacks_poll_interval_seconds,
        timeout: float = _DEFAULTS.callbacks_timeout_seconds,
        on_verdict: Callable[[str], None] | None = None,
    ) -> None:
        if lease_seconds <= timeout:
            # A lease that ends before the request's time limit lets this very dispatcher
            # claim its own delivery again while it is still in flight.
            raise ConfigError(
                f"callbacks_lease_seconds ({lease_seconds}) must exceed"
                f" callbacks_timeout_seconds ({timeout})."
            )
        self._store = store
        self._sender = Sender(session, deny_list)
        self._policy = policy
        self._concurrency = concurrency
        self._per_host_limit = per_host_limit
        self._lease_seconds = lease_seconds
        self._poll_interval = poll_interval
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._on_verdict = on_verdict or (lambda _: None)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], str] = {}
        self._sending: Counter[str] = Counter()  # hosts with a request in flight
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="callback-dispatcher")

    def wake(self) -> None:
        """Something may be due (a NOTIFY arrived)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; let in-flight deliveries finish and be recorded."""
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before claiming: a wake-up that arrives during the claim (or a
            # stop) is kept for the wait below, never lost.
            self._wake.clear()
            claimed = await self._claim()
            for callback in claimed:
                task = asyncio.create_task(self._deliver(callback), name=f"callback-{callback.id}")
                self._in_flight[task] = callback.host
                self._sending[callback.host] += 1
                task.add_done_callback(self._finished)
            if claimed and len(self._in_flight) < self._concurrency:
                continue  # more may be due right away
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)

    async def _claim(self) -> list[ClaimedCallback]:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return []
        try:
            return await self._store.claim(
                free,
                lease_seconds=self._lease_seconds,
                in_flight_hosts=list(self._sending.elements()),
                per_host_limit=self._per_host_limit,
            )
        except Unavailable as error:
            log.warning("callback_claim_failed", error=error.message)
            return []

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("callback_delivery_crashed", error=repr(task.exception()))
        self._wake.set()

    async def _deliver(self, callback: ClaimedCallback) -> None:
        attempted_at = datetime.now(UTC)
        try:
            status, retry_after, attempt = await self._send(callback, attempted_at)
        finally:
            # The host's slot is free once it answered; settling needs no slot (the
            # claim query keeps each call's order by itself).
            self._sending[callback.host] -= 1
            self._wake.set()
        decision = self._policy.decide(callback.attempts, status=status, retry_after=retry_after)
        next_at = attempted_at + timedelta(seconds=decision.delay)
        state = "pending" if decision.verdict is Verdict.RETRY else decision.verdict.value
        self._on_verdict(decision.verdict.value)
        if decision.verdict is not Verdict.DELIVERED:
            log.info(
                "callback_attempt_failed",
                callback_id=callback.id,
                call_sid=callback.call_sid,
                status=status,
                error=attempt.error,
                verdict=decision.verdict.value,
            )
        await self._settle(callback, attempt, state, next_at)

    async def _settle(
        self, callback: ClaimedCallback, attempt: AttemptRecord, state: str, next_at: datetime
    ) -> None:
        """Record the outcome; while the database is unreachable, try again until the
        lease ends (the claim already put the attempt on record, without its outcome).
        A settle that gets through in time spares the receiver a second delivery."""
        delay = SETTLE_RETRY_FIRST_SECONDS
        while True:
            try:
                if not await self._store.settle(
                    callback, attempt, state=state, next_attempt_at=next_at
                ):
                    log.warning("callback_lease_lost", callback_id=callback.id, verdict=state)
                return
            except Unavailable as error:
                left = (callback.lease - datetime.now(UTC)).total_seconds()
                if left <= 0 or self._stopping.is_set():
                    # The lease runs out and the callback is claimed again: at least once.
                    log.warning(
                        "callback_settle_failed", callback_id=callback.id, error=error.message
                    )
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=min(delay, left))
            delay = min(delay * 2, SETTLE_RETRY_MAX_SECONDS)

    async def _send(
        self, callback: ClaimedCallback, attempted_at: datetime
    ) -> tuple[int | None, str | None, AttemptRecord]:
        request = OutboundRequest.with_params(URL(callback.url), callback.method, callback.params)
        started = time.perf_counter()
        status = retry_after = body = error = None
        try:
            async with self._sender.send(
                request,
                callback.signing_key,
                time_limits=self._timeout,
                headers={DELIVERY_ID_HEADER: callback.delivery_id},
            ) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                body = (await _read_head(response.content, BODY_KEPT)).decode("utf-8", "replace")
        except SendFailed as failure:
            error = failure.reason
        latency_ms = (time.perf_counter() - started) * 1000
        return status, retry_after, AttemptRecord(attempted_at, status, error, latency_ms, body)


async def _read_head(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The first `limit` bytes of a body (all of a shorter one): one read() returns only
    what has arrived so far, which may be a single small chunk."""
    head = b""
    while len(head) < limit:
        chunk = await content.read(limit - len(head))
        if not chunk:
            break
        head += chunk
    return head
