"""Composition root: builds the aiohttp application from settings and a database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from router.api.client_address import ClientAddresses
from router.api.errors import error_middleware
from router.api.gateway import GatewayAuth
from router.api.keys import (
    AUTH_THROTTLE,
    CLIENT_ADDRESSES,
    ENGINE,
    GATEWAY,
    METRICS,
    READINESS,
    SETTINGS,
)
from router.api.malformed_requests import MalformedRequestLog
from router.api.request_metrics import request_metrics_middleware
from router.api.routes import setup_routes
from router.assembly import running
from router.auth_throttle import AuthThrottle
from router.bootstrap import GATEWAY_TOKEN_KEY
from router.config import Settings
from router.domain import Credentials
from router.errors import Unavailable
from router.metrics import Metrics
from router.serve.placement import WorkerPlace
from router.store.accounts import AccountStore
from router.store.listener import Listener
from router.store.postgres import Database

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
    app.cleanup_ctx.append(_engine_context(settings, database, place))
    app.cleanup_ctx.append(_metrics_context())
    setup_routes(app)
    return app


def _engine_context(
    settings: Settings, given: Database | None, place: WorkerPlace | None
) -> Context:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async with running(settings, database=given, place=place, metrics=app[METRICS]) as parts:
            app[ENGINE] = parts.engine
            app[READINESS] = parts.database.pending_migrations
            accounts = AccountStore(parts.database)
            app[GATEWAY] = GatewayAuth(
                settings.gateway_token, await _stored_gateway_token(accounts)
            )
            watcher = _GatewayTokenWatcher(app, accounts)
            listener = Listener(
                parts.database.dsn, "settings_changed", watcher.changed, watcher.reload
            )
            listener.start()
            try:
                yield
            finally:
                await listener.stop()
                await watcher.stop()

    return context


async def _stored_gateway_token(accounts: AccountStore) -> Credentials | None:
    stored = await accounts.get_setting(GATEWAY_TOKEN_KEY)
    return Credentials(salt=stored[:16], digest=stored[16:]) if stored else None


class _GatewayTokenWatcher:
    """Re-reads the stored gateway token when a notification says it changed (or after
    the listener reconnects, when one may have been missed)."""

    def __init__(self, app: web.Application, accounts: AccountStore) -> None:
        self._app = app
        self._accounts = accounts
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
            self._app[GATEWAY].replace_stored(await _stored_gateway_token(self._accounts))
        except Unavailable:
            return  # the listener reconnects and reloads once the database is back

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


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
