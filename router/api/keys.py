"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from router.api.client_address import ClientAddresses
from router.api.gateway import GatewayAuth
from router.auth_throttle import AuthThrottle
from router.config import Settings
from router.metrics import Metrics
from router.organizations import OrganizationDirectory
from router.rcml import RcmlFetcher
from router.resolver import Resolver
from router.spool.recorder import EventRecorder
from router.store.accounts import AccountStore
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.numbers import InventoryStore, NumberStore
from router.store.postgres import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACCOUNTS = web.AppKey("accounts", AccountStore)
NUMBERS = web.AppKey("numbers", NumberStore)
INVENTORY = web.AppKey("inventory", InventoryStore)
RESOLVER = web.AppKey("resolver", Resolver)
CALLS = web.AppKey("calls", CallStore)
FETCHER = web.AppKey("fetcher", RcmlFetcher)
GATEWAY = web.AppKey("gateway", GatewayAuth)
ORGANIZATIONS = web.AppKey("organizations", OrganizationDirectory)
CALLBACKS = web.AppKey("callbacks", CallbackStore)
RECORDER = web.AppKey("recorder", EventRecorder)
METRICS = web.AppKey("metrics", Metrics)
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
CLIENT_ADDRESSES = web.AppKey("client_addresses", ClientAddresses)
