"""Callback dispatchers across workers: together they never exceed the configured limits."""

from __future__ import annotations

import pytest

from router.config import Settings
from router.serve.placement import CallbackShare, WorkerPlace, callback_share


def test_one_process_keeps_the_configured_limits() -> None:
    """`--workers 1` (or no supervisor at all) dispatches with the limits as configured."""
    settings = Settings(callbacks_concurrency=64, callbacks_per_host_limit=32)
    assert callback_share(settings, None) == CallbackShare(64, 32)
    assert callback_share(settings, WorkerPlace(0, 1)) == CallbackShare(64, 32)


@pytest.mark.parametrize(
    ("workers", "concurrency", "per_host"),
    [(2, 64, 32), (3, 64, 32), (4, 10, 3), (8, 5, 1), (2, 1, 1), (16, 64, 32)],
)
def test_the_workers_shares_add_up_to_at_most_the_configured_limits(
    workers: int, concurrency: int, per_host: int
) -> None:
    """Every dispatching worker gets at least one permit; the sums stay within limits."""
    settings = Settings(callbacks_concurrency=concurrency, callbacks_per_host_limit=per_host)
    shares = [callback_share(settings, WorkerPlace(i, workers)) for i in range(workers)]
    running = [share for share in shares if share is not None]
    assert running
    assert sum(share.per_host_limit for share in running) <= per_host
    assert sum(share.concurrency for share in running) <= concurrency
    assert all(share.per_host_limit >= 1 and share.concurrency >= 1 for share in running)
    # The first workers dispatch; the rest only serve.
    assert shares[: len(running)] == running


def test_no_worker_dispatches_when_the_dispatcher_is_disabled() -> None:
    settings = Settings(callbacks_dispatcher_enabled=False)
    assert callback_share(settings, WorkerPlace(0, 2)) is None
    assert callback_share(settings, None) is None
