"""Putting the engine together: stores on a database, the resolver kept fresh by
LISTEN/NOTIFY, the outbound session and the status callback dispatcher.

`router serve` (through `create_app`) and embedding programs (through `router.open`)
start the same parts, so an embedded engine routes and delivers exactly as a served one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from router import banner
from router.bootstrap import bootstrap
from router.config import Settings
from router.engine.engine import Engine, Stores
from router.known_numbers import KnownNumbers, keep_loaded
from router.metrics import Metrics
from router.outbound import DenyList, create_client_session
from router.rcml import RcmlFetcher
from router.resolver import Resolver, apply_change_notice
from router.serve.placement import CallbackShare, WorkerPlace, callback_share
from router.spool.journal import Journal
from router.spool.recorder import EventRecorder
from router.store.accounts import AccountStore
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.inventory import InventoryStore
from router.store.listener import Listener
from router.store.numbers import NumberStore
from router.store.opening import open_database
from router.store.postgres import Database
from router.webhooks.dispatcher import Dispatcher
from router.webhooks.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class Assembly:
    """A running engine and the database it runs on (for the composition root's own
    needs: readiness, the stored gateway token)."""

    engine: Engine
    database: Database


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Engine]:
    """SPEC 10: an engine on the configured database (the embedded cluster when no URL
    is set, as `router serve`), migrated and bootstrapped, until the block ends."""
    async with open_database(settings) as database:
        banner.announce(await bootstrap(AccountStore(database), settings), Path(settings.data_dir))
        async with running(settings, database=database, metrics=Metrics()) as assembly:
            yield assembly.engine


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    database: Database | None = None,
    place: WorkerPlace | None = None,
    metrics: Metrics,
) -> AsyncIterator[Assembly]:
    """The engine with its background parts running; opens (and closes) its own pool
    unless given one. `place` says which worker of `router serve --workers N` this is."""
    async with contextlib.AsyncExitStack() as stack:
        if database is None:
            database = await Database.connect(
                settings.database_url,
                min_size=settings.database_pool_min,
                max_size=settings.database_pool_max,
            )
            stack.push_async_callback(database.close)
        stores = _stores(database)
        recorder = _recorder(settings, stores)
        recorder.start()
        stack.push_async_callback(recorder.stop)
        resolver = await stack.enter_async_context(
            _fresh_resolver(settings, database, stores.numbers, place, metrics)
        )
        session = create_client_session(settings)
        stack.push_async_callback(session.close)
        fetcher = RcmlFetcher.from_settings(session, settings)
        share = callback_share(settings, place)
        if share is not None:
            await stack.enter_async_context(
                _dispatching(settings, database, stores.callbacks, share, metrics)
            )
        engine = Engine(
            stores, recorder=recorder, resolver=resolver, fetcher=fetcher, metrics=metrics
        )
        yield Assembly(engine, database)


def _stores(database: Database) -> Stores:
    return Stores(
        accounts=AccountStore(database),
        numbers=NumberStore(database),
        inventory=InventoryStore(database),
        calls=CallStore(database),
        callbacks=CallbackStore(database),
    )


def _recorder(settings: Settings, stores: Stores) -> EventRecorder:
    """Records routed events, spooling them in the data directory while the database
    is unreachable."""
    journal = Journal(Path(settings.data_dir) / "spool", max_bytes=settings.spool_max_bytes)
    return EventRecorder(
        journal,
        stores.calls,
        stores.callbacks,
        replay_interval=settings.spool_replay_interval_seconds,
        unmatched_seconds=settings.spool_unmatched_status_seconds,
    )


@contextlib.asynccontextmanager
async def _fresh_resolver(
    settings: Settings,
    database: Database,
    numbers: NumberStore,
    place: WorkerPlace | None,
    metrics: Metrics,
) -> AsyncIterator[Resolver]:
    """The resolver, kept fresh by the numbers_changed notifications."""
    resolver = Resolver(
        numbers,
        default_region=settings.phone_default_region,
        cache_ttl=settings.cache_ttl_seconds,
        cache_size=settings.cache_max_size,
        match_timeout=settings.patterns_match_timeout_seconds,
        regex_budget_s=settings.patterns_regex_budget_seconds,
        regex_budget_window_s=settings.patterns_regex_budget_window_seconds,
    )
    if place is not None and place.known_numbers is not None:
        # Read by the supervisor before the fork and shared by every worker; this
        # worker only tops it up (its LISTEN started after that read).
        resolver.known = KnownNumbers(place.known_numbers)
    metrics.watch_resolver(resolver.stats)
    listener = Listener(
        database.dsn,
        "numbers_changed",
        lambda payload: apply_change_notice(resolver, payload),
        resolver.clear,
    )
    listener.start()
    stop = asyncio.Event()
    known = asyncio.create_task(
        keep_loaded(
            resolver.known,
            numbers.all_phone_numbers,
            stop,
            fingerprint=numbers.phone_numbers_fingerprint,
        ),
        name="known-numbers",
    )
    try:
        yield resolver
    finally:
        stop.set()
        await known
        await listener.stop()


@contextlib.asynccontextmanager
async def _dispatching(
    settings: Settings,
    database: Database,
    callbacks: CallbackStore,
    share: CallbackShare,
    metrics: Metrics,
) -> AsyncIterator[Dispatcher]:
    """The status callback dispatcher, woken by callbacks_ready notifications; on
    shutdown it finishes the deliveries in flight."""
    session = create_client_session(settings, limit_per_host=share.per_host_limit)
    dispatcher = Dispatcher(
        callbacks,
        session,
        RetryPolicy(
            max_attempts=settings.callbacks_max_attempts,
            base_delay=settings.callbacks_base_delay_seconds,
            max_delay=settings.callbacks_max_delay_seconds,
        ),
        deny_list=DenyList.from_settings(settings),
        concurrency=share.concurrency,
        per_host_limit=share.per_host_limit,
        lease_seconds=settings.callbacks_lease_seconds,
        poll_interval=settings.callbacks_poll_interval_seconds,
        timeout=settings.callbacks_timeout_seconds,
        on_verdict=lambda verdict: metrics.callback_deliveries.labels(verdict).inc(),
    )
    listener = Listener(
        database.dsn, "callbacks_ready", lambda _: dispatcher.wake(), dispatcher.wake
    )
    listener.start()
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        await listener.stop()
        await dispatcher.stop()
        await session.close()
