"""The route table: both mount points, with and without the .json suffix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from router.api import (
    accounts,
    applications,
    callbacks,
    events,
    health,
    inventory,
    kannel,
    numbers,
)
from router.api.mounts import RESTCOMM_MOUNTS, TWILIO_MOUNT, Dialect
from router.api.reference import add_reference_routes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BOTH = (*RESTCOMM_MOUNTS, TWILIO_MOUNT)
# What /openapi.json documents: each dialect's resources under its mounts.
DOCUMENTED_MOUNTS = {Dialect.RESTCOMM: RESTCOMM_MOUNTS, Dialect.TWILIO: (TWILIO_MOUNT,)}
TYPES = "{kind:(?:Local|TollFree|Mobile)(?:\\.json)?}"


def _api(
    router: web.UrlDispatcher,
    path: str,
    methods: dict[str, Handler],
    mounts: tuple[str, ...] = BOTH,
) -> None:
    """Register path (and path.json when it ends in a fixed segment) under the mounts:
    Restcomm's two and Twilio's, unless the resource is one mount's own."""
    variants = [path] if path.endswith("}") else [path, path + ".json"]
    for mount in mounts:
        for variant in variants:
            resource = router.add_resource(mount + variant)
            for method, handler in methods.items():
                resource.add_route(method, handler)


def setup_routes(app: web.Application) -> None:
    r = app.router
    acc = "/Accounts/{account_sid}"
    nums = acc + "/IncomingPhoneNumbers"
    _api(
        r,
        nums + "/migrate",
        {
            "POST": numbers.migrate_numbers,
            "PUT": numbers.not_allowed,
            "DELETE": numbers.not_allowed,
            "GET": numbers.not_allowed,
        },
        RESTCOMM_MOUNTS,
    )
    _api(r, nums + "/AvailableCountries", {"GET": inventory.available_countries}, RESTCOMM_MOUNTS)
    _api(
        r,
        nums + "/" + TYPES,
        {
            "GET": numbers.list_numbers,
            "POST": numbers.create_number,
            "PUT": numbers.not_allowed,
            "DELETE": numbers.not_allowed,
        },
    )
    _api(
        r,
        nums + "/{sid}",
        {
            "GET": numbers.get_number,
            "POST": numbers.update_number,
            "PUT": numbers.update_number,
            "DELETE": numbers.delete_number,
        },
    )
    _api(
        r,
        nums,
        {
            "GET": numbers.list_numbers,
            "POST": numbers.create_number,
            "PUT": numbers.not_allowed,
            "DELETE": numbers.not_allowed,
        },
    )
    _api(r, acc + "/AvailablePhoneNumbers/{country}/" + TYPES, {"GET": inventory.available_numbers})
    # Twilio's country list and country resource (SPEC 9).
    twilio_only = (TWILIO_MOUNT,)
    _api(r, acc + "/AvailablePhoneNumbers/{country}", {"GET": inventory.country}, twilio_only)
    _api(r, acc + "/AvailablePhoneNumbers", {"GET": inventory.countries}, twilio_only)
    _api(
        r,
        acc + "/Applications/{sid}",
        {
            "GET": applications.get_application,
            "POST": applications.update_application,
            "PUT": applications.update_application,
            "DELETE": applications.delete_application,
        },
    )
    _api(
        r,
        acc + "/Applications",
        {
            "GET": applications.list_applications,
            "POST": applications.create_application,
        },
    )
    _api(
        r,
        "/Accounts/{sid}",
        {
            "GET": accounts.get_account,
            "POST": accounts.update_account,
            "PUT": accounts.update_account,
        },
    )
    _api(r, "/Accounts", {"GET": accounts.list_accounts, "POST": accounts.create_account})
    _api(r, "/Organizations/{sid}", {"GET": accounts.get_organization}, RESTCOMM_MOUNTS)
    _api(
        r,
        "/Organizations",
        {
            "GET": accounts.list_organizations,
            "POST": accounts.create_organization,
        },
        RESTCOMM_MOUNTS,
    )
    r.add_post("/v1/admin/inventory", inventory.import_inventory_route)
    r.add_get("/healthz", health.healthz)
    r.add_get("/readyz", health.readyz)
    r.add_get("/metrics", health.metrics)
    add_reference_routes(r, DOCUMENTED_MOUNTS)
    setup_event_routes(app)


def setup_event_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/events/calls", events.call_event)
    r.add_post("/v1/events/messages", events.message_event)
    r.add_post("/v1/events/refers", events.refer_event)
    r.add_post("/v1/events/ussd", events.ussd_event)
    r.add_post("/v1/gateways/kannel/messages", kannel.kannel_message)
    r.add_get("/v1/routes/resolve", events.resolve_route)
    r.add_post("/v1/events/calls/{call_sid}/status", callbacks.status_event)
    r.add_get("/v1/calls/{call_sid}/callbacks", callbacks.list_callbacks)
    r.add_post("/v1/callbacks/{callback_id}/retry", callbacks.retry_callback)
