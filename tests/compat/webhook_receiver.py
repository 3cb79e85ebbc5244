"""A loopback web application that records every webhook router sends it, with the
full URL as requested, for signature checks by Twilio's own validator. Paths under
/error answer 500; the others a document that says the path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    url: str
    form: dict[str, str]
    signature: str


@dataclass
class Receiver:
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        signature = request.headers.get("X-Twilio-Signature", "")
        self.hits.append(Hit(request.method, request.path, url, form, signature))
        self.arrived.set()
        if request.path.startswith("/error"):
            return web.Response(status=500, text="boom")
        return web.Response(
            text=f"<Response><Say>{request.path}</Say></Response>", content_type="text/xml"
        )

    async def wait_for(self, path: str) -> Hit:
        """The first request to `path`, waiting for it (at most 15 s)."""

        async def first() -> Hit:
            while True:
                found = [h for h in self.hits if h.path == path]
                if found:
                    return found[0]
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(first(), 15)


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A Receiver on 127.0.0.1 at a free port until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.port = server.port or 0
    try:
        yield receiver
    finally:
        await server.close()
