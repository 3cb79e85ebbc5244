"""Gateway events sent as form bodies, the way curl and simple gateways send them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from router.store.postgres import Database
from tests.conftest import Tenant


async def test_unescaped_plus_in_form_numbers_is_read_as_plus(
    client: TestClient, tenant: Tenant, gateway: dict[str, str], db: Database
) -> None:
    """`From=+1415...` sent raw decodes to a leading space; the event reads it as `+`."""
    response = await client.post(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "+15105550100", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/x"},
        headers=tenant.auth,
    )
    assert response.status == 200
    raw = (
        f"From=+14155550000&To=+15105550100"
        f"&DestinationOrganizationSid={tenant.account.organization_sid}"
    )
    response = await client.post(
        "/v1/events/calls?fetch=false",
        data=raw,
        headers={**gateway, "Content-Type": "application/x-www-form-urlencoded"},
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["match"] == {"how": "exact", "spelling": "+15105550100", "pattern": None}
    row = await db_call_from(db, body["call_sid"])
    assert row == "+14155550000"


async def db_call_from(db: Database, call_sid: str) -> str:
    async with db.connection() as conn:
        return str(await conn.fetchval("SELECT from_number FROM calls WHERE sid = $1", call_sid))
