"""Recording what router answers, through the database or, while it is unreachable,
through the spool; and replaying the spool into the database when it is back.

The rule that keeps each call's events in order: once any event of a call is in this
process's spool, every later event of that call goes to the spool too (even with the
database up) until the spool has replayed them all, so the database receives a
call's events in the order they were answered. Replay is idempotent: a call or
message is inserted once per sid, a status once per (call, status), so entries
replayed twice (a crash after a commit, before the segment was deleted) change
nothing and fire no callback twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import structlog

from router.domain import Call, CallStatus, IncomingNumber
from router.engine.answers import RoutingAnswer
from router.errors import Conflict, NotFound, RouterError, Unavailable
from router.spool.entries import Entry, SpooledCall, SpooledMessage, SpooledStatus
from router.spool.journal import Journal, Segment
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore

log = structlog.get_logger(__name__)

# On shutdown, the spool gets this long to reach the database; the rest stays on disk.
STOP_REPLAY_SECONDS = 10.0


class EventRecorder:
    """Routed calls, messages and status events: recorded, or spooled and replayed."""

    def __init__(
        self,
        journal: Journal,
        calls: CallStore,
        callbacks: CallbackStore,
        *,
        replay_interval: float = 1.0,
        unmatched_seconds: float = 600.0,
    ) -> None:
        self._journal = journal
        self._calls = calls
        self._callbacks = callbacks
        self._replay_interval = replay_interval
        self._unmatched = timedelta(seconds=unmatched_seconds)
        # What the spool holds, so repeats and later events of a spooled sid find it.
        self._pending: Counter[str] = Counter()
        self._answers: dict[str, RoutingAnswer] = {}
        self._statuses: set[tuple[str, CallStatus]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def spooled(self) -> int:
        """Entries this process holds that the database has not taken yet."""
        return sum(self._pending.values())

    # -- recording -------------------------------------------------------------------

    async def record_call(self, call: Call, answer: RoutingAnswer) -> RoutingAnswer:
        """The answer stored first for this call sid (see CallStore.record_call)."""
        if (spooled := self._answers.get(call.sid)) is not None:
            return spooled
        if not self._pending[call.sid]:
            try:
                return await self._calls.record_call(call, answer)
            except Unavailable:
                pass
        await self._spool(SpooledCall(call, answer, _now()))
        return answer

    async def record_message(
        self,
        sid: str,
        number: IncomingNumber,
        from_number: str,
        to_number: str,
        body: str | None,
        answer: RoutingAnswer,
    ) -> RoutingAnswer:
        """The answer stored first for this message sid."""
        if (spooled := self._answers.get(sid)) is not None:
            return spooled
        message = SpooledMessage(
            sid,
            number.sid,
            number.account_sid,
            number.organization_sid,
            from_number,
            to_number,
            body,
            answer,
            _now(),
        )
        try:
            return await self._record_message(message)
        except Unavailable:
            await self._spool(message)
            return answer

    async def accept_status(
        self, call_sid: str, status: CallStatus, details: Mapping[str, str], *, now: datetime
    ) -> bool:
        """Accept a status event (see CallbackStore.accept_status); False when this
        status was already reported. While the database is unreachable it is accepted
        into the spool, whichever instance recorded the call: its callback is queued
        when the spool is replayed."""
        if not self._pending[call_sid]:
            try:
                return await self._callbacks.accept_status(call_sid, status, details, now=now)
            except Unavailable:
                pass
        if (call_sid, status) in self._statuses:
            return False
        await self._spool(SpooledStatus(call_sid, status, dict(details), now))
        return True

    async def previous_call(self, call_sid: str) -> RoutingAnswer | None:
        """The answer a call was given before, spooled or stored."""
        return self._answers.get(call_sid) or await self._calls.get_call_answer(call_sid)

    async def previous_message(self, sms_sid: str) -> RoutingAnswer | None:
        """The answer a message was given before, spooled or stored."""
        return self._answers.get(sms_sid) or await self._calls.get_message_answer(sms_sid)

    async def _spool(self, entry: Entry) -> None:
        await self._journal.append(entry)
        self._hold(entry)
        log.warning("event_spooled", kind=type(entry).__name__, sid=entry.sid)

    def _hold(self, entry: Entry) -> None:
        self._pending[entry.sid] += 1
        if isinstance(entry, SpooledStatus):
            self._statuses.add((entry.call_sid, entry.status))
        else:
            self._answers.setdefault(entry.sid, entry.answer)

    def _hold_status(self, entry: Entry) -> None:
        if isinstance(entry, SpooledStatus):
            self._statuses.add((entry.call_sid, entry.status))

    def _release(self, entry: Entry) -> None:
        self._pending[entry.sid] -= 1
        if self._pending[entry.sid] <= 0:
            del self._pending[entry.sid]
            self._answers.pop(entry.sid, None)
        if isinstance(entry, SpooledStatus):
            self._statuses.discard((entry.call_sid, entry.status))

    async def _record_message(self, message: SpooledMessage) -> RoutingAnswer:
        return await self._calls.record_message_row(
            message.sid,
            message.number_sid,
            message.account_sid,
            message.organization_sid,
            message.from_number,
            message.to_number,
            message.body,
            message.answer,
        )

    # -- replay ----------------------------------------------------------------------

    def start(self) -> None:
        """Adopt what dead processes left, and replay in the background from now on."""
        for segment in self._journal.adopt_orphans():
            for entry in segment.entries:
                self._hold(entry)
        self._task = asyncio.create_task(self._run(), name="spool-replay")

    async def stop(self) -> None:
        """One last replay if the database is there; what is left stays on disk."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        with contextlib.suppress(Unavailable, TimeoutError):
            await asyncio.wait_for(self.replay(), timeout=STOP_REPLAY_SECONDS)
        self._journal.close()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.replay()
            except Unavailable:
                pass  # tried again after the interval
            except Exception as error:  # the loop must outlive any one bad pass
                log.error("spool_replay_failed", error=repr(error))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._replay_interval)

    async def replay(self) -> int:
        """Write every spooled entry to the database, oldest first; return how many.
        Unavailable when the database went away meanwhile (the rest waits)."""
        for segment in self._journal.adopt_orphans():
            for entry in segment.entries:
                self._hold(entry)
        if self._journal.is_empty():
            return 0
        await self._journal.seal()
        replayed = 0
        for segment in self._journal.waiting():
            replayed += await self._replay_segment(segment)
            self._journal.discard(segment)
        if replayed:
            log.info("spool_replayed", entries=replayed, left=self.spooled)
        return replayed

    async def _replay_segment(self, segment: Segment) -> int:
        count = 0
        for entry in list(segment.remaining):
            waits = not await self._replay_entry(entry)
            if waits:
                # Appended again (held twice for a moment, so that no later event of its
                # call can slip past it to the database meanwhile).
                await self._journal.append(entry)
                self._hold(entry)
            segment.replayed += 1
            self._release(entry)
            if waits:
                self._hold_status(entry)
            count += 1
        return count

    async def _replay_entry(self, entry: Entry) -> bool:
        """Write one entry; False when it has to wait for a later replay."""
        try:
            if isinstance(entry, SpooledCall):
                await self._calls.record_call(entry.call, entry.answer)
            elif isinstance(entry, SpooledMessage):
                await self._record_message(entry)
            else:
                await self._callbacks.accept_status(
                    entry.call_sid, entry.status, entry.details, now=entry.spooled_at
                )
        except NotFound:
            return not self._may_wait(entry)
        except Conflict as error:
            # Accepted (202) while the database was away, refused now that it can tell:
            # a status after the call ended otherwise. Nothing can be sent for it.
            log.warning("spooled_status_refused", sid=entry.sid, reason=error.message)
        except Unavailable:
            raise
        except RouterError as error:
            log.error("spooled_entry_refused", sid=entry.sid, reason=error.message)
        return True

    def _may_wait(self, entry: Entry) -> bool:
        """A status for a call the database does not know (yet): the call may still be
        in another instance's spool, so the status waits in this one, for a while."""
        if _now() - entry.spooled_at > self._unmatched:
            log.warning("spooled_status_dropped", sid=entry.sid, reason="call not found")
            return False
        return True


def _now() -> datetime:
    return datetime.now(UTC)
