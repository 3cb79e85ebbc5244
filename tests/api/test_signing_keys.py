"""Signing keys a tenant chooses (SPEC 9): SigningKey on create or update, or
SignWithAuthToken=true on creation or token rotation; bad values are refused naming the
parameter and change nothing. Both mounts take them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router import tokens
from router.store.accounts import AccountStore
from router.store.postgres import Database
from tests.api.test_accounts import assert_error, basic
from tests.conftest import MakeAccount, Tenant

MOUNTS = ("/2012-04-24", "/2010-04-01")
KEY = "k" * 32


async def post(client: TestClient, auth: dict[str, str], path: str, **data: str) -> Any:
    response = await client.post(path, data=data, headers=auth)
    return response.status, await response.json()


@pytest.mark.parametrize("mount", MOUNTS)
@pytest.mark.parametrize("key", [KEY, "x" * 128, "a b~!@#$%^&*()_+={}[]|:;'<>,.?/`-" + "z" * 10])
async def test_signing_key_given_on_creation_is_the_accounts(
    client: TestClient, tenant: Tenant, mount: str, key: str
) -> None:
    status, body = await post(client, tenant.auth, f"{mount}/Accounts.json", SigningKey=key)

    assert status in {200, 201}
    assert body["signing_key"] == key
    fetched = await client.get(f"{mount}/Accounts/{body['sid']}.json", headers=tenant.auth)
    assert (await fetched.json())["signing_key"] == key


@pytest.mark.parametrize("mount", MOUNTS)
async def test_sign_with_auth_token_on_creation_signs_with_the_new_token(
    client: TestClient, tenant: Tenant, mount: str, db: Database
) -> None:
    status, body = await post(
        client, tenant.auth, f"{mount}/Accounts.json", SignWithAuthToken="true"
    )

    assert status in {200, 201}
    assert body["signing_key"] == body["auth_token"]
    stored = await AccountStore(db).get_account_with_credentials(body["sid"])
    assert stored is not None
    # Authentication still keeps only the token's hash.
    assert tokens.verify_token(body["auth_token"], stored[1])
    assert body["auth_token"].encode() not in stored[1].digest


async def test_signing_key_set_on_update(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    child = await make_account(tenant)
    status, body = await post(
        client, tenant.auth, f"/2012-04-24/Accounts/{child.sid}.json", SigningKey=KEY
    )

    assert (status, body["signing_key"]) == (200, KEY)
    assert "auth_token" not in body


async def test_sign_with_auth_token_on_rotation_signs_with_the_new_token(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    child = await make_account(tenant)
    status, body = await post(
        client,
        child.auth,
        f"/2012-04-24/Accounts/{child.sid}.json",
        RotateAuthToken="true",
        SignWithAuthToken="true",
    )

    assert status == 200
    assert body["signing_key"] == body["auth_token"] != child.token
    status, _ = await post(
        client, basic(child.sid, body["auth_token"]), f"/2012-04-24/Accounts/{child.sid}.json"
    )
    assert status == 200


BAD = [
    ("too-short", {"SigningKey": "k" * 31}, "SigningKey"),
    ("too-long", {"SigningKey": "k" * 129}, "SigningKey"),
    ("empty", {"SigningKey": ""}, "SigningKey"),
    ("control", {"SigningKey": "k" * 32 + "\n"}, "SigningKey"),
    ("non-ascii", {"SigningKey": "é" * 32}, "SigningKey"),
    ("both", {"SigningKey": KEY, "SignWithAuthToken": "true"}, "SignWithAuthToken"),
    (
        "sign-not-boolean",
        {"SignWithAuthToken": "yes", "RotateAuthToken": "true"},
        "SignWithAuthToken",
    ),
    ("sign-without-rotation", {"SignWithAuthToken": "true"}, "SignWithAuthToken"),
    ("rotate-and-set", {"RotateSigningKey": "true", "SigningKey": KEY}, "RotateSigningKey"),
]


@pytest.mark.parametrize(("data", "param"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_bad_signing_key_update_is_400_and_changes_nothing(
    client: TestClient,
    tenant: Tenant,
    make_account: MakeAccount,
    db: Database,
    data: dict[str, str],
    param: str,
) -> None:
    child = await make_account(tenant)
    _, body = await post(client, tenant.auth, f"/2012-04-24/Accounts/{child.sid}.json", **data)

    assert_error(body, 400, 21100, param)
    after = await AccountStore(db).get_account_with_credentials(child.sid)
    assert after is not None
    assert after[0].signing_key == child.account.signing_key
    assert tokens.verify_token(child.token, after[1])


@pytest.mark.parametrize("mount", MOUNTS)
async def test_bad_signing_key_on_creation_creates_nothing(
    client: TestClient, tenant: Tenant, db: Database, mount: str
) -> None:
    _, body = await post(client, tenant.auth, f"{mount}/Accounts.json", SigningKey="short")

    assert_error(body, 400, 21100, "SigningKey")
    assert len(await AccountStore(db).account_tree(tenant.sid)) == 1
