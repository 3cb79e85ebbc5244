"""The operator's inventory: AvailablePhoneNumbers (SPEC 2.1), the admin import route
and the `router inventory import` command."""

from __future__ import annotations

import asyncio
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.domain import NumberType
from router.store.inventory import InventoryStore
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant

API = "/2012-04-24"
AddInventory = Callable[..., Awaitable[None]]


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own server's answer, not untrusted input


def available_path(account_sid: str, country: str, kind: str, suffix: str = ".json") -> str:
    return f"{API}/Accounts/{account_sid}/AvailablePhoneNumbers/{country}/{kind}{suffix}"


def assert_error(body: Any, status: int, code: int, param: str | None = None) -> None:
    assert (body["status"], body["code"]) == (status, code), body
    assert body["more_info"]
    if param:
        assert param in body["message"]


@pytest.fixture
async def stocked(client: TestClient, tenant: Tenant, add_inventory: AddInventory) -> None:
    """US local numbers in two area codes (one of them taken), toll-free, mobile and GB."""
    await add_inventory("+15105550100", "+15105550101", "+15105550199", area_code="510")
    await add_inventory("+14155550100", area_code="415")
    await add_inventory("+18005550100", number_type="tollfree", area_code="800")
    await add_inventory("+15105550500", number_type="mobile", area_code="510")
    await add_inventory("+442079460000", area_code="20", country="GB")
    response = await client.post(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "+15105550101"},
        headers=tenant.auth,
    )
    assert response.status == 200


async def available(
    client: TestClient, tenant: Tenant, country: str, kind: str, **query: str
) -> list[str]:
    response = await client.get(
        available_path(tenant.sid, country, kind), params=query, headers=tenant.auth
    )
    body = await response.json()
    assert response.status == 200, body
    return [n["phone_number"] for n in body["available_phone_numbers"]]


@pytest.mark.parametrize(
    ("country", "kind", "expected"),
    [
        ("US", "Local", ["+14155550100", "+15105550100", "+15105550199"]),
        ("US", "TollFree", ["+18005550100"]),
        ("US", "Mobile", ["+15105550500"]),
        ("GB", "Local", ["+442079460000"]),
        ("us", "Local", ["+14155550100", "+15105550100", "+15105550199"]),
        ("GB", "TollFree", []),
        ("FR", "Local", []),
    ],
)
async def test_lists_only_free_numbers_of_that_country_and_type(
    client: TestClient, tenant: Tenant, stocked: None, country: str, kind: str, expected: list[str]
) -> None:
    """Each route lists the unassigned inventory of its country and type, ordered."""
    assert await available(client, tenant, country, kind) == expected


async def test_items_carry_the_number_details(
    client: TestClient, tenant: Tenant, stocked: None
) -> None:
    """An available number shows its friendly form, area code, country and type."""
    response = await client.get(available_path(tenant.sid, "US", "TollFree"), headers=tenant.auth)
    body = await response.json()
    assert body["uri"] == available_path(tenant.sid, "US", "TollFree")
    assert body["available_phone_numbers"] == [
        {
            "friendly_name": "(800) 555-0100",
            "phone_number": "+18005550100",
            "area_code": "800",
            "iso_country": "US",
            "number_type": "tollfree",
        }
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"AreaCode": "510"}, ["+15105550100", "+15105550199"]),
        ({"AreaCode": "415"}, ["+14155550100"]),
        ({"AreaCode": "999"}, []),
        ({"Contains": "0199"}, ["+15105550199"]),
        ({"Contains": "55501*0"}, ["+14155550100", "+15105550100"]),
        ({"Contains": "5550*99"}, ["+15105550199"]),
        ({"Contains": "5551*99"}, []),
        ({"Contains": "+1415"}, ["+14155550100"]),
        ({"AreaCode": "510", "Contains": "55501*0"}, ["+15105550100"]),
        ({"PageSize": "2"}, ["+14155550100", "+15105550100"]),
    ],
)
async def test_area_code_and_contains_filter(
    client: TestClient,
    tenant: Tenant,
    stocked: None,
    query: dict[str, str],
    expected: list[str],
) -> None:
    """AreaCode matches exactly; Contains is a substring where `*` is one digit."""
    assert await available(client, tenant, "US", "Local", **query) == expected


@pytest.mark.parametrize(
    ("country", "query", "param"),
    [
        ("USA", {}, "Country"),
        ("U", {}, "Country"),
        ("1X", {}, "Country"),
        ("US", {"AreaCode": "five"}, "AreaCode"),
        ("US", {"Contains": "abc"}, "Contains"),
        ("US", {"PageSize": "0"}, "PageSize"),
    ],
)
async def test_bad_country_or_filter_is_400(
    client: TestClient, tenant: Tenant, country: str, query: dict[str, str], param: str
) -> None:
    """A malformed Country, AreaCode, Contains or PageSize answers 400 naming it."""
    response = await client.get(
        available_path(tenant.sid, country, "Local"), params=query, headers=tenant.auth
    )
    assert response.status == 400
    assert_error(await response.json(), 400, 21100, param)


async def test_available_numbers_as_xml(client: TestClient, tenant: Tenant, stocked: None) -> None:
    """Without .json the list is XML: <AvailablePhoneNumbers><AvailablePhoneNumber>."""
    response = await client.get(available_path(tenant.sid, "US", "Mobile", ""), headers=tenant.auth)
    assert response.status == 200
    listing = parse_xml(await response.text()).find("AvailablePhoneNumbers")
    assert listing is not None
    items = listing.findall("AvailablePhoneNumber")
    assert [i.findtext("PhoneNumber") for i in items] == ["+15105550500"]
    assert items[0].findtext("IsoCountry") == "US"


async def test_available_numbers_follow_the_account_rules(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount, stocked: None
) -> None:
    """Another tenant's URL is 403, no credentials 401; an ancestor may look."""
    sibling = await make_account(admin)
    response = await client.get(available_path(tenant.sid, "US", "Local"), headers=sibling.auth)
    assert response.status == 403
    response = await client.get(available_path(tenant.sid, "US", "Local"))
    assert response.status == 401
    response = await client.get(available_path(tenant.sid, "US", "Local"), headers=admin.auth)
    assert response.status == 200


async def test_deleting_a_number_makes_it_available_again(
    client: TestClient, tenant: Tenant, stocked: None
) -> None:
    """A released inventory number is listed as available again."""
    response = await client.get(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json", headers=tenant.auth
    )
    (number,) = (await response.json())["incomingPhoneNumbers"]
    response = await client.delete(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers/{number['sid']}.json",
        headers=tenant.auth,
    )
    assert response.status == 204
    assert "+15105550101" in await available(client, tenant, "US", "Local", AreaCode="510")


# --- The admin import route -------------------------------------------------------------

CSV = (
    "number,type,area code,country\n"
    "+15105550001,local,510,US\n"
    "+18005550002,toll-free,,\n"
    "5105550003,local,510,US\n"
    "+15105550001,local,510,US\n"
    "+15105550004,landline,510,US\n"
    "+15105550005,mobile,510,FR\n"
    "+442079460001,local,,GB\n"
)


async def post_import(client: TestClient, caller: dict[str, str], text: str) -> tuple[int, Any]:
    response = await client.post(
        "/v1/admin/inventory",
        data=text.encode(),
        headers={**caller, "Content-Type": "text/csv"},
    )
    return response.status, await response.json()


async def test_import_counts_inserted_present_and_rejected(
    client: TestClient, admin: Tenant, db: Database
) -> None:
    """The import answers counts and the rejected rows with line numbers and reasons."""
    status, body = await post_import(client, admin.auth, CSV)
    assert status == 200, body
    assert (body["inserted"], body["already_present"], body["rejected"]) == (3, 0, 4)
    rejections = {r["line"]: r for r in body["rejections"]}
    assert sorted(rejections) == [4, 5, 6, 7]
    assert "number" in rejections[4]["reason"]
    assert rejections[4]["row"] == "5105550003,local,510,US"
    assert rejections[5]["reason"] == "duplicate in file"
    assert "type" in rejections[6]["reason"]
    assert "country" in rejections[7]["reason"]
    store = InventoryStore(db)
    free = await store.available("US", NumberType.TOLLFREE, area_code=None, contains=None, limit=10)
    assert [(n.phone_number, n.area_code) for n in free] == [("+18005550002", "800")]
    free = await store.available("GB", NumberType.LOCAL, area_code=None, contains=None, limit=10)
    assert [n.phone_number for n in free] == ["+442079460001"]


async def test_second_import_of_the_same_file_finds_everything_present(
    client: TestClient, admin: Tenant
) -> None:
    """Importing the same file twice inserts nothing the second time."""
    await post_import(client, admin.auth, CSV)
    status, body = await post_import(client, admin.auth, CSV)
    assert status == 200
    assert (body["inserted"], body["already_present"], body["rejected"]) == (0, 3, 4)


async def test_import_counts_an_assigned_number_as_present(
    client: TestClient, admin: Tenant, tenant: Tenant, add_inventory: AddInventory
) -> None:
    """A DID already provisioned stays assigned: the import counts it as already present."""
    await add_inventory("+15105550001")
    response = await client.post(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "+15105550001"},
        headers=tenant.auth,
    )
    assert response.status == 200
    status, body = await post_import(client, admin.auth, "+15105550001,local,510,US\n")
    assert (status, body["inserted"], body["already_present"]) == (200, 0, 1)
    assert await available(client, tenant, "US", "Local") == []


async def test_import_needs_a_super_admin(client: TestClient, tenant: Tenant, db: Database) -> None:
    """A tenant gets 403 and nothing is inserted; no credentials get 401."""
    status, body = await post_import(client, tenant.auth, CSV)
    assert status == 403
    assert_error(body, 403, 20403)
    status, body = await post_import(client, {}, CSV)
    assert status == 401
    assert_error(body, 401, 20003)
    free = await InventoryStore(db).available(
        "US", NumberType.LOCAL, area_code=None, contains=None, limit=10
    )
    assert free == []


async def test_import_refuses_a_body_that_is_not_utf8(client: TestClient, admin: Tenant) -> None:
    """A body that is not UTF-8 answers 400, not 500."""
    response = await client.post(
        "/v1/admin/inventory", data=b"+15105550001,local\xff\xfe\n", headers=admin.auth
    )
    assert response.status == 400
    assert_error(await response.json(), 400, 21100)


# --- The command line -------------------------------------------------------------------


async def run_cli(database_url: str, csv_file: Path) -> tuple[int, str, str]:
    """`python -m router --database-url URL inventory import FILE`: (status, out, err)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router",
        "--database-url",
        database_url,
        "inventory",
        "import",
        str(csv_file),
        cwd=csv_file.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_imports_a_clean_file_and_exits_0(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A file without bad rows: summary printed, exit status 0, rows in the inventory."""
    csv_file = tmp_path / "dids.csv"
    csv_file.write_text(
        "+15105550011,local,510,US\n+15105550012,local,510,US\n+18005550013,tollfree,800,US\n"
    )
    status, out, err = await run_cli(database_url, csv_file)
    assert status == 0, err
    assert "inserted: 3, already present: 0, rejected: 0" in out
    store = InventoryStore(db)
    local = await store.available("US", NumberType.LOCAL, area_code="510", contains=None, limit=9)
    assert [n.phone_number for n in local] == ["+15105550011", "+15105550012"]
    status, out, err = await run_cli(database_url, csv_file)
    assert status == 0, err
    assert "inserted: 0, already present: 3, rejected: 0" in out


async def test_cli_reports_bad_rows_with_line_numbers_and_exits_1(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A bad row is printed with its line number and reason; the good rows still load."""
    csv_file = tmp_path / "with-errors.csv"
    csv_file.write_text("number,type\n+15105550021,local\n+15105550022,satellite\n+1510555,local\n")
    status, out, err = await run_cli(database_url, csv_file)
    assert status == 1, err
    assert "inserted: 1, already present: 0, rejected: 2" in out
    assert "line 3:" in out
    assert "type" in out.split("line 3:")[1].splitlines()[0]
    assert "line 4:" in out
    assert "E.164" in out.split("line 4:")[1].splitlines()[0]
    free = await InventoryStore(db).available(
        "US", NumberType.LOCAL, area_code=None, contains=None, limit=9
    )
    assert [n.phone_number for n in free] == ["+15105550021"]


async def test_cli_missing_file_exits_2(database_url: str, tmp_path: Path) -> None:
    """A file that does not exist is reported and exits with status 2."""
    status, _, err = await run_cli(database_url, tmp_path / "absent.csv")
    assert status == 2
    assert "absent.csv" in err
