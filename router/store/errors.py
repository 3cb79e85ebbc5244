"""Driver errors as router errors: the one place that reads asyncpg's failures.

Two kinds reach a store method. The server cannot be reached, or refuses work for a
reason of its own (connection lost, too many clients, shutting down): that is
`Unavailable` wherever it happens (HTTP 503). Or a statement breaks a rule the schema
enforces (a unique or foreign key, or a SQLSTATE our own functions raise): only the
store method knows what that means to the caller, so it names the error to raise with
`violation_raises`.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator

import asyncpg

from router.errors import RouterError, Unavailable

# Connection-level failures: the database is unreachable, not the request wrong.
CONNECTION_FAILURES = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    # Raised on a connection whose server side was terminated mid-operation.
    asyncpg.exceptions.InternalClientError,
)

# SQLSTATE classes that mean the server, not the statement, failed: connection
# exception, insufficient resources, operator intervention, system error.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58")


class Violation(enum.StrEnum):
    """A rule a statement can break, by its SQLSTATE."""

    UNIQUE = "23505"
    FOREIGN_KEY = "23503"
    # accept_status (migrations/0005) raises it for a status after a terminal one; the
    # message is the call's current status.
    STATUS_AFTER_END = "RT409"


def unavailable(error: BaseException, what: str = "Database unavailable") -> Unavailable:
    """The Unavailable that stands for a driver failure (its type named, never its text,
    which may quote the connection string)."""
    return Unavailable(f"{what}: {type(error).__name__}")


@contextlib.contextmanager
def translate_unavailable() -> Iterator[None]:
    """Turn driver connection failures, and server-side refusals, into Unavailable."""
    try:
        yield
    except CONNECTION_FAILURES as error:
        raise unavailable(error) from error
    except asyncpg.PostgresError as error:
        if str(getattr(error, "sqlstate", "") or "")[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
            raise unavailable(error) from error
        raise


@contextlib.contextmanager
def refusals_unavailable() -> Iterator[None]:
    """Around connecting: any refusal of the server (database not accepting connections,
    shutting down, too many clients) means unavailable, not a bad request."""
    try:
        yield
    except asyncpg.PostgresError as error:
        raise unavailable(error) from error


@contextlib.contextmanager
def violation_raises(violation: Violation, error: Callable[[str], RouterError]) -> Iterator[None]:
    """Raise `error(message)` when the block breaks `violation`, `message` being what the
    server said; every other failure passes unchanged."""
    try:
        yield
    except asyncpg.PostgresError as failure:
        if getattr(failure, "sqlstate", None) != violation.value:
            raise
        message = str(failure.args[0]) if failure.args else ""
        raise error(message) from failure
