"""Driver errors become router errors in one place (router/store/errors.py): a broken
rule becomes the error its store method names, with the exact text; anything else
passes unchanged; a server that refuses work is Unavailable."""

from __future__ import annotations

import asyncpg
import pytest

from router.errors import Conflict, NotFound, Unavailable
from router.store.accounts import AccountStore
from router.store.errors import Violation, violation_raises
from router.store.postgres import Database

RAISE_RT409 = "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'RT409', MESSAGE = 'completed'; END $$"


async def test_a_taken_domain_is_a_conflict_naming_domain_name(db: Database) -> None:
    """The unique violation of a second organization with the same domain is a Conflict
    with the message and parameter the API shows; the first organization is kept."""
    store = AccountStore(db)
    first = await store.create_organization("taken.test")
    with pytest.raises(Conflict) as raised:
        await store.create_organization("taken.test")
    assert raised.value.message == "DomainName taken.test is already used by another organization."
    assert raised.value.param == "DomainName"
    assert isinstance(raised.value.__cause__, asyncpg.UniqueViolationError)
    assert [o.sid for o in await store.list_organizations()] == [first.sid]


async def test_the_named_violation_raises_the_named_error_with_the_servers_message(
    db: Database,
) -> None:
    """A custom SQLSTATE raised by a function reaches the error factory with its message."""
    said: list[str] = []

    def conflict(message: str) -> Conflict:
        said.append(message)
        return Conflict(f"already {message}", param="CallStatus")

    async with db.connection() as conn:
        with (
            pytest.raises(Conflict, match=r"^already completed$"),
            violation_raises(Violation.STATUS_AFTER_END, conflict),
        ):
            await conn.execute(RAISE_RT409)
    assert said == ["completed"]


async def test_another_violation_passes_unchanged(db: Database) -> None:
    """A block that breaks a rule other than the named one raises the driver's error."""
    async with db.connection() as conn:
        with (
            pytest.raises(asyncpg.PostgresError) as raised,
            violation_raises(Violation.UNIQUE, lambda _: NotFound("never")),
        ):
            await conn.execute(RAISE_RT409)
    assert raised.value.sqlstate == "RT409"


async def test_a_block_that_succeeds_raises_nothing(db: Database) -> None:
    """No failure, no error: the factory is never called."""
    async with db.connection() as conn:
        with violation_raises(Violation.UNIQUE, lambda _: NotFound("never")):
            assert await conn.fetchval("SELECT 1") == 1


async def test_a_server_side_refusal_is_unavailable(db: Database) -> None:
    """SQLSTATE class 57 (operator intervention, here a cancelled statement) means the
    server, not the statement, failed: Unavailable, naming the driver error's type only."""
    with pytest.raises(Unavailable) as raised:
        async with db.connection() as conn:
            await conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57014', MESSAGE = 'secret'; END $$"
            )
    assert raised.value.message == "Database unavailable: QueryCanceledError"
