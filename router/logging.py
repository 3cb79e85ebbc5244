"""structlog set-up: console on a terminal, JSON otherwise; the standard library's
loggers (aiohttp, asyncpg, warnings) render through the same processors, so in JSON
mode every line is one JSON object with a level."""

from __future__ import annotations

import logging
import os
import sys
import threading
from types import TracebackType

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from router.config import Settings, effective_log_format

_access = structlog.get_logger("router.access")
_process = structlog.get_logger("router.process")


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
            # format_exc_info: a traceback logged by aiohttp or asyncpg becomes the
            # "exception" string inside the line, as structlog's own do.
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    # Python would print the traceback as plain text, the one non-JSON line left.
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    _process.critical("uncaught_exception", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    _process.error(
        "uncaught_exception_in_thread",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


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
