"""The OpenAPI document against the route table, and the reference page."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from router import config
from router.api.mounts import RESTCOMM_MOUNTS, TWILIO_MOUNT, Dialect
from router.api.openapi import document
from router.api.routes import DOCUMENTED_MOUNTS
from router.app import create_app

METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """(path template, method) of every route; `{name:regex}` written `{name}`, and the
    HEAD that aiohttp adds beside every GET left out."""
    found = set()
    for route in app.router.routes():
        if route.method not in METHODS:
            continue
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        found.add((re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template), route.method))
    return found


def documented(spec: dict[str, object]) -> set[tuple[str, str]]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return {
        (path, method.upper())
        for path, item in paths.items()
        for method in item
        if method.upper() in METHODS
    }


@pytest.fixture
def app() -> web.Application:
    return create_app(config.load(environ={}, overrides={"database_url": "postgresql://unused"}))


def test_document_and_route_table_agree(app: web.Application) -> None:
    """Every route is documented under every mount, and nothing else is."""
    table = routes_of(app)
    spec = document(DOCUMENTED_MOUNTS)
    assert documented(spec) == table
    assert len(table) > 100  # both mounts, .json variants and the /v1 routes are there
    assert (
        "/restcomm/2012-04-24/Accounts/{account_sid}/IncomingPhoneNumbers.json",
        "POST",
    ) in table


def test_a_route_missing_from_the_document_is_caught(app: web.Application) -> None:
    """The comparison fails when the table gains a route the document lacks."""

    async def undocumented(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/v1/undocumented", undocumented)
    missing = routes_of(app) - documented(document(DOCUMENTED_MOUNTS))
    assert missing == {("/v1/undocumented", "GET")}


def test_another_mount_is_one_more_prefix() -> None:
    spec = document({Dialect.RESTCOMM: (*RESTCOMM_MOUNTS, "/next"), Dialect.TWILIO: ()})
    paths = spec["paths"]
    assert isinstance(paths, dict)
    assert "post" in paths["/next/Accounts/{account_sid}/IncomingPhoneNumbers.json"]
    assert "/2012-04-24/Accounts/{sid}" in paths
    assert not any(path.startswith(TWILIO_MOUNT) for path in paths)


def test_each_mount_documents_its_own_rendering() -> None:
    """Restcomm creates answer 200 with Restcomm's keys, Twilio's 201 (SPEC 2.1, 9); only
    Restcomm mounts have Organizations, only Twilio's the AvailablePhoneNumbers list."""
    paths = document(DOCUMENTED_MOUNTS)["paths"]
    assert isinstance(paths, dict)
    restcomm = paths["/2012-04-24/Accounts/{account_sid}/IncomingPhoneNumbers.json"]["post"]
    twilio = paths["/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json"]["post"]
    assert set(restcomm["responses"]) >= {"200", "400", "401"}
    assert "201" not in restcomm["responses"]
    assert "201" in twilio["responses"]
    assert "/2010-04-01/Organizations" not in paths
    assert "/2012-04-24/Organizations" in paths
    assert "/2010-04-01/Accounts/{account_sid}/AvailablePhoneNumbers.json" in paths
    assert "/2012-04-24/Accounts/{account_sid}/AvailablePhoneNumbers.json" not in paths


def test_document_is_openapi_3_1_with_resolvable_references() -> None:
    spec = document(DOCUMENTED_MOUNTS)
    assert spec["openapi"] == "3.1.0"
    text = repr(spec)
    components = spec["components"]
    assert isinstance(components, dict)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in components["schemas"], name
    for path, item in spec["paths"].items():  # type: ignore[attr-defined]
        names = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert names == declared, path


async def test_openapi_json_and_docs_are_served(client: TestClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == document(DOCUMENTED_MOUNTS)
    page = await client.get("/docs")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert 'fetch("openapi.json")' in html
    # Offline: the page loads nothing from elsewhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script src" not in html
