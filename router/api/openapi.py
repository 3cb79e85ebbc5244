"""The OpenAPI 3.1 document of every route, built from one description per resource.

Management resources are described once, relative to a mount point, and emitted under
each mount of the dialects they belong to (Restcomm's two, Twilio's, as the route table
registers them), with the `.json` variant where the route table has one; a new mount
is one more prefix. tests/api/test_openapi.py holds the document to the route table,
and schemathesis holds the server to the document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.api.mounts import Dialect
from router.api.openapi_schemas import SCHEMAS, Schema, ref
from router.version import version

JSON = "application/json"
XML = "application/xml"
FORM = "application/x-www-form-urlencoded"
KINDS = ("Local", "TollFree", "Mobile")
NUMBER_FIELDS = (
    "PhoneNumber",
    "FriendlyName",
    "VoiceUrl",
    "VoiceMethod",
    "VoiceFallbackUrl",
    "VoiceFallbackMethod",
    "StatusCallback",
    "StatusCallbackMethod",
    "VoiceCallerIdLookup",
    "VoiceApplicationSid",
    "SmsUrl",
    "SmsMethod",
    "SmsFallbackUrl",
    "SmsFallbackMethod",
    "SmsApplicationSid",
    "ReferUrl",
    "ReferMethod",
    "ReferApplicationSid",
    "AreaCode",
    "isSIP",
)
EVENT_FIELDS = (
    "From",
    "To",
    "DestinationOrganizationSid",
    "SourceOrganizationSid",
    "Domain",
    "SourceDomain",
    "CallSid",
    "SmsSid",
    "Body",
    "CallerName",
    "ForwardedFrom",
    "SipHeaders",
    "Direction",
)


@dataclass(frozen=True)
class Operation:
    """One method on one resource."""

    summary: str
    ok: int = 200
    result: str | None = None  # schema name of the success body; None: no body
    auth: str = "basic"  # basic, bearer, either, none
    query: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404, 413, 503)
    body_media: str = ""  # a non-form body (text/csv)
    results: dict[int, str] = field(default_factory=dict)  # other statuses with a body
    media: tuple[str, ...] = (JSON, XML)
    creates: bool = False  # Twilio's mount answers 201, Restcomm's 200 (SPEC 2.1)


@dataclass(frozen=True)
class Resource:
    """A path (relative to a mount for the Restcomm API) and its methods."""

    path: str
    methods: dict[str, Operation]
    tag: str
    json_suffix: bool = False  # also answers at path + ".json"
    dialects: tuple[Dialect, ...] = (Dialect.RESTCOMM, Dialect.TWILIO)


NOT_ALLOWED = Operation("Not supported here: always 405", ok=405, errors=(401, 403, 404))


def _number_list(what: str) -> Operation:
    return Operation(
        f"List {what}",
        result="IncomingPhoneNumberList",
        query=("PhoneNumber", "FriendlyName", "Beta", "Page", "PageSize", "SortBy", "Reverse"),
    )


def _provision(what: str) -> Operation:
    return Operation(
        f"Provision {what}",
        result="IncomingPhoneNumber",
        form=NUMBER_FIELDS,
        errors=_ALL_4XX,
        creates=True,
    )


_ALL_4XX = (400, 401, 403, 404, 409, 413, 503)
_UPDATE_NUMBER = Operation(
    "Update a number (only the given parameters change)",
    result="IncomingPhoneNumber",
    form=(*NUMBER_FIELDS, "AccountSid"),
    errors=_ALL_4XX,
)
_APPLICATION_FIELDS = ("FriendlyName", "RcmlUrl", "Kind", "VoiceCallerIdLookup")
_UPDATE_APPLICATION = Operation(
    "Update an application", result="Application", form=_APPLICATION_FIELDS
)
_UPDATE_ACCOUNT = Operation(
    "Update an account",
    result="Account",
    form=("FriendlyName", "Status", "AuthToken", "RotateAuthToken", "RotateSigningKey"),
    errors=_ALL_4XX,
)
_ACCOUNT = "/Accounts/{account_sid}"
_RESTCOMM_ONLY = (Dialect.RESTCOMM,)
_TWILIO_ONLY = (Dialect.TWILIO,)
_NUMBERS = _ACCOUNT + "/IncomingPhoneNumbers"

MANAGEMENT: tuple[Resource, ...] = (
    Resource(
        _NUMBERS + "/migrate",
        {
            "post": Operation(
                "Move an account tree's numbers to another organization (super admin)",
                result="Migration",
                form=("OrganizationSid",),
                errors=_ALL_4XX,
            ),
            "get": NOT_ALLOWED,
            "put": NOT_ALLOWED,
            "delete": NOT_ALLOWED,
        },
        "IncomingPhoneNumbers",
        json_suffix=True,
        dialects=_RESTCOMM_ONLY,
    ),
    Resource(
        _NUMBERS + "/AvailableCountries",
        {"get": Operation("Countries with free inventory", result="AvailableCountries")},
        "AvailablePhoneNumbers",
        json_suffix=True,
        dialects=_RESTCOMM_ONLY,
    ),
    Resource(
        _NUMBERS + "/{kind}",
        {
            "get": _number_list("numbers of one type"),
            "post": _provision("a number of this type"),
            "put": NOT_ALLOWED,
            "delete": NOT_ALLOWED,
        },
        "IncomingPhoneNumbers",
    ),
    Resource(
        _NUMBERS + "/{sid}",
        {
            "get": Operation("Fetch a number", result="IncomingPhoneNumber"),
            "post": _UPDATE_NUMBER,
            "put": _UPDATE_NUMBER,
            "delete": Operation("Release a number", ok=204),
        },
        "IncomingPhoneNumbers",
    ),
    Resource(
        _NUMBERS,
        {
            "get": _number_list("the account's numbers"),
            "post": _provision("a number"),
            "put": NOT_ALLOWED,
            "delete": NOT_ALLOWED,
        },
        "IncomingPhoneNumbers",
        json_suffix=True,
    ),
    Resource(
        _ACCOUNT + "/AvailablePhoneNumbers/{country}/{kind}",
        {
            "get": Operation(
                "Free inventory numbers",
                result="AvailablePhoneNumberList",
                query=("AreaCode", "Contains", "PageSize"),
            )
        },
        "AvailablePhoneNumbers",
    ),
    Resource(
        _ACCOUNT + "/AvailablePhoneNumbers/{country}",
        {"get": Operation("A country's number types (Twilio)", result="TwilioResource")},
        "AvailablePhoneNumbers",
        dialects=_TWILIO_ONLY,
    ),
    Resource(
        _ACCOUNT + "/AvailablePhoneNumbers",
        {"get": Operation("Countries with free inventory (Twilio)", result="TwilioResource")},
        "AvailablePhoneNumbers",
        json_suffix=True,
        dialects=_TWILIO_ONLY,
    ),
    Resource(
        _ACCOUNT + "/Applications/{sid}",
        {
            "get": Operation("Fetch an application", result="Application"),
            "post": _UPDATE_APPLICATION,
            "put": _UPDATE_APPLICATION,
            "delete": Operation("Delete an application", ok=204, errors=_ALL_4XX),
        },
        "Applications",
    ),
    Resource(
        _ACCOUNT + "/Applications",
        {
            "get": Operation("List applications", result="ApplicationList"),
            "post": Operation(
                "Create an application",
                result="Application",
                form=_APPLICATION_FIELDS,
                creates=True,
            ),
        },
        "Applications",
        json_suffix=True,
    ),
    Resource(
        "/Accounts/{sid}",
        {
            "get": Operation("Fetch an account", result="Account"),
            "post": _UPDATE_ACCOUNT,
            "put": _UPDATE_ACCOUNT,
        },
        "Accounts",
    ),
    Resource(
        "/Accounts",
        {
            "get": Operation("The caller's account and its sub-accounts", result="AccountList"),
            "post": Operation(
                "Create a sub-account",
                result="Account",
                form=("FriendlyName", "Role", "OrganizationSid"),
                errors=_ALL_4XX,
                creates=True,
            ),
        },
        "Accounts",
        json_suffix=True,
    ),
    Resource(
        "/Organizations/{sid}",
        {"get": Operation("Fetch an organization (super admin)", result="Organization")},
        "Organizations",
        dialects=_RESTCOMM_ONLY,
    ),
    Resource(
        "/Organizations",
        {
            "get": Operation("List organizations (super admin)", result="OrganizationList"),
            "post": Operation(
                "Create an organization (super admin)",
                result="Organization",
                form=("DomainName",),
                errors=_ALL_4XX,
            ),
        },
        "Organizations",
        json_suffix=True,
        dialects=_RESTCOMM_ONLY,
    ),
)

_GATEWAY_EVENT = {
    "post": Operation(
        "Routing decision for an inbound event (the gateway)",
        result="Decision",
        auth="bearer",
        query=("fetch",),
        form=EVENT_FIELDS,
        errors=(400, 401, 413, 503),
        results={403: "Decision", 404: "Decision", 502: "Decision"},
        media=(JSON,),
    )
}

V1: tuple[Resource, ...] = (
    Resource(
        "/v1/admin/inventory",
        {
            "post": Operation(
                "Load a CSV inventory file (super admin)",
                result="InventoryImport",
                body_media="text/csv",
                media=(JSON,),
            )
        },
        "Inventory",
    ),
    Resource("/v1/events/calls", _GATEWAY_EVENT, "Events"),
    Resource("/v1/events/messages", _GATEWAY_EVENT, "Events"),
    Resource("/v1/events/refers", _GATEWAY_EVENT, "Events"),
    Resource("/v1/events/ussd", _GATEWAY_EVENT, "Events"),
    Resource(
        "/v1/gateways/kannel/messages",
        {
            "post": Operation(
                "An MO SMS from Kannel's post-url (X-Kannel-From, X-Kannel-To, text body)",
                ok=202,
                auth="either",
                query=("id", "DestinationOrganizationSid", "Domain"),
                body_media="text/plain",
                errors=(400, 401, 413, 503),
                results={403: "Decision", 404: "Decision"},
                media=(JSON,),
            )
        },
        "Events",
    ),
    Resource(
        "/v1/routes/resolve",
        {
            "get": Operation(
                "How a number resolves, with every step tried; no side effects",
                result="Decision",
                auth="either",
                query=("To", "Channel", "DestinationOrganizationSid", "Domain", "From"),
                results={403: "Decision", 404: "Decision"},
                media=(JSON,),
            )
        },
        "Events",
    ),
    Resource(
        "/v1/events/calls/{call_sid}/status",
        {
            "post": Operation(
                "A call's status report; 202 once its status callback is queued",
                ok=202,
                result="StatusAccepted",
                auth="bearer",
                form=("CallStatus", "CallDuration", "OutboundCallSid", "ForwardedFrom"),
                errors=(400, 401, 404, 409, 413, 503),
                media=(JSON,),
            )
        },
        "Callbacks",
    ),
    Resource(
        "/v1/calls/{call_sid}/callbacks",
        {
            "get": Operation(
                "A call's status callbacks and their attempts",
                result="CallCallbacks",
                auth="either",
                media=(JSON,),
            )
        },
        "Callbacks",
    ),
    Resource(
        "/v1/callbacks/{callback_id}/retry",
        {
            "post": Operation(
                "Re-send a callback that gave up",
                ok=202,
                result="RetryAccepted",
                auth="either",
                errors=(401, 403, 404, 409, 503),
                media=(JSON,),
            )
        },
        "Callbacks",
    ),
    Resource(
        "/healthz",
        {
            "get": Operation(
                "Liveness and version", result="Health", auth="none", errors=(), media=(JSON,)
            )
        },
        "Operations",
    ),
    Resource(
        "/readyz",
        {
            "get": Operation(
                "Readiness: database reachable, migrations applied",
                result="Health",
                auth="none",
                errors=(),
                results={503: "Health"},
                media=(JSON,),
            )
        },
        "Operations",
    ),
    Resource(
        "/metrics",
        {"get": Operation("Prometheus metrics", auth="none", errors=(), media=("text/plain",))},
        "Operations",
    ),
    Resource(
        "/openapi.json",
        {"get": Operation("This document", auth="none", errors=(), media=(JSON,))},
        "Operations",
    ),
    Resource(
        "/docs",
        {"get": Operation("The API reference page", auth="none", errors=(), media=("text/html",))},
        "Operations",
    ),
)

_PATH_PARAMETERS: dict[str, Schema] = {
    "account_sid": {"type": "string", "description": "AC followed by 32 hex digits"},
    "sid": {"type": "string", "description": "the resource's sid; a .json suffix answers JSON"},
    "kind": {"type": "string", "enum": [k + s for k in KINDS for s in ("", ".json")]},
    "country": {"type": "string", "description": "ISO 3166 alpha-2, such as US"},
    "call_sid": {"type": "string", "description": "CA followed by 32 hex digits"},
    "callback_id": {"type": "string", "description": "a callback's id (digits)"},
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "basic": [{"basic": []}],
    "bearer": [{"gateway": []}],
    "either": [{"basic": []}, {"gateway": []}],
    "none": [],
}
_LIST_SCHEMAS = {
    "ApplicationList": "Application",
    "AccountList": "Account",
    "OrganizationList": "Organization",
}


def document(mounts: Mapping[Dialect, Sequence[str]]) -> dict[str, Any]:
    """The whole document: each management resource under the ``mounts`` of its
    dialects, then the /v1 and operations routes."""
    paths: dict[str, Any] = {}
    for dialect, prefixes in mounts.items():
        for mount in prefixes:
            for resource in MANAGEMENT:
                if dialect not in resource.dialects:
                    continue
                for path in _variants(mount + resource.path, resource.json_suffix):
                    paths[path] = _path_item(resource, path, dialect)
    for resource in V1:
        paths[resource.path] = _path_item(resource, resource.path, Dialect.RESTCOMM)
    schemas = {**SCHEMAS, **{name: _list(item) for name, item in _LIST_SCHEMAS.items()}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "router",
            "version": version(),
            "description": (
                "Inbound call and SMS routing with a Restcomm-compatible provisioning API. "
                "Restcomm routes answer JSON with a .json suffix or an Accept header "
                "naming JSON, XML otherwise; request bodies are forms or JSON."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "AccountSid:AuthToken"},
                "gateway": {"type": "http", "scheme": "bearer", "description": "gateway token"},
            },
        },
    }


def _variants(path: str, json_suffix: bool) -> Iterable[str]:
    return (path, path + ".json") if json_suffix else (path,)


def _list(item: str) -> Schema:
    return {"type": "array", "items": ref(item)}


def _path_item(resource: Resource, path: str, dialect: Dialect) -> dict[str, Any]:
    item: dict[str, Any] = {}
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    if names:
        item["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMETERS[name]}
            for name in names
        ]
    for method, operation in resource.methods.items():
        item[method] = _operation(operation, method, path, resource.tag, dialect)
    return item


def _operation(
    operation: Operation, method: str, path: str, tag: str, dialect: Dialect
) -> dict[str, Any]:
    media = (JSON,) if path.endswith(".json") else operation.media
    if dialect is Dialect.TWILIO:
        # Same handlers, Twilio's rendering (its keys and list envelopes, 201 on create).
        operation = dataclasses.replace(
            operation,
            ok=201 if operation.creates else operation.ok,
            result="TwilioResource" if operation.result else None,
        )
    body: dict[str, Any] = {
        "summary": operation.summary,
        "tags": [tag],
        "operationId": f"{method}{path}",
        "security": _SECURITY[operation.auth],
        "responses": _responses(operation, media),
    }
    if operation.query:
        body["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in operation.query
        ]
    if operation.form:
        fields = {"type": "object", "properties": {n: {"type": "string"} for n in operation.form}}
        body["requestBody"] = {
            "required": False,
            "content": {FORM: {"schema": fields}, JSON: {"schema": fields}},
        }
    elif operation.body_media:
        body["requestBody"] = {
            "required": True,
            "content": {operation.body_media: {"schema": {"type": "string"}}},
        }
    return body


def _responses(operation: Operation, media: Sequence[str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if operation.ok in (202, 204) and operation.result is None:
        responses[str(operation.ok)] = {"description": "done, no body"}
    elif operation.ok == 405:
        responses["405"] = _content("method not allowed", "Error", media)
    else:
        responses[str(operation.ok)] = _content("success", operation.result, media)
    for status, schema in operation.results.items():
        responses[str(status)] = _content("see the body", schema, media)
    for status in operation.errors:
        if str(status) not in responses:
            responses[str(status)] = _content("error", "Error", media)
    if 401 in operation.errors and operation.auth in ("basic", "either"):
        responses["429"] = {
            **_content("too many failed authentications (auth settings)", "Error", media),
            "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
        }
    return responses


def _content(description: str, schema: str | None, media: Sequence[str]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for kind in media:
        content[kind] = {"schema": ref(schema)} if schema and kind == JSON else {}
    return {"description": description, "content": content}
