"""A call's status callbacks as its owners may see them, and sending a given-up one
again (SPEC 6)."""

from __future__ import annotations

from router.domain import Account, StatusCallback, is_sid
from router.engine.accounts import Accounts
from router.errors import Conflict, Field, Forbidden, NotFound
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore


class Callbacks:
    """Callbacks, seen by the gateway (viewer None) or the call's account tree."""

    def __init__(self, store: CallbackStore, calls: CallStore, accounts: Accounts) -> None:
        self._store = store
        self._calls = calls
        self._accounts = accounts

    async def of_call(self, viewer: Account | None, call_sid: str) -> list[StatusCallback]:
        """Every callback of the call with its attempts, in SequenceNumber order."""
        call = await self._calls.get_call(call_sid) if is_sid(call_sid, "CA") else None
        if not await self._visible(viewer, call.account_sid if call else None):
            raise NotFound(f"Call {call_sid[:64]} was not found.", param=Field("call_sid"))
        return await self._store.list_for_call(call_sid)

    async def retry(self, viewer: Account | None, callback_id: int) -> StatusCallback:
        """Queue a callback that gave up (failed) again."""
        callback = await self._store.get(callback_id)
        if callback is None or not await self._visible(viewer, callback.account_sid):
            raise NotFound(f"Callback {callback_id} was not found.", param="id")
        if not await self._store.retry(callback.id):
            raise Conflict(
                f"Callback {callback_id} is {callback.state}; only a callback that gave up"
                " (failed) can be retried.",
                param="id",
            )
        return callback

    async def _visible(self, viewer: Account | None, account_sid: str | None) -> bool:
        """Whether the viewer may see a resource of this account: the gateway, or the
        account's tree. Another tenant's resource is reported as not found, which
        neither confirms it nor names its account (SPEC 2)."""
        if account_sid is None:
            return False
        if viewer is None:
            return True
        try:
            await self._accounts.authorize(viewer, account_sid)
        except Forbidden:
            return False
        return True
