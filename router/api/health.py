"""Liveness and readiness."""

from __future__ import annotations

import contextlib

from aiohttp import web

from router.api.formats import json_response
from router.api.keys import ENGINE, METRICS, READINESS
from router.errors import Unavailable
from router.metrics import CONTENT_TYPE
from router.version import version

VERSION = version()


async def healthz(request: web.Request) -> web.Response:
    """Alive, and which version (a rolling upgrade can tell old instances from new)."""
    return json_response({"status": "ok", "version": VERSION})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and every migration is applied."""
    try:
        pending = await request.app[READINESS]()
    except Unavailable:
        return json_response({"status": "database unavailable"}, status=503)
    if pending:
        return json_response({"status": "migrations pending", "pending": pending}, status=503)
    return json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; the queue depth is read from the database at each scrape."""
    instruments = request.app[METRICS]
    # While the database is down the other metrics still help.
    with contextlib.suppress(Unavailable):
        instruments.callbacks_pending.set(await request.app[ENGINE].pending_callbacks())
    return web.Response(body=instruments.render(), headers={"Content-Type": CONTENT_TYPE})
