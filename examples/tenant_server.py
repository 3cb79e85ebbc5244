"""A tenant's web application for trying router out: serves RCML and receives status
callbacks on 127.0.0.1, printing every request it gets.

    python3 examples/tenant_server.py [PORT]      # default 9000

GET or POST /hello.xml, /sip.xml, /pattern.xml ... answer a small RCML document;
/fallback.xml answers one that says it is the fallback; /broken.xml answers 500;
/status (the StatusCallback) prints the callback's parameters.
"""

from __future__ import annotations

import sys

from aiohttp import web


async def _params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


async def rcml(request: web.Request) -> web.Response:
    params = await _params(request)
    print(f"RCML request {request.method} {request.path}: {params}", flush=True)
    if request.path == "/broken.xml":
        return web.Response(status=500, text="broken on purpose")
    who = "the fallback" if request.path == "/fallback.xml" else request.path
    document = f"<Response><Say>Hello from {who}, call {params.get('CallSid', '')}</Say></Response>"
    return web.Response(text=document, content_type="application/xml")


async def status(request: web.Request) -> web.Response:
    params = await _params(request)
    print(
        f"Status callback #{params.get('SequenceNumber')}: {params.get('CallStatus')}"
        f" at {params.get('Timestamp')} (delivery {request.headers.get('I-Router-Delivery-Id')})",
        flush=True,
    )
    return web.Response(text="ok")


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    app = web.Application()
    app.router.add_route("*", "/status", status)
    app.router.add_route("*", "/{name}.xml", rcml)
    web.run_app(app, host="127.0.0.1", port=port, print=lambda _: None)


if __name__ == "__main__":
    main()
