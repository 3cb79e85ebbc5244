"""Where a worker stands among its siblings, and the share of the callback limits it
gets, so that the configured limits hold for the whole service."""

from __future__ import annotations

from dataclasses import dataclass

from router.config import Settings
from router.known_numbers import InheritedNumbers


@dataclass(frozen=True, slots=True)
class WorkerPlace:
    """Worker `index` of `count`, with the known-numbers set read before the fork."""

    index: int
    count: int
    known_numbers: InheritedNumbers | None = None


@dataclass(frozen=True, slots=True)
class CallbackShare:
    """The callback dispatcher limits of one worker."""

    concurrency: int
    per_host_limit: int


def callback_share(settings: Settings, place: WorkerPlace | None) -> CallbackShare | None:
    """This worker's share of the dispatcher, or None when it runs none.

    Every dispatcher claims with SKIP LOCKED and a lease, so any number may run; the
    per-host and overall limits are divided between them (rounded down), so together
    they never exceed the configured ones. With fewer permits than workers, only the
    first workers dispatch, one permit each."""
    if not settings.callbacks_dispatcher_enabled:
        return None
    if place is None or place.count == 1:
        return CallbackShare(settings.callbacks_concurrency, settings.callbacks_per_host_limit)
    limits = (settings.callbacks_per_host_limit, settings.callbacks_concurrency)
    dispatchers = min(place.count, *limits)
    if place.index >= dispatchers:
        return None
    return CallbackShare(
        settings.callbacks_concurrency // dispatchers,
        settings.callbacks_per_host_limit // dispatchers,
    )
