"""Paging, filtering and sorting of the IncomingPhoneNumbers list (SPEC 2.1 "List"),
over 1,050 numbers of one account loaded in bulk (the LIST route is under test)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from router.domain import new_sid
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant

TOTAL = 1050
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    sid: str
    phone_number: str
    friendly_name: str
    index: int  # creation order


@pytest.fixture
async def rows(db: Database, tenant: Tenant) -> list[Row]:
    """1,050 SIP numbers of `tenant`, created one second apart, inserted in one statement.

    Phone numbers are a permutation of the creation order, and friendly names repeat
    every 100 numbers, so every sort order differs and FriendlyName has ties.
    """
    made = [
        Row(
            sid=new_sid("PN"),
            phone_number=f"+1510555{(i * 7919) % TOTAL:04d}",
            friendly_name=f"Line {i % 100:03d}",
            index=i,
        )
        for i in range(TOTAL)
    ]
    async with db.connection() as conn:
        await conn.execute(
            """
            INSERT INTO incoming_numbers (sid, account_sid, organization_sid, phone_number,
                friendly_name, api_version, number_type, pure_sip, date_created, date_updated)
            SELECT sid, $1, $2, phone, name, '2012-04-24', 'sip', true, created, created
              FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[])
                   AS t(sid, phone, name, created)
            """,
            tenant.sid,
            tenant.account.organization_sid,
            [r.sid for r in made],
            [r.phone_number for r in made],
            [r.friendly_name for r in made],
            [BASE_TIME + timedelta(seconds=r.index) for r in made],
        )
    return made


def list_path(tenant: Tenant, suffix: str = ".json") -> str:
    return f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers{suffix}"


async def get_json(
    client: TestClient, path: str, tenant: Tenant, params: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = await client.get(path, params=params, headers=tenant.auth)
    return response.status, await response.json()


def sids(body: dict[str, Any]) -> list[str]:
    return [n["sid"] for n in body["incomingPhoneNumbers"]]


def expected_order(rows: list[Row], sort_by: str | None, reverse: bool) -> list[str]:
    """The order SPEC 2.1 promises, computed in Python: sort key, then sid."""

    def key(r: Row) -> tuple[Any, str]:
        if sort_by == "PhoneNumber":
            return (r.phone_number, r.sid)
        if sort_by == "FriendlyName":
            return (r.friendly_name, r.sid)
        return (r.index, r.sid)

    return [r.sid for r in sorted(rows, key=key, reverse=reverse)]


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own server's answer, not untrusted input


def filter_regex(value: str) -> str:
    return "".join("[0-9]" if c == "*" else re.escape(c) for c in value)


async def walk(
    client: TestClient, tenant: Tenant, params: dict[str, str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every sid reached by following next_page_uri from the first page, and the pages."""
    status, body = await get_json(client, list_path(tenant), tenant, params)
    assert status == 200, body
    pages = [body]
    seen = sids(body)
    while body["next_page_uri"] is not None:
        assert "AfterSid=" in body["next_page_uri"]
        status, body = await get_json(client, body["next_page_uri"], tenant)
        assert status == 200, body
        pages.append(body)
        seen += sids(body)
    return seen, pages


async def test_bulk_loaded_numbers_are_all_listed(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """The fixture's 1,050 numbers are all listed under the tenant's account."""
    status, body = await get_json(client, list_path(tenant), tenant)
    assert status == 200
    assert body["total"] == TOTAL


async def test_first_page_has_the_default_size_and_full_envelope(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """Page 0 with the default PageSize 50 carries every envelope key with integer numbers."""
    status, body = await get_json(client, list_path(tenant), tenant, {"Page": "0"})
    assert status == 200
    assert list(body) == [
        "page",
        "num_pages",
        "page_size",
        "total",
        "start",
        "end",
        "uri",
        "first_page_uri",
        "previous_page_uri",
        "next_page_uri",
        "last_page_uri",
        "incomingPhoneNumbers",
    ]
    numbers = {k: body[k] for k in ("page", "num_pages", "page_size", "total", "start", "end")}
    assert numbers == {
        "page": 0,
        "num_pages": 21,
        "page_size": 50,
        "total": TOTAL,
        "start": 0,
        "end": 49,
    }
    assert all(type(v) is int for v in numbers.values())
    assert body["previous_page_uri"] is None
    assert body["uri"].startswith(list_path(tenant))
    first = parse_qs(urlsplit(body["first_page_uri"]).query)
    assert first["Page"] == ["0"]
    assert first["PageSize"] == ["50"]
    last = parse_qs(urlsplit(body["last_page_uri"]).query)
    assert last["Page"] == ["20"]
    assert last["PageSize"] == ["50"]
    following = parse_qs(urlsplit(body["next_page_uri"]).query)
    assert following["Page"] == ["1"]
    assert following["AfterSid"] == [sids(body)[-1]]
    assert urlsplit(body["next_page_uri"]).path == list_path(tenant)
    assert sids(body) == expected_order(rows, None, False)[:50]


async def test_middle_page_has_both_neighbours(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """A bare Page=7 returns items 350..399 with previous and next links."""
    status, body = await get_json(client, list_path(tenant), tenant, {"Page": "7"})
    assert status == 200
    assert (body["page"], body["start"], body["end"], body["num_pages"]) == (7, 350, 399, 21)
    assert sids(body) == expected_order(rows, None, False)[350:400]
    assert parse_qs(urlsplit(body["previous_page_uri"]).query)["Page"] == ["6"]
    assert parse_qs(urlsplit(body["next_page_uri"]).query)["Page"] == ["8"]


async def test_last_page_is_full_and_has_no_next_link(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """Page 20 holds the last 50 numbers; next_page_uri is JSON null."""
    status, body = await get_json(client, list_path(tenant), tenant, {"Page": "20"})
    assert status == 200
    assert (body["page"], body["start"], body["end"]) == (20, 1000, 1049)
    assert len(body["incomingPhoneNumbers"]) == 50
    assert body["next_page_uri"] is None
    assert sids(body) == expected_order(rows, None, False)[1000:]
    assert parse_qs(urlsplit(body["previous_page_uri"]).query)["Page"] == ["19"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"Page": "21"}, "Page"),
        ({"Page": "500"}, "Page"),
        ({"Page": "-1"}, "Page"),
        ({"Page": "one"}, "Page"),
        ({"PageSize": "1001"}, "PageSize"),
        ({"PageSize": "0"}, "PageSize"),
        ({"PageSize": "5", "Page": "210"}, "Page"),
        ({"AfterSid": "PN-not-a-sid"}, "AfterSid"),
        ({"SortBy": "DateUpdated"}, "SortBy"),
        ({"Reverse": "sometimes"}, "Reverse"),
        ({"Beta": "maybe"}, "Beta"),
    ],
)
async def test_bad_paging_parameters_are_rejected_naming_them(
    client: TestClient, tenant: Tenant, rows: list[Row], params: dict[str, str], param: str
) -> None:
    """Out-of-range pages, sizes and malformed list parameters answer 400 naming them."""
    status, body = await get_json(client, list_path(tenant), tenant, params)
    assert status == 400
    assert body["status"] == 400
    assert body["code"] == 21100
    assert param in body["message"]


async def test_page_size_1000_is_the_maximum(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """PageSize=1000 is accepted and yields two pages."""
    status, body = await get_json(client, list_path(tenant), tenant, {"PageSize": "1000"})
    assert status == 200
    assert (body["page_size"], body["num_pages"], body["end"]) == (1000, 2, 999)
    assert len(body["incomingPhoneNumbers"]) == 1000


@pytest.mark.parametrize(
    ("sort_by", "reverse", "page_size"),
    [
        (None, False, 50),
        (None, True, 150),
        ("PhoneNumber", False, 150),
        ("PhoneNumber", True, 150),
        ("FriendlyName", False, 150),
        ("FriendlyName", True, 77),
    ],
)
async def test_following_next_links_visits_every_number_once_in_order(
    client: TestClient,
    tenant: Tenant,
    rows: list[Row],
    sort_by: str | None,
    reverse: bool,
    page_size: int,
) -> None:
    """Walking next_page_uri (keyset AfterSid) yields every number exactly once, sorted."""
    params = {"PageSize": str(page_size)}
    if sort_by:
        params["SortBy"] = sort_by
    if reverse:
        params["Reverse"] = "true"
    seen, pages = await walk(client, tenant, params)
    assert seen == expected_order(rows, sort_by, reverse)
    assert len(pages) == -(-TOTAL // page_size)
    assert [p["page"] for p in pages] == list(range(len(pages)))
    assert pages[-1]["next_page_uri"] is None
    for page in pages[1:]:
        query = parse_qs(urlsplit(page["uri"]).query)
        assert query.get("SortBy") == ([sort_by] if sort_by else None)
        assert query.get("Reverse") == (["true"] if reverse else None)


@pytest.mark.parametrize(
    ("sort_by", "reverse"),
    [("PhoneNumber", False), ("PhoneNumber", True), ("FriendlyName", False), (None, True)],
)
async def test_sorting_of_a_bare_page_matches_python_sorting(
    client: TestClient, tenant: Tenant, rows: list[Row], sort_by: str | None, reverse: bool
) -> None:
    """SortBy and Reverse order a bare Page=3 as the Python-sorted expectation."""
    params = {"Page": "3", "PageSize": "100"}
    if sort_by:
        params["SortBy"] = sort_by
    if reverse:
        params["Reverse"] = "true"
    status, body = await get_json(client, list_path(tenant), tenant, params)
    assert status == 200
    assert sids(body) == expected_order(rows, sort_by, reverse)[300:400]


@pytest.mark.parametrize(
    "phone_filter",
    ["+1510555000", "5550001", "5551*4*", "555*0*9", "0555***7", "*", "9999", "+15105551049"],
)
async def test_phone_number_filter_is_a_substring_with_one_digit_wildcards(
    client: TestClient, tenant: Tenant, rows: list[Row], phone_filter: str
) -> None:
    """PhoneNumber matches as a substring, `*` standing for exactly one digit."""
    wanted = [
        r.sid for r in rows if re.search(filter_regex(phone_filter), r.phone_number) is not None
    ]
    status, body = await get_json(
        client, list_path(tenant), tenant, {"PhoneNumber": phone_filter, "PageSize": "1000"}
    )
    assert status == 200
    assert body["total"] == len(wanted)
    assert sids(body) == wanted[:1000]


async def test_wildcard_stands_for_exactly_one_digit(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """`0555*049` matches +15105550049 and +15105551049: `*` is one digit, never zero or two."""
    status, body = await get_json(
        client, list_path(tenant), tenant, {"PhoneNumber": "0555*049", "PageSize": "1000"}
    )
    assert status == 200
    phones = sorted(n["phone_number"] for n in body["incomingPhoneNumbers"])
    assert phones == ["+15105550049", "+15105551049"]


@pytest.mark.parametrize(("name", "count"), [("Line 007", 11), ("Line 07", 0), ("line 007", 0)])
async def test_friendly_name_filter_is_exact(
    client: TestClient, tenant: Tenant, rows: list[Row], name: str, count: int
) -> None:
    """FriendlyName matches the whole name exactly, case included."""
    status, body = await get_json(client, list_path(tenant), tenant, {"FriendlyName": name})
    assert status == 200
    assert body["total"] == count
    assert all(n["friendly_name"] == name for n in body["incomingPhoneNumbers"])


@pytest.mark.parametrize("beta", ["true", "false", "TRUE"])
async def test_beta_is_accepted_and_every_number_is_non_beta(
    client: TestClient, tenant: Tenant, rows: list[Row], beta: str
) -> None:
    """Beta=true/false is accepted and changes nothing: every number counts as non-beta."""
    status, body = await get_json(client, list_path(tenant), tenant, {"Beta": beta})
    assert status == 200
    assert body["total"] == TOTAL


async def test_filters_combine_with_paging_and_next_links_keep_them(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """total counts the filter's matches; walking next_page_uri keeps the filters."""
    matching = sorted(
        (r for r in rows if r.phone_number.startswith("+151055501")),
        key=lambda r: (r.phone_number, r.sid),
    )
    params = {"PhoneNumber": "+151055501", "SortBy": "PhoneNumber", "PageSize": "7"}
    status, first = await get_json(client, list_path(tenant), tenant, params)
    assert status == 200
    assert first["total"] == len(matching) == 100
    assert first["num_pages"] == 15
    query = parse_qs(urlsplit(first["next_page_uri"]).query)
    assert query["PhoneNumber"] == ["+151055501"]
    assert query["SortBy"] == ["PhoneNumber"]
    assert query["PageSize"] == ["7"]
    seen, pages = await walk(client, tenant, params)
    assert seen == [r.sid for r in matching]
    assert {p["total"] for p in pages} == {100}
    assert pages[-1]["end"] == 99


async def test_two_filters_apply_together(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """PhoneNumber and FriendlyName together keep only the numbers matching both."""
    both = [r.sid for r in rows if "55500" in r.phone_number and r.friendly_name == "Line 012"]
    assert len(both) == 2  # fixed by the fixture's permutation
    status, body = await get_json(
        client, list_path(tenant), tenant, {"PhoneNumber": "55500", "FriendlyName": "Line 012"}
    )
    assert status == 200
    assert body["total"] == 2
    assert sids(body) == both


async def test_xml_list_carries_paging_attributes(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """The XML list puts the paging envelope as attributes of <IncomingPhoneNumbers>."""
    response = await client.get(list_path(tenant, ""), params={"Page": "1"}, headers=tenant.auth)
    assert response.status == 200
    assert response.content_type == "application/xml"
    root = parse_xml(await response.text())
    assert root.tag == "RestcommResponse"
    listing = root.find("IncomingPhoneNumbers")
    assert listing is not None
    attrs = listing.attrib
    assert (attrs["page"], attrs["numpages"], attrs["pagesize"], attrs["total"]) == (
        "1",
        "21",
        "50",
        "1050",
    )
    assert (attrs["start"], attrs["end"]) == ("50", "99")
    for link in ("firstpageuri", "previouspageuri", "nextpageuri", "lastpageuri", "uri"):
        assert attrs[link].startswith(list_path(tenant, ""))
    items = listing.findall("IncomingPhoneNumber")
    assert [i.findtext("Sid") for i in items] == expected_order(rows, None, False)[50:100]


async def test_xml_first_page_has_empty_previous_link(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """An absent link is an empty attribute in XML."""
    response = await client.get(list_path(tenant, ""), headers=tenant.auth)
    listing = parse_xml(await response.text()).find("IncomingPhoneNumbers")
    assert listing is not None
    assert listing.attrib["previouspageuri"] == ""
    assert listing.attrib["page"] == "0"


async def test_deleted_after_sid_anchor_falls_back_to_the_page_number(
    client: TestClient, db: Database, tenant: Tenant, rows: list[Row]
) -> None:
    """A next link whose AfterSid number was deleted still answers 200 with later numbers."""
    status, first = await get_json(client, list_path(tenant), tenant)
    assert status == 200
    anchor = sids(first)[-1]
    deleted = await client.delete(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers/{anchor}.json",
        headers=tenant.auth,
    )
    assert deleted.status == 204
    status, second = await get_json(client, first["next_page_uri"], tenant)
    assert status == 200
    assert second["page"] == 1
    assert second["total"] == TOTAL - 1
    order = expected_order(rows, None, False)
    assert len(sids(second)) == 50
    assert not set(sids(second)) & set(sids(first))
    positions = [order.index(s) for s in sids(second)]
    assert positions == sorted(positions)
    assert positions[0] > order.index(anchor)


async def test_unknown_after_sid_falls_back_to_the_page_number(
    client: TestClient, tenant: Tenant, rows: list[Row]
) -> None:
    """A well-formed AfterSid that names no number of this account is ignored (offset paging)."""
    status, body = await get_json(
        client, list_path(tenant), tenant, {"Page": "2", "AfterSid": new_sid("PN")}
    )
    assert status == 200
    assert sids(body) == expected_order(rows, None, False)[100:150]


async def test_after_sid_of_another_account_does_not_leak_its_position(
    client: TestClient, tenant: Tenant, make_account: MakeAccount, rows: list[Row]
) -> None:
    """Another account sees none of these numbers, whatever AfterSid it sends."""
    other = await make_account()
    status, body = await get_json(client, list_path(other), other, {"AfterSid": rows[500].sid})
    assert status == 200
    assert body["total"] == 0
    assert body["incomingPhoneNumbers"] == []
    assert (body["num_pages"], body["next_page_uri"], body["previous_page_uri"]) == (1, None, None)
