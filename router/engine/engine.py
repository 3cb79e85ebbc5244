"""The engine: every use case of router as a method of one object (SPEC 10).

HTTP handlers and embedding programs are its clients; it holds no HTTP and runs no
SQL (the store does). Built and started by `router.assembly`.
"""

from __future__ import annotations

from datetime import datetime

from router.domain import Account, Call
from router.engine import explain
from router.engine.accounts import Accounts
from router.engine.answers import Explanation, RoutingAnswer, StatusAccepted
from router.engine.applications import Applications
from router.engine.callbacks import Callbacks
from router.engine.calls import CallRouting
from router.engine.events import (
    CallEvent,
    ExplainRequest,
    MessageEvent,
    ReferEvent,
    StatusEvent,
    UssdEvent,
)
from router.engine.inventory import Inventory
from router.engine.numbers import Numbers
from router.metrics import Metrics
from router.organizations import OrganizationDirectory
from router.rcml import RcmlFetcher
from router.resolver import Resolver
from router.spool.recorder import EventRecorder
from router.store.accounts import AccountStore
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.inventory import InventoryStore
from router.store.numbers import NumberStore


class Stores:
    """The store modules the engine reads and writes through."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        numbers: NumberStore,
        inventory: InventoryStore,
        calls: CallStore,
        callbacks: CallbackStore,
    ) -> None:
        self.accounts = accounts
        self.numbers = numbers
        self.inventory = inventory
        self.calls = calls
        self.callbacks = callbacks


class Engine:
    """Routing (calls, messages, refers, USSD), status reports, the dry run, and the
    provisioning services: `accounts`, `numbers`, `applications`, `inventory`,
    `callbacks`."""

    def __init__(
        self,
        stores: Stores,
        *,
        recorder: EventRecorder,
        resolver: Resolver,
        fetcher: RcmlFetcher,
        metrics: Metrics,
    ) -> None:
        self.resolver = resolver
        self.metrics = metrics
        self.organizations = OrganizationDirectory(stores.calls)
        self._stores = stores
        self._routing = CallRouting(
            calls=stores.calls,
            recorder=recorder,
            resolver=resolver,
            fetcher=fetcher,
            organizations=self.organizations,
            metrics=metrics,
        )
        self.accounts = Accounts(stores.accounts, resolver)
        self.numbers = Numbers(stores.numbers, self.accounts, stores.accounts, resolver)
        self.applications = Applications(stores.accounts)
        self.inventory = Inventory(stores.inventory)
        self.callbacks = Callbacks(stores.callbacks, stores.calls, self.accounts)

    async def route_call(self, event: CallEvent) -> RoutingAnswer:
        """Route an inbound call (a UssdEvent: by the Ussd fields); a repeated call_sid
        gets the answer it got first."""
        return await self._routing.route_call(event)

    async def route_ussd(self, event: UssdEvent) -> RoutingAnswer:
        """Route a USSD request by the number's Ussd fields; it is recorded as a call."""
        return await self._routing.route_call(event)

    async def route_message(self, event: MessageEvent) -> RoutingAnswer:
        """Route an inbound SMS (exact numbers only); a repeated sms_sid gets its first answer."""
        return await self._routing.route_message(event)

    async def route_refer(self, event: ReferEvent) -> RoutingAnswer:
        """Route the transfer of a call in progress by its number's Refer fields."""
        return await self._routing.route_refer(event)

    async def report_call_status(
        self, event: StatusEvent, *, now: datetime | None = None
    ) -> StatusAccepted:
        """Record a call's new status; its status callback is queued durably."""
        return await self._routing.report_call_status(event, now=now)

    async def explain(self, request: ExplainRequest) -> Explanation:
        """The decision for a dialed string without side effects, with its trace."""
        return await explain.explain(
            request,
            resolver=self.resolver,
            organizations=self.organizations,
            accounts=self._stores.accounts,
        )

    async def get_call(self, sid: str) -> Call | None:
        """A routed call by sid (any account: callers check visibility)."""
        return await self._stores.calls.get_call(sid)

    async def super_admin(self) -> Account:
        """The installation's super admin (made by the first start)."""
        account = await self._stores.accounts.first_super_admin()
        assert account is not None, "bootstrap creates the super admin"
        return account

    async def pending_callbacks(self) -> int:
        """Callbacks not yet delivered or given up (the queue depth)."""
        return await self._stores.callbacks.pending_count()
