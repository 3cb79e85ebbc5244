"""One error tree for the whole service.

Each error knows the offending parameter and builds its own message; only the
API layer maps error classes to HTTP statuses and Restcomm codes (api/errors).

The core names no wire parameter: where a message speaks of a field it holds a
`Field`, rendered by its field name for a Python caller (`message`) and by the
parameter name of the caller's mount over HTTP (`message_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True, slots=True)
class Field:
    """A field named in an error message (e.g. voice_fallback_url)."""

    name: str


Message = str | Sequence[str | Field]


class RouterError(Exception):
    """Base of every error router raises on purpose."""

    code: int = 0

    def __init__(
        self,
        message: Message,
        *,
        param: str | Field | None = None,
        code: int | None = None,
    ):
        self.parts: tuple[str | Field, ...] = (
            (message,) if isinstance(message, str) else tuple(message)
        )
        self.field = param.name if isinstance(param, Field) else None
        self._wire_param = param if isinstance(param, str) else None
        self.message = self.message_for(_as_is)
        self.param = self.param_for(_as_is)
        super().__init__(self.message)
        if code is not None:
            self.code = code

    @classmethod
    def of_field(cls, field: str, template: str, *others: str, code: int | None = None) -> Self:
        """An error about `field`: `{field}` in the template (and `{other}` for each of
        `others`) stands for that field; the rest is text, braces included."""
        return cls(with_fields(template, (field, *others)), param=Field(field), code=code)

    def message_for(self, name: Callable[[str], str]) -> str:
        """The message with each field called by `name` (the API: its parameter name)."""
        return "".join(part if isinstance(part, str) else name(part.name) for part in self.parts)

    def param_for(self, name: Callable[[str], str]) -> str | None:
        """The offending parameter, a field called by `name`."""
        return self._wire_param if self.field is None else name(self.field)


def _as_is(field: str) -> str:
    return field


def with_fields(template: str, names: Sequence[str]) -> tuple[str | Field, ...]:
    """The template as text and Fields: each `{name}` of `names` becomes Field(name)."""
    parts: list[str | Field] = [template]
    for name in names:
        token = "{" + name + "}"
        split: list[str | Field] = []
        for part in parts:
            if isinstance(part, Field):
                split.append(part)
                continue
            for i, piece in enumerate(part.split(token)):
                if i:
                    split.append(Field(name))
                if piece:
                    split.append(piece)
        parts = split
    return tuple(parts)


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
