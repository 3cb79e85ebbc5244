"""The retry policy of status callbacks (SPEC 6), as a pure function of one attempt.

Retried: connection errors, timeouts, 5xx and 429, with exponential backoff and
jitter, honouring Retry-After. Not retried: any other 4xx (and 3xx: callbacks do
not follow redirects). Given up after the configured number of attempts.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "failed"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after an attempt; `delay` seconds until the next one when retrying."""

    verdict: Verdict
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base * 2^(n-1) seconds before attempt n+1, capped, jittered."""

    max_attempts: int = 8
    base_delay: float = 30.0
    max_delay: float = 1800.0
    jitter: float = 0.2  # each delay is scaled by a random factor in [1 - j, 1 + j]

    def decide(
        self,
        attempts_made: int,
        *,
        status: int | None,
        retry_after: str | None = None,
        now: datetime | None = None,
        rng: random.Random | None = None,
    ) -> Decision:
        """The verdict after attempt number `attempts_made` (1-based); `status` None
        means the request failed without an answer (connection error or timeout)."""
        if status is not None and 200 <= status < 300:
            return Decision(Verdict.DELIVERED)
        if not retryable(status) or attempts_made >= self.max_attempts:
            return Decision(Verdict.GIVE_UP)
        delay = self.backoff(attempts_made, rng=rng)
        asked = retry_after_seconds(retry_after, now=now)
        if asked is not None:
            delay = min(max(delay, asked), self.max_delay)
        return Decision(Verdict.RETRY, delay)

    def backoff(self, attempts_made: int, *, rng: random.Random | None = None) -> float:
        """The jittered delay after `attempts_made` failed attempts."""
        raw = min(self.base_delay * 2.0 ** (attempts_made - 1), self.max_delay)
        factor: float = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return min(raw * factor, self.max_delay)


def retryable(status: int | None) -> bool:
    """No answer, 429 and 5xx are worth another try; the rest is final."""
    return status is None or status == 429 or 500 <= status < 600


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a delta in seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
