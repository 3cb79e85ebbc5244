"""Request parameters: reading form or JSON bodies, and validating each value.

Every check raises Invalid naming the parameter and saying what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import orjson
from aiohttp import web

from router.domain import is_sid
from router.errors import Invalid, PayloadTooLarge

MAX_FIELDS = 200
MAX_TEXT = 64
MAX_URL = 2048
API_VERSIONS = frozenset({"2012-04-24"})
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


async def read_params(request: web.Request, max_bytes: int) -> dict[str, str]:
    """The body's parameters (form or JSON object) as strings."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
    try:
        body = await request.content.read(max_bytes + 1)
    except web.HTTPRequestEntityTooLarge as error:
        raise PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.") from error
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
    if not body.strip():
        return {}
    if request.content_type == "application/json":
        return _json_params(body)
    return _form_params(body)


def query_params(request: web.Request) -> dict[str, str]:
    """The query string's parameters, rejecting repeats and bad encodings."""
    return _form_params(request.rel_url.raw_query_string.encode("utf-8", "replace"))


def _form_params(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as error:
        raise Invalid("The request body is not valid UTF-8 form data.") from error
    except ValueError as error:
        raise Invalid(f"The request has more than {MAX_FIELDS} parameters.") from error
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise Invalid(f"Parameter {name} is given more than once.", param=name)
        params[name] = value
    return params


def _json_params(body: bytes) -> dict[str, str]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Invalid("The request body is not valid JSON.") from error
    if not isinstance(document, dict):
        raise Invalid("The JSON request body must be an object of parameters.")
    if len(document) > MAX_FIELDS:
        raise Invalid(f"The request has more than {MAX_FIELDS} parameters.")
    return {str(name): _json_scalar(str(name), value) for name, value in document.items()}


def _json_scalar(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    raise Invalid(f"Invalid {name}: must be a string, number or boolean.", param=name)


def text(params: Mapping[str, str], name: str, *, max_length: int = MAX_TEXT) -> str | None:
    """A short printable text of 1 to max_length characters."""
    value = params.get(name)
    if value is None:
        return None
    if not value or len(value) > max_length or _CONTROL.intersection(value):
        raise Invalid(
            f"Invalid {name}: must be 1 to {max_length} printable characters.", param=name
        )
    return value


def url(params: Mapping[str, str], name: str) -> str | None:
    """An absolute http(s) URL; the empty string clears it (returned as '')."""
    value = params.get(name)
    if value is None or value == "":
        return value
    if len(value) > MAX_URL or _CONTROL.intersection(value) or " " in value:
        raise _bad_url(name)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise _bad_url(name) from error
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _bad_url(name)
    return value


def _bad_url(name: str) -> Invalid:
    return Invalid(
        f"Invalid {name}: must be an absolute http or https URL of at most {MAX_URL} characters.",
        param=name,
        code=21402,
    )


def method(params: Mapping[str, str], name: str) -> str | None:
    """GET or POST (any case)."""
    value = params.get(name)
    if value is None:
        return None
    if value.upper() not in {"GET", "POST"}:
        raise Invalid(f"Invalid {name}: must be GET or POST.", param=name)
    return value.upper()


def boolean(params: Mapping[str, str], name: str) -> bool | None:
    """true or false (any case)."""
    value = params.get(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in {"true", "false"}:
        raise Invalid(f"Invalid {name}: must be true or false.", param=name)
    return lowered == "true"


def sid(params: Mapping[str, str], name: str, prefix: str) -> str | None:
    """A sid with the given prefix; the empty string clears it (returned as '')."""
    value = params.get(name)
    if value is None or value == "":
        return value
    if not is_sid(value, prefix):
        raise Invalid(
            f"Invalid {name}: must be a 34-character sid starting with {prefix}.", param=name
        )
    return value


def api_version(
    params: Mapping[str, str], name: str = "ApiVersion", accepted: frozenset[str] = API_VERSIONS
) -> str | None:
    """One of the API versions the mount accepts."""
    value = params.get(name)
    if value is None:
        return None
    if value not in accepted:
        raise Invalid(f"Invalid {name}: must be {' or '.join(sorted(accepted))}.", param=name)
    return value


def integer(params: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    """A decimal integer within [low, high]."""
    value = params.get(name)
    if value is None:
        return default
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > 9
        or not low <= int(value) <= high
    ):
        raise Invalid(f"Invalid {name}: must be an integer from {low} to {high}.", param=name)
    return int(value)


def choice(params: Mapping[str, str], name: str, accepted: Mapping[str, str]) -> str | None:
    """One of the accepted spellings (case-insensitive), mapped to its value."""
    value = params.get(name)
    if value is None:
        return None
    folded = {k.lower(): v for k, v in accepted.items()}
    if value.lower() not in folded:
        raise Invalid(f"Invalid {name}: must be one of {', '.join(accepted)}.", param=name)
    return folded[value.lower()]
