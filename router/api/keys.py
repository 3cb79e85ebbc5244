"""Typed keys for what the application holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from router.api.client_address import ClientAddresses
from router.api.gateway import GatewayAuth
from router.auth_throttle import AuthThrottle
from router.config import Settings
from router.engine.engine import Engine
from router.metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
GATEWAY = web.AppKey("gateway", GatewayAuth)
METRICS = web.AppKey("metrics", Metrics)
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
CLIENT_ADDRESSES = web.AppKey("client_addresses", ClientAddresses)
# The names of the migrations not yet applied (readiness, SPEC 7).
READINESS: web.AppKey[Callable[[], Awaitable[list[str]]]] = web.AppKey("readiness")
