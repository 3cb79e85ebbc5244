"""The status callback retry policy (SPEC 6) as a pure function of one attempt's outcome:
delivered, retried with jittered exponential backoff honouring Retry-After, or given up."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from router.webhooks.retry import Decision, RetryPolicy, Verdict

NOW = datetime(2024, 5, 6, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=8, base_delay=2.0, max_delay=100.0, jitter=0.2)


def rng(seed: int = 7) -> random.Random:
    return random.Random(seed)


def bounds(policy: RetryPolicy, attempts_made: int) -> tuple[float, float]:
    """The interval a jittered delay after `attempts_made` failures must fall in."""
    raw = min(policy.base_delay * 2 ** (attempts_made - 1), policy.max_delay)
    return raw * (1 - policy.jitter), min(raw * (1 + policy.jitter), policy.max_delay)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
@pytest.mark.parametrize("attempts_made", [1, 8])
def test_a_2xx_answer_is_delivered(status: int, attempts_made: int) -> None:
    """Any 2xx answer settles the callback as delivered, even on the last allowed attempt."""
    decision = POLICY.decide(attempts_made, status=status, now=NOW, rng=rng())
    assert decision == Decision(Verdict.DELIVERED)


@pytest.mark.parametrize(
    "status", [None, 429, 500, 502, 503, 504, 599], ids=lambda s: f"status-{s}"
)
@pytest.mark.parametrize("attempts_made", [1, 2, 3, 5, 7])
def test_retryable_failures_are_retried_after_a_jittered_exponential_delay(
    status: int | None, attempts_made: int
) -> None:
    """Connection errors and timeouts (no status), 429 and 5xx are retried after
    base * 2^(n-1) seconds scaled by a jitter factor, capped at max_delay."""
    decision = POLICY.decide(attempts_made, status=status, now=NOW, rng=rng(attempts_made))
    low, high = bounds(POLICY, attempts_made)
    assert decision.verdict is Verdict.RETRY
    assert low <= decision.delay <= high


def test_backoff_doubles_with_each_failed_attempt_until_the_cap() -> None:
    """Without jitter the delays are exactly base, 2*base, 4*base ... and then max_delay."""
    policy = replace(POLICY, jitter=0.0)
    delays = [policy.decide(n, status=503, rng=rng()).delay for n in range(1, 8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]


def test_jitter_spreads_delays_and_is_reproducible_with_a_seeded_random() -> None:
    """Different random draws give different delays inside the bounds; the same seed the same."""
    delays = {POLICY.decide(3, status=500, rng=rng(seed)).delay for seed in range(50)}
    low, high = bounds(POLICY, 3)
    assert len(delays) > 40
    assert all(low <= delay <= high for delay in delays)
    assert min(delays) < 8.0 < max(delays)  # spread on both sides of the raw 8 s
    assert POLICY.decide(3, status=500, rng=rng(11)) == POLICY.decide(3, status=500, rng=rng(11))


def test_jittered_delay_never_exceeds_max_delay() -> None:
    """Even when the raw delay is already the cap, jitter cannot push it above max_delay."""
    for seed in range(200):
        assert POLICY.decide(7, status=500, rng=rng(seed)).delay <= POLICY.max_delay


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("seconds", [10, 60, 99])
def test_retry_after_in_seconds_is_honoured(status: int, seconds: int) -> None:
    """A Retry-After delta longer than the backoff sets the delay to that many seconds."""
    decision = POLICY.decide(1, status=status, retry_after=str(seconds), now=NOW, rng=rng())
    assert decision == Decision(Verdict.RETRY, float(seconds))


@pytest.mark.parametrize("seconds", [45, 90])
def test_retry_after_as_an_http_date_is_honoured(seconds: int) -> None:
    """A Retry-After HTTP date waits until that moment (relative to `now`)."""
    when = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    decision = POLICY.decide(1, status=503, retry_after=when, now=NOW, rng=rng())
    assert decision.verdict is Verdict.RETRY
    assert decision.delay == pytest.approx(seconds)


@pytest.mark.parametrize(
    "retry_after",
    ["3600", format_datetime(NOW + timedelta(days=2), usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_retry_after_beyond_max_delay_is_capped(retry_after: str) -> None:
    """A receiver asking for longer than max_delay is retried after max_delay."""
    decision = POLICY.decide(2, status=429, retry_after=retry_after, now=NOW, rng=rng())
    assert decision == Decision(Verdict.RETRY, POLICY.max_delay)


@pytest.mark.parametrize(
    "retry_after",
    ["0", "", "soon", "-5", "1.5", format_datetime(NOW - timedelta(hours=1), usegmt=True)],
    ids=["zero", "empty", "words", "negative", "fraction", "past-date"],
)
def test_a_short_or_unusable_retry_after_leaves_the_backoff(retry_after: str) -> None:
    """Retry-After 0, a date in the past or garbage never shortens the backoff below its bounds."""
    decision = POLICY.decide(4, status=503, retry_after=retry_after, now=NOW, rng=rng())
    low, high = bounds(POLICY, 4)
    assert decision.verdict is Verdict.RETRY
    assert low <= decision.delay <= high


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 405, 409, 410, 413, 422, 300, 301, 302, 303, 304, 307, 308]
)
def test_other_4xx_and_3xx_answers_give_up_at_once(status: int) -> None:
    """A 4xx other than 429, or a redirect (not followed), is final after the first attempt."""
    decision = POLICY.decide(1, status=status, retry_after="1", now=NOW, rng=rng())
    assert decision.verdict is Verdict.GIVE_UP


@pytest.mark.parametrize("status", [None, 429, 500])
def test_gives_up_after_max_attempts(status: int | None) -> None:
    """Attempts 1..max-1 are retried; the failure of attempt max_attempts is final."""
    policy = RetryPolicy(max_attempts=3, base_delay=0.05)
    verdicts = [policy.decide(n, status=status, rng=rng()).verdict for n in (1, 2, 3, 4)]
    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.GIVE_UP, Verdict.GIVE_UP]


def test_defaults_are_eight_attempts_over_about_an_hour() -> None:
    """The default policy makes 8 attempts whose un-jittered delays add up to 50 to 70 minutes."""
    policy = RetryPolicy()
    unjittered = replace(policy, jitter=0.0)
    delays = []
    for attempts_made in range(1, 100):
        decision = unjittered.decide(attempts_made, status=503, rng=rng())
        if decision.verdict is Verdict.GIVE_UP:
            break
        delays.append(decision.delay)
    assert policy.max_attempts == 8
    assert len(delays) == 7  # eight attempts, seven waits between them
    assert 50 * 60 <= sum(delays) <= 70 * 60
    assert 0 < policy.jitter < 1
