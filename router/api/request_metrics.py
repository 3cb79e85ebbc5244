"""Count and time every HTTP request by route template, method and status."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from router.api.keys import METRICS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: sees the status the error middleware rendered."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:  # redirects, which the error middleware re-raises
        status = error.status
        raise
    finally:
        request.app[METRICS].observe_http(
            _route(request), request.method, status, time.perf_counter() - started
        )


def _route(request: web.Request) -> str:
    # The template, never the path: sids in paths would make a series per call.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
