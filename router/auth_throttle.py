"""Failed-authentication throttling (issue 12.6): after `max_failures` wrong credentials
within `window` seconds from one client address, or for one account, further attempts
from that address or for that account are refused (HTTP 429 with Retry-After) until the
window that began with the first failure ends.

A refused attempt is refused before its credentials are checked, so it tells nothing
(no oracle for a guesser) and costs nothing; correct logins of other accounts from
other addresses never wait on anything but a dictionary lookup. Counts live in this
process: with several workers each keeps its own (see docs/operations.md).
Pure: no I/O beyond logging.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from cachetools import LRUCache

from router.errors import TooManyRequests

__all__ = ["AuthThrottle", "FailureCounter"]

log = structlog.get_logger(__name__)

# Keys are client addresses and account sids an attacker chooses: the least recently
# used are forgotten past this many, so memory stays bounded (a forgotten key starts
# afresh, which only ever errs towards letting a client try again).
_MAX_KEYS = 100_000


@dataclass(slots=True)
class _Window:
    started: float
    failures: int


class FailureCounter:
    """Failures per key in fixed windows that start with a key's first failure."""

    def __init__(
        self, *, max_failures: int, window: float, clock: Callable[[], float], kind: str
    ) -> None:
        self._max = max_failures
        self._window = window
        self._clock = clock
        self._kind = kind
        self._windows: LRUCache[str, _Window] = LRUCache(maxsize=_MAX_KEYS)

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may now."""
        if self._max <= 0:
            return None  # this limit is off
        current = self._windows.get(key)
        if current is None or current.failures < self._max:
            return None
        left = current.started + self._window - self._clock()
        if left <= 0:
            del self._windows[key]
            return None
        return left

    def failed(self, key: str) -> None:
        """Count a failure; log once when it makes the key wait."""
        if self._max <= 0:
            return
        now = self._clock()
        current = self._windows.get(key)
        if current is None or now - current.started >= self._window:
            current = self._windows[key] = _Window(now, 0)
        current.failures += 1
        if current.failures == self._max:
            log.warning(
                "authentication_throttled",
                by=self._kind,
                key=key,
                failures=current.failures,
                window_s=self._window,
            )


class AuthThrottle:
    """The two limits of failed authentication: per client address and per account."""

    def __init__(
        self,
        *,
        max_per_address: int,
        max_per_account: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        on_refused: Callable[[str], None] = lambda by: None,
    ) -> None:
        self._by_address = FailureCounter(
            max_failures=max_per_address, window=window, clock=clock, kind="address"
        )
        self._by_account = FailureCounter(
            max_failures=max_per_account, window=window, clock=clock, kind="account"
        )
        self._on_refused = on_refused

    def check(self, address: str, account_sid: str | None) -> None:
        """Raise TooManyRequests when the address or the account must wait."""
        for by, counter, key in (
            ("address", self._by_address, address),
            ("account", self._by_account, account_sid),
        ):
            wait = counter.retry_after(key) if key else None
            if wait is not None:
                self._on_refused(by)
                raise TooManyRequests(
                    "Too many failed authentications from this address or for this account;"
                    f" retry after {math.ceil(wait)} seconds.",
                    retry_after=math.ceil(wait),
                )

    def failed(self, address: str, account_sid: str | None) -> None:
        """Count a failed authentication against both."""
        if address:
            self._by_address.failed(address)
        if account_sid:
            self._by_account.failed(account_sid)
