"""Calls and messages: the record of routed events, written once per sid."""

from __future__ import annotations

from collections.abc import Sequence

from router.domain import Call, IncomingNumber
from router.engine.answers import RoutingAnswer, document, from_document
from router.store import rows
from router.store.batching import Batcher
from router.store.postgres import Database, dumps, sql


class CallStore:
    """Routed calls and messages, and the lookups the event routes need."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._calls: Batcher[tuple[Call, RoutingAnswer], RoutingAnswer] = Batcher(
            self._insert_calls
        )

    async def record_call(self, call: Call, answer: RoutingAnswer) -> RoutingAnswer:
        """Store a routed call once; return the answer stored first for its sid.

        Concurrent calls are written together (group commit)."""
        return await self._calls.submit((call, answer))

    async def _insert_calls(
        self, batch: Sequence[tuple[Call, RoutingAnswer]]
    ) -> list[RoutingAnswer]:
        columns: list[list[str | None]] = [[] for _ in range(10)]
        for call, answer in batch:
            values = (
                call.sid,
                call.number_sid,
                call.account_sid,
                call.organization_sid,
                call.from_number,
                call.to_number,
                call.caller_name,
                call.forwarded_from,
                dumps(call.sip_headers),
                dumps(document(answer, "call_sid")),
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        async with self.db.connection() as conn:
            inserted = {r["sid"] for r in await conn.fetch(sql("insert_calls"), *columns)}
            # A repeated sid (earlier, or twice in this batch) answers what was stored first.
            repeated = [call.sid for call, _ in batch if call.sid not in inserted]
            stored = {}
            if repeated:
                found = await conn.fetch(sql("call_decisions"), repeated)
                stored = {r["sid"]: from_document(r["decision"], "call_sid") for r in found}
        first_in_batch: dict[str, RoutingAnswer] = {}
        return [
            stored.get(call.sid) or first_in_batch.setdefault(call.sid, answer)
            for call, answer in batch
        ]

    async def record_message(
        self,
        sid: str,
        number: IncomingNumber,
        from_number: str,
        to_number: str,
        body: str | None,
        answer: RoutingAnswer,
    ) -> RoutingAnswer:
        """Store a routed message once; return the answer stored first for its sid."""
        return await self.record_message_row(
            sid,
            number.sid,
            number.account_sid,
            number.organization_sid,
            from_number,
            to_number,
            body,
            answer,
        )

    async def record_message_row(
        self,
        sid: str,
        number_sid: str,
        account_sid: str,
        organization_sid: str,
        from_number: str,
        to_number: str,
        body: str | None,
        answer: RoutingAnswer,
    ) -> RoutingAnswer:
        """record_message by the number's sids (what the spool keeps of a number)."""
        async with self.db.connection() as conn:
            stored = await conn.fetchval(
                sql("insert_message"),
                sid,
                number_sid,
                account_sid,
                organization_sid,
                from_number,
                to_number,
                body,
                document(answer, "sms_sid"),
            )
            if stored is None:
                stored = await conn.fetchval(sql("get_message_decision"), sid)
        return from_document(stored, "sms_sid")

    async def get_call_answer(self, call_sid: str) -> RoutingAnswer | None:
        """The answer a call was given, if it was routed before."""
        row = await self.db.fetchrow("get_call", call_sid)
        return from_document(row["decision"], "call_sid") if row else None

    async def get_message_answer(self, sms_sid: str) -> RoutingAnswer | None:
        """The answer a message was given, if it was routed before."""
        stored = await self.db.fetchval("get_message_decision", sms_sid)
        return from_document(stored, "sms_sid") if stored is not None else None

    async def get_call(self, sid: str) -> Call | None:
        row = await self.db.fetchrow("get_call", sid)
        return rows.call(row) if row else None

    async def get_number(self, sid: str) -> IncomingNumber | None:
        """A number by sid, whatever its account (the gateway is trusted system-wide)."""
        row = await self.db.fetchrow("get_number_by_sid", sid)
        return rows.incoming_number(row) if row else None

    async def organization_sid_for_domain(self, domain: str) -> str | None:
        sid = await self.db.fetchval("get_organization_sid_by_domain", domain)
        return str(sid) if sid is not None else None

    async def organization_exists(self, sid: str) -> bool:
        return await self.db.fetchrow("get_organization", sid) is not None
