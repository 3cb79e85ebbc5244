"""/openapi.json and /docs: the API reference, served from the package (works offline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources

import orjson
from aiohttp import web

from router.api.mounts import Dialect
from router.api.openapi import document


def add_reference_routes(
    router: web.UrlDispatcher, mounts: Mapping[Dialect, Sequence[str]]
) -> None:
    """Serve the document of the management API under ``mounts`` and the /v1 routes."""
    body = orjson.dumps(document(mounts))
    page = resources.files("router.api").joinpath("static/docs.html").read_bytes()

    async def openapi_json(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def docs_page(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    router.add_get("/openapi.json", openapi_json)
    router.add_get("/docs", docs_page)
