"""Status events and the durable queue of status callbacks (SPEC 6, DESIGN 5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from router.domain import AttemptRecord as AttemptRecord  # re-exported: the dispatcher's
from router.domain import CallStatus, StatusCallback, new_sid
from router.errors import Conflict, NotFound
from router.store import rows
from router.store.batching import Batcher
from router.store.errors import Violation, violation_raises
from router.store.postgres import Database, sql
from router.webhooks.payloads import TERMINAL, CallbackSettings, callback_request

RESPONSE_BODY_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class ClaimedCallback:
    """A callback leased to this dispatcher for one delivery attempt."""

    id: int
    call_sid: str
    sequence_number: int
    url: str
    method: str
    host: str
    params: dict[str, str]
    delivery_id: str
    attempts: int  # made so far, this one included
    lease: datetime  # the lease this claim holds; settling needs it unchanged
    attempt_id: int  # the attempt row the claim wrote; the settle completes it
    signing_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Settle:
    callback: ClaimedCallback
    attempt: AttemptRecord
    state: str
    next_attempt_at: datetime | None


def _stored_body(body: str | None) -> str | None:
    """The first 2 KiB of an answer, without NULs (PostgreSQL text cannot hold them)."""
    return None if body is None else body[:RESPONSE_BODY_LIMIT].replace("\x00", "")


def _callback_settings(row: Any) -> CallbackSettings | None:
    """The call's number's status callback settings (None: the number is gone)."""
    if not row["has_number"]:
        return None
    return CallbackSettings(
        row["status_callback"], row["status_callback_method"], row["api_version"]
    )


class CallbackStore:
    """Accepting status events, and claiming and settling their callbacks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._settles: Batcher[_Settle, bool] = Batcher(self._settle_batch)

    async def accept_status(
        self, call_sid: str, status: CallStatus, details: Mapping[str, str], *, now: datetime
    ) -> bool:
        """Record the status, update the call and queue its callback with the next
        SequenceNumber, all in one transaction (the accept_call_status function: one
        round trip). False when this status was already reported."""
        async with self.db.connection() as conn:
            row = await conn.fetchrow(sql("call_for_status"), call_sid)
            if row is None:
                raise NotFound(f"Call {call_sid} was not found.", param="CallSid")
            # SequenceNumber is filled in by the function, under the call's row lock.
            request = callback_request(
                rows.call(row),
                _callback_settings(row),
                status,
                details,
                sequence_number=-1,
                timestamp=now,
            )

            def after_end(current: str) -> Conflict:
                return Conflict(
                    f"Call {call_sid} is already {current or 'ended'};"
                    f" CallStatus {status.value} cannot follow it.",
                    param="CallStatus",
                )

            with violation_raises(Violation.STATUS_AFTER_END, after_end):
                outcome = await conn.fetchval(
                    sql("accept_status"),
                    call_sid,
                    status.value,
                    dict(details),
                    [s.value for s in TERMINAL],
                    request and request.url,
                    request and request.method,
                    request and request.host,
                    request and request.params,
                    new_sid("DL"),
                )
        if outcome == "not_found":
            raise NotFound(f"Call {call_sid} was not found.", param="CallSid")
        return bool(outcome == "accepted")

    async def claim(
        self,
        limit: int,
        *,
        lease_seconds: float,
        in_flight_hosts: Sequence[str],
        per_host_limit: int,
    ) -> list[ClaimedCallback]:
        """Lease up to `limit` due callbacks, oldest first, at most one per call, and per
        host no more than `per_host_limit` minus its deliveries in flight (one entry of
        `in_flight_hosts` each). Each claim records its attempt, unsettled until settle."""
        async with self.db.transaction() as conn:
            found = await conn.fetch(
                sql("claim_callbacks"), limit, lease_seconds, list(in_flight_hosts), per_host_limit
            )
        return [
            ClaimedCallback(
                id=r["id"],
                call_sid=r["call_sid"],
                sequence_number=r["sequence_number"],
                url=r["url"],
                method=r["method"],
                host=r["host"],
                params=dict(r["params"]),
                delivery_id=r["delivery_id"],
                attempts=r["attempts"],
                lease=r["leased_until"],
                attempt_id=r["attempt_id"],
                signing_key=r["signing_key"],
            )
            for r in found
        ]

    async def settle(
        self,
        callback: ClaimedCallback,
        attempt: AttemptRecord,
        *,
        state: str,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Complete the claim's attempt row and mark the callback delivered, failed or
        pending again; False (attempt recorded, verdict dropped) when the lease was lost
        meanwhile.

        Concurrent settles are written together (group commit)."""
        return await self._settles.submit(_Settle(callback, attempt, state, next_attempt_at))

    async def _settle_batch(self, batch: Sequence[_Settle]) -> list[bool]:
        attempts = [
            [s.callback.attempt_id for s in batch],
            [s.attempt.attempted_at for s in batch],
            [s.attempt.status for s in batch],
            [s.attempt.error for s in batch],
            [s.attempt.latency_ms for s in batch],
            [_stored_body(s.attempt.response_body) for s in batch],
        ]
        verdicts = [
            [s.callback.id for s in batch],
            [s.state for s in batch],
            [s.next_attempt_at for s in batch],
            [s.callback.lease for s in batch],
        ]
        async with self.db.transaction() as conn:
            await conn.execute(sql("complete_callback_attempts"), *attempts)
            settled = {r["id"] for r in await conn.fetch(sql("finish_callbacks"), *verdicts)}
            if any(s.state != "pending" and s.callback.id in settled for s in batch):
                # The next callback of those calls may now be due.
                await conn.execute(sql("notify_callbacks_ready"))
        return [s.callback.id in settled for s in batch]

    async def list_for_call(self, call_sid: str) -> list[StatusCallback]:
        """Every callback of a call, in SequenceNumber order, each with its attempts."""
        async with self.db.connection() as conn:
            callbacks = await conn.fetch(sql("list_callbacks"), call_sid)
            attempts = await conn.fetch(sql("list_callback_attempts"), call_sid)
        by_callback: dict[int, list[AttemptRecord]] = {}
        for attempt in attempts:
            by_callback.setdefault(attempt["callback_id"], []).append(rows.attempt(attempt))
        return [rows.status_callback(c, by_callback.get(c["id"], ())) for c in callbacks]

    async def pending_count(self) -> int:
        """Callbacks not yet delivered or given up (the queue depth)."""
        return int(await self.db.fetchval("count_pending_callbacks"))

    async def get(self, callback_id: int) -> StatusCallback | None:
        """A callback by id (without its attempts)."""
        row = await self.db.fetchrow("get_callback", callback_id)
        return rows.status_callback(row, ()) if row else None

    async def retry(self, callback_id: int) -> bool:
        """Queue a given-up callback again; False if it is not in the failed state."""
        async with self.db.transaction() as conn:
            retried = await conn.fetchval(sql("retry_callback"), callback_id)
            if retried is not None:
                await conn.execute(sql("notify_callbacks_ready"))
        return retried is not None
