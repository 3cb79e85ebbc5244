"""One serving process: the application on the port until SIGTERM or SIGINT, then a
graceful stop (in-flight requests and deliveries finish)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import Any

import structlog
from aiohttp import web

from router import config, listening
from router.app import create_app
from router.logging import AccessLogger
from router.serve.placement import WorkerPlace

log = structlog.get_logger(__name__)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


async def serve_app(app: web.Application, settings: config.Settings, sock: socket.socket) -> None:
    """Listen on the bound socket until a stop signal, then stop gracefully."""
    # Fewer, larger young collections: a router allocates many short-lived objects
    # per event, and each collection pass stalls every call in flight.
    gc.set_threshold(50_000, 20, 20)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        # aiohttp logs access only when given a logger; AccessLogger writes through structlog.
        access_log=logging.getLogger("aiohttp.access") if settings.log_access else None,
        shutdown_timeout=settings.serve_stop_timeout_seconds,
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        log.info("listening", host=settings.host, port=settings.port)
        await _wait_for_stop_signal()
    finally:
        await runner.cleanup()


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")


def run_worker(settings: config.Settings, place: WorkerPlace, supervisor: int) -> int:
    """The body of a forked worker; returns its exit status."""
    # The supervisor's handlers came along with the fork; until the event loop installs
    # this worker's own, a stop signal simply ends it (it has accepted nothing yet).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if not _die_with(supervisor):
        return 1
    try:
        sock = listening.bind(settings.host, settings.port, reuse_port=True)
        try:
            run_loop(serve_app(create_app(settings, place=place), settings, sock))
        finally:
            sock.close()
    except Exception:
        log.exception("worker_failed", index=place.index)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _die_with(supervisor: int) -> bool:
    """Have the kernel kill this worker when the supervisor dies: a supervisor killed
    outright (SIGKILL, out of memory) must not leave workers holding the port with
    nobody to restart or stop them. False when it is already gone."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == supervisor


def run_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop where it is installed (it is a dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.run(main)
    return uvloop.run(main)
