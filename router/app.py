"""Composition root: builds the aiohttp application from settings and a database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from router.api.client_address import ClientAddresses
from router.api.errors import error_middleware
from router.api.gateway import GatewayAuth
from router.api.keys import (
    ACCOUNTS,
    AUTH_THROTTLE,
    CALLBACKS,
    CALLS,
    CLIENT_ADDRESSES,
    DATABASE,
    FETCHER,
    GATEWAY,
    INVENTORY,
    METRICS,
    NUMBERS,
    ORGANIZATIONS,
    RECORDER,
    RESOLVER,
    SETTINGS,
)
from router.api.malformed_requests import MalformedRequestLog
from router.api.request_metrics import request_metrics_middleware
from router.api.routes import setup_routes
from router.auth_throttle import AuthThrottle
from router.bootstrap import GATEWAY_TOKEN_KEY
from router.config import Settings
from router.domain import Credentials
from router.errors import Unavailable
from router.known_numbers import KnownNumbers, keep_loaded
from router.metrics import Metrics
from router.organizations import OrganizationDirectory
from router.outbound import DenyList, create_client_session
from router.rcml import RcmlFetcher
from router.resolver import Resolver, apply_change_notice
from router.serve.placement import CallbackShare, WorkerPlace, callback_share
from router.spool.journal import Journal
from router.spool.recorder import EventRecorder
from router.store.accounts import AccountStore
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.listener import Listener
from router.store.numbers import InventoryStore, NumberStore
from router.store.postgres import Database
from router.webhooks.dispatcher import Dispatcher
from router.webhooks.retry import RetryPolicy

Context = Callable[[web.Application], AsyncIterator[None]]


def create_app(
    settings: Settings, *, database: Database | None = None, place: WorkerPlace | None = None
) -> web.Application:
    """The web application; opens (and later closes) its own pool unless given one.
    `place` says which worker of `router serve --workers N` this is."""
    metrics = Metrics()
    # Bodies are read with explicit per-route limits (api/params.py), so aiohttp's own
    # limit only needs to admit the largest form body.
    app = web.Application(
        middlewares=[request_metrics_middleware, error_middleware],
        client_max_size=1024**2,
        # Long request lines reach the app and get a proper error document; aiohttp's
        # parser would answer plain text past its 8 KiB default.
        handler_args={
            "max_line_size": 128 * 1024,
            "max_field_size": 16 * 1024,
            "logger": MalformedRequestLog(
                lambda kind: metrics.malformed_requests.labels(kind).inc()
            ),
        },
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[AUTH_THROTTLE] = AuthThrottle(
        max_per_address=settings.auth_max_failures_per_address,
        max_per_account=settings.auth_max_failures_per_account,
        window=settings.auth_failure_window_seconds,
        on_refused=lambda by: metrics.auth_throttled.labels(by).inc(),
    )
    app[CLIENT_ADDRESSES] = ClientAddresses(settings.auth_trusted_proxies)
    app.cleanup_ctx.append(_database_context(settings, database))
    app.cleanup_ctx.append(_routing_context(settings, place))
    app.cleanup_ctx.append(_outbound_context(settings))
    share = callback_share(settings, place)
    if share is not None:
        app.cleanup_ctx.append(_dispatcher_context(settings, share))
    app.cleanup_ctx.append(_metrics_context())
    setup_routes(app)
    return app


def _database_context(settings: Settings, given: Database | None) -> Context:
    async def context(app: web.Application) -> AsyncIterator[None]:
        database = given or await Database.connect(
            settings.database_url,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
        app[DATABASE] = database
        app[ACCOUNTS] = AccountStore(database)
        app[NUMBERS] = NumberStore(database)
        app[INVENTORY] = InventoryStore(database)
        app[CALLS] = CallStore(database)
        app[CALLBACKS] = CallbackStore(database)
        recorder = app[RECORDER] = _recorder(settings, app[CALLS], app[CALLBACKS])
        recorder.start()
        app[ORGANIZATIONS] = OrganizationDirectory(app[CALLS])
        app[GATEWAY] = GatewayAuth(settings.gateway_token, await _stored_gateway_token(app))
        watcher = _GatewayTokenWatcher(app)
        listener = Listener(database.dsn, "settings_changed", watcher.changed, watcher.reload)
        listener.start()
        yield
        await listener.stop()
        await watcher.stop()
        await recorder.stop()
        if given is None:
            await database.close()

    return context


def _recorder(settings: Settings, calls: CallStore, callbacks: CallbackStore) -> EventRecorder:
    """Records routed events, spooling them in the data directory while the database
    is unreachable."""
    journal = Journal(Path(settings.data_dir) / "spool", max_bytes=settings.spool_max_bytes)
    return EventRecorder(
        journal,
        calls,
        callbacks,
        replay_interval=settings.spool_replay_interval_seconds,
        unmatched_seconds=settings.spool_unmatched_status_seconds,
    )


async def _stored_gateway_token(app: web.Application) -> Credentials | None:
    stored = await app[ACCOUNTS].get_setting(GATEWAY_TOKEN_KEY)
    return Credentials(salt=stored[:16], digest=stored[16:]) if stored else None


class _GatewayTokenWatcher:
    """Re-reads the stored gateway token when a notification says it changed (or after
    the listener reconnects, when one may have been missed)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self, key: str) -> None:
        if key == GATEWAY_TOKEN_KEY:
            self.reload()

    def reload(self) -> None:
        task = asyncio.create_task(self._reload(), name="gateway-token-reload")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self) -> None:
        try:
            self._app[GATEWAY].replace_stored(await _stored_gateway_token(self._app))
        except Unavailable:
            return  # the listener reconnects and reloads once the database is back

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _routing_context(settings: Settings, place: WorkerPlace | None) -> Context:
    """The resolver, kept fresh by the numbers_changed notifications."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        resolver = Resolver(
            app[NUMBERS],
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
        app[RESOLVER] = resolver
        app[METRICS].watch_resolver(resolver.stats)
        listener = Listener(
            app[DATABASE].dsn,
            "numbers_changed",
            lambda payload: apply_change_notice(resolver, payload),
            resolver.clear,
        )
        listener.start()
        stop = asyncio.Event()
        known = asyncio.create_task(
            keep_loaded(
                resolver.known,
                app[NUMBERS].all_phone_numbers,
                stop,
                fingerprint=app[NUMBERS].phone_numbers_fingerprint,
            ),
            name="known-numbers",
        )
        yield
        stop.set()
        await known
        await listener.stop()

    return context


def _outbound_context(settings: Settings) -> Context:
    """One shared client session for every outbound request."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        session = create_client_session(settings)
        app[FETCHER] = RcmlFetcher.from_settings(session, settings)
        yield
        await session.close()

    return context


def _dispatcher_context(settings: Settings, share: CallbackShare) -> Context:
    """The status callback dispatcher, woken by callbacks_ready notifications; on
    shutdown it finishes the deliveries in flight."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        session = create_client_session(settings, limit_per_host=share.per_host_limit)
        dispatcher = Dispatcher(
            app[CALLBACKS],
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
            on_verdict=lambda verdict: app[METRICS].callback_deliveries.labels(verdict).inc(),
        )
        listener = Listener(
            app[DATABASE].dsn, "callbacks_ready", lambda _: dispatcher.wake(), dispatcher.wake
        )
        listener.start()
        dispatcher.start()
        yield
        await listener.stop()
        await dispatcher.stop()
        await session.close()

    return context


def _metrics_context(interval: float = 1.0) -> Context:
    """Copies read-only figures (resolver statistics, process CPU and memory) into the
    metrics now and then, so that a scrape answered by another worker sees this one's."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def refresh() -> None:
            while not stop.is_set():
                app[METRICS].refresh()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

        task = asyncio.create_task(refresh(), name="metrics-refresh")
        yield
        stop.set()
        await task

    return context
