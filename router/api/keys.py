"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from router.config import Settings
from router.store.accounts import AccountStore
from router.store.numbers import InventoryStore, NumberStore
from router.store.postgres import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACCOUNTS = web.AppKey("accounts", AccountStore)
NUMBERS = web.AppKey("numbers", NumberStore)
INVENTORY = web.AppKey("inventory", InventoryStore)
