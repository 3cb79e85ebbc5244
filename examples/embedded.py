"""router inside your own asyncio program: no HTTP server, no gateway hop.

    python3 examples/embedded.py

Opens the engine from the same settings as `router serve` (config/router.toml,
ROUTER_* variables; with no ROUTER_DATABASE_URL, the embedded PostgreSQL in
ROUTER_DATA_DIR, ./.router by default), provisions a SIP number and a pattern for the
super admin, routes a call (matched by the pattern) and a message (matched exactly),
reports the call's statuses, and prints one line per answer. It releases what it
provisioned, so it can run again.

The events ask for the decision only (fetch_rcml=False): the tenant URLs below are
examples/tenant_server.py's; start it and drop fetch_rcml=False to have the engine
fetch the RCML too, with its fallback, signed like every webhook.
"""

from __future__ import annotations

import asyncio

import router

TENANT = "http://127.0.0.1:9000"


async def main() -> None:
    settings = router.config.load()
    async with router.open(settings) as engine:
        admin = await engine.super_admin()
        here = router.OrganizationNames(destination_sid=admin.organization_sid)
        number = await engine.numbers.provision(
            admin, _sip_number("+15550100", sms_url=f"{TENANT}/sms.xml")
        )
        pattern = await engine.numbers.provision(
            admin, _sip_number(r"\+1555[0-9]{4}99", voice_url=f"{TENANT}/pattern.xml")
        )
        try:
            call = await engine.route_call(
                router.CallEvent(
                    from_number="+15559990000",
                    to="+1555123499",
                    organizations=here,
                    fetch_rcml=False,
                )
            )
            _print("call", call)
            message = await engine.route_message(
                router.MessageEvent(
                    from_number="+15559990000",
                    to="+15550100",
                    body="hello",
                    organizations=here,
                    fetch_rcml=False,
                )
            )
            _print("message", message)
            for status in (router.CallStatus.IN_PROGRESS, router.CallStatus.COMPLETED):
                accepted = await engine.report_call_status(router.StatusEvent(call.sid, status))
                print(f"status {accepted.call_sid} {accepted.status.value}: accepted")
        finally:
            await engine.numbers.release(admin, number.sid)
            await engine.numbers.release(admin, pattern.sid)


def _sip_number(
    phone_number: str, *, voice_url: str | None = None, sms_url: str | None = None
) -> router.NumberRequest:
    """A SIP number (or pattern) of the caller's organization, with its URLs."""
    settings = {"voice_url": voice_url, "sms_url": sms_url}
    return router.NumberRequest(
        phone_number=phone_number,
        area_code=None,
        pure_sip=True,
        number_type=None,
        settings={name: url for name, url in settings.items() if url},
    )


def _print(kind: str, answer: router.RoutingAnswer) -> None:
    how = f" by {answer.match.how} {answer.match.pattern or answer.match.spelling}"
    target = f" -> {answer.target.url}" if answer.target else ""
    print(f"{kind} {answer.sid}: {answer.outcome.value}{how if answer.match else ''}{target}")


if __name__ == "__main__":
    asyncio.run(main())
