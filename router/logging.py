"""structlog set-up: console on a terminal, JSON otherwise; the standard library's
loggers (aiohttp, asyncpg, warnings) render through the same processors, so in JSON
mode every line is one JSON object with a level."""

from __future__ import annotations

import logging
import os
import sys

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from router.config import Settings, effective_log_format

_access = structlog.get_logger("router.access")


def configure(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if effective_log_format(settings) == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process_id,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line (print would write the newline separately): several worker
        # processes share stdout, and their lines must not interleave.
        logger_factory=structlog.WriteLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    _route_standard_logging(level, shared, renderer)


def _route_standard_logging(
    level: int, shared: list[structlog.typing.Processor], renderer: structlog.typing.Processor
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


def _add_process_id(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # With several workers, which process wrote a line matters (restarts, one bad worker).
    event.setdefault("pid", os.getpid())
    return event


class AccessLogger(AbstractAccessLogger):
    """One structured line per HTTP request (the `log_access` setting), instead of
    aiohttp's Apache-style text, which would break a JSON log stream."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        _access.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status,
            duration_ms=round(time * 1000, 3),
            remote=request.remote,
            bytes=response.body_length,
        )
