"""Composition root: builds the aiohttp application from settings and a database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from router.api.errors import error_middleware
from router.api.keys import ACCOUNTS, DATABASE, INVENTORY, NUMBERS, SETTINGS
from router.api.routes import setup_routes
from router.config import Settings
from router.store.accounts import AccountStore
from router.store.numbers import InventoryStore, NumberStore
from router.store.postgres import Database


def create_app(settings: Settings, *, database: Database | None = None) -> web.Application:
    """The web application; opens (and later closes) its own pool unless given one."""
    # Bodies are read with explicit per-route limits (api/params.py), so aiohttp's own
    # limit only needs to admit the largest route's (the inventory import).
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_database_context(settings, database))
    setup_routes(app)
    return app


def _database_context(
    settings: Settings, given: Database | None
) -> Callable[[web.Application], AsyncIterator[None]]:
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
        yield
        if given is None:
            await database.close()

    return context
