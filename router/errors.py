"""One error tree for the whole service.

Each error knows the offending parameter and builds its own message; only the
API layer maps error classes to HTTP statuses and Restcomm codes (api/errors).
"""

from __future__ import annotations


class RouterError(Exception):
    """Base of every error router raises on purpose."""

    code: int = 0

    def __init__(self, message: str, *, param: str | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class Invalid(RouterError):
    """A request parameter is malformed or not acceptable (HTTP 400)."""

    code = 21100

    @classmethod
    def param_value(cls, param: str, accepted: str, *, code: int | None = None) -> Invalid:
        """The usual shape: name the parameter, say what is accepted."""
        return cls(f"Invalid {param}: {accepted}.", param=param, code=code)


class Unauthenticated(RouterError):
    """Credentials missing or wrong (HTTP 401)."""

    code = 20003


class AccountInactive(RouterError):
    """The authenticated account is not active (HTTP 403)."""

    code = 20005


class Forbidden(RouterError):
    """The caller may not act on this resource (HTTP 403)."""

    code = 20403


class NotFound(RouterError):
    """The resource does not exist, or telling would leak another tenant's (HTTP 404)."""

    code = 20404


class Conflict(RouterError):
    """The request conflicts with the current state (HTTP 409)."""

    code = 20409


class NotAvailable(RouterError):
    """The requested phone number is not free in the inventory (HTTP 400, code 21452)."""

    code = 21452


class MethodNotAllowed(RouterError):
    """The route does not support this HTTP method (HTTP 405)."""

    code = 20405


class PayloadTooLarge(RouterError):
    """The request body exceeds the configured limit (HTTP 413)."""

    code = 20413


class TooManyRequests(RouterError):
    """The client must wait `retry_after` seconds before trying again (HTTP 429)."""

    code = 20429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(RouterError):
    """A dependency (the database) is down; retry later (HTTP 503)."""

    code = 20503


class PostgresNotFound(RouterError):
    """No PostgreSQL server binaries were found for the embedded cluster."""


class ConfigError(RouterError):
    """A setting is malformed."""
