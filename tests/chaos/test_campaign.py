"""The short fault campaign (benchmarks/chaos.py, SHORT plan), as CI runs it: three
`router serve` processes on one PostgreSQL of the campaign's own, killed (SIGKILL) more
than ten times, PostgreSQL restarted twice, the receiver failing and down, malformed
requests; nothing may be lost, reordered, sent early, left with a SequenceNumber gap,
routed but unrecorded, missing from the attempt log, answered 5xx, or leave a
traceback from malformed input. Bounded (about 60 s) and every process it starts is
stopped by its PID (Instance.stop / kill, EmbeddedPostgres.stop)."""

from __future__ import annotations

import pytest

from benchmarks.chaos import SHORT, run


@pytest.mark.long
def test_the_short_campaign_loses_nothing() -> None:
    findings = run(SHORT)
    assert findings.failed() == {}, findings.examples
    assert findings.kills >= 10
    assert findings.postgres_restarts >= 1
    assert findings.receiver_outages >= 1
    assert findings.malformed_sent == SHORT.malformed
    assert findings.calls_routed > 0
    assert findings.statuses_accepted == 3 * findings.calls_routed
    assert findings.callbacks_taken == findings.statuses_accepted
