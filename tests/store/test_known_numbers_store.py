"""The reads behind the workers' shared known-numbers set: every number with the
fingerprint of that read from one snapshot, and the fingerprint alone later."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from router.store.numbers import NumberStore
from router.store.postgres import Database
from tests.conftest import Tenant


async def test_the_fingerprint_matches_its_read_and_moves_with_every_write(
    db: Database, tenant: Tenant, client: TestClient
) -> None:
    """Read and fingerprint agree; a new number changes the fingerprint, its deletion
    brings the old one back."""
    store = NumberStore(db)
    numbers, fingerprint = await store.all_phone_numbers_and_fingerprint()
    assert numbers == []
    assert fingerprint == await store.phone_numbers_fingerprint() == "0:0"
    base = f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers"
    response = await client.post(
        f"{base}.json",
        data={"PhoneNumber": "2468", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/x"},
        headers=tenant.auth,
    )
    assert response.status == 200
    sid = (await response.json())["sid"]
    numbers, changed = await store.all_phone_numbers_and_fingerprint()
    assert numbers == ["2468"]
    assert changed != fingerprint
    assert changed.startswith("1:")
    assert await store.phone_numbers_fingerprint() == changed
    response = await client.delete(f"{base}/{sid}.json", headers=tenant.auth)
    assert response.status == 204
    assert await store.phone_numbers_fingerprint() == fingerprint
