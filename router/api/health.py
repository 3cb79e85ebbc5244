"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from router.api.formats import json_response
from router.api.keys import DATABASE
from router.errors import Unavailable


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and every migration is applied."""
    try:
        pending = await request.app[DATABASE].pending_migrations()
    except Unavailable:
        return json_response({"status": "database unavailable"}, status=503)
    if pending:
        return json_response({"status": "migrations pending", "pending": pending}, status=503)
    return json_response({"status": "ready"})
