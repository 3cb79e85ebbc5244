"""Malformed HTTP requests (bad request line, invalid header character, line too long,
bad chunking...) are what any client on the network can send at will: aiohttp logs
each at ERROR with a full traceback, so a flood of them would bury the log. Here each
becomes one line at info with the peer and the reason, and a counter; every other
message of aiohttp's server logger passes through unchanged."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from aiohttp.http_exceptions import HttpProcessingError

_log = structlog.get_logger("router.http")
_REASON_CHARS = 200  # the parser's message quotes the offending bytes; a line stays short


class MalformedRequestLog(logging.LoggerAdapter[logging.Logger]):
    """The logger aiohttp's request handler writes to (its `logger` argument)."""

    def __init__(self, counted: Callable[[str], None]) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self._counted = counted

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        error = _parse_error(kwargs.get("exc_info"))
        if error is None:
            super().log(level, msg, *args, **kwargs)
            return
        kind = type(error).__name__
        self._counted(kind)
        _log.info(
            "malformed_http_request",
            peer=str(args[0]) if args else None,
            kind=kind,
            status=error.code,
            reason=reason(error),
        )

    def process(self, msg: object, kwargs: MutableMapping[str, Any]) -> tuple[object, Any]:
        return msg, kwargs


def reason(error: HttpProcessingError) -> str:
    """The parser's message on one short line (it spans several, quoting the bytes)."""
    text = " ".join(str(error.message).split()) or type(error).__name__
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def _parse_error(exc_info: object) -> HttpProcessingError | None:
    if isinstance(exc_info, HttpProcessingError):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], HttpProcessingError) else None
    return None
