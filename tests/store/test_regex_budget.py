"""One organization's slow stored patterns cannot delay another organization's calls
(issue 12.4): timed `regex` work is charged to the organization of the lookup, and once
its budget for the window is spent its timed matches are not run (no match, logged once,
counted) while other organizations' patterns run as before; the next window restores it."""

from __future__ import annotations

from structlog.testing import capture_logs

from router.domain import Channel
from router.patterns import MatchOutcome, compile_pattern
from router.patterns.budget import RegexBudgets
from router.resolver import Outcome, Query, Resolver
from router.store.numbers import NumberStore
from router.store.postgres import Database
from tests.conftest import MakeAccount, MakeOrg, Tenant
from tests.store.test_resolver import insert_raw_sip

SLOW = "(?R)"  # stored before provisioning refused it: each match runs to its time limit
SLOW_SPELLING = "1" * 30
BUDGET_S = 0.12
TIMEOUT_S = 0.05


class Clock:
    """A clock the test moves: windows end only when it says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_slow_organization_spends_its_own_budget_and_no_other(
    db: Database, admin: Tenant, make_account: MakeAccount, make_org: MakeOrg
) -> None:
    """Org A's `(?R)` pays its time limit until A's budget is spent, then A's lookups
    answer not_found at once (over_budget counted, one log line); org B's own slow
    pattern and its regex-only pattern still run and route meanwhile; a new window
    gives A its budget back."""
    slow_tenant = await make_account(admin, organization=await make_org())
    other_tenant = await make_account(admin, organization=await make_org())
    await insert_raw_sip(db, slow_tenant, SLOW)
    routed_sid = await insert_raw_sip(db, other_tenant, "(?i)20.*")  # regex-only, bounded
    clock = Clock()
    resolver = Resolver(
        NumberStore(db),
        match_timeout=TIMEOUT_S,
        regex_budget_s=BUDGET_S,
        regex_budget_window_s=1.0,
        clock=clock,
        cache_ttl=3600,
    )
    slow_org = slow_tenant.account.organization_sid
    other_org = other_tenant.account.organization_sid

    async def call(to: str, organization: str) -> Outcome:
        return (await resolver.resolve(Query(to, Channel.VOICE, organization, None))).outcome

    with capture_logs() as logs:
        for attempt in range(6):
            assert await call(SLOW_SPELLING + str(attempt), slow_org) is Outcome.NOT_FOUND
        assert resolver.regex_budgets.of(slow_org).remaining() == 0.0
        refused = resolver.stats.regex_over_budget
        # At most ceil(budget / timeout) + 1 matches ran; the rest were refused at once.
        assert refused >= 6 - 4
        for attempt in range(5):
            result = await resolver.resolve(Query(f"20{attempt}", Channel.VOICE, other_org, None))
            assert result.outcome is Outcome.MATCHED
            assert result.number is not None
            assert result.number.sid == routed_sid
        assert resolver.regex_budgets.of(other_org).remaining() > 0.0
        assert resolver.stats.regex_over_budget == refused  # B's lookups refused nothing
    spent = [entry for entry in logs if entry["event"] == "pattern_regex_budget_spent"]
    assert [entry["organization"] for entry in spent] == [slow_org]
    assert spent[0]["pattern"] == SLOW

    clock.now += 1.0  # the next window
    assert resolver.regex_budgets.of(slow_org).remaining() == BUDGET_S
    with capture_logs() as logs:
        assert await call(SLOW_SPELLING + "9", slow_org) is Outcome.NOT_FOUND
    # It ran again, to its time limit (on a loaded machine the second spelling may find
    # the fresh budget spent already: that is the budget working, not a failure).
    assert "pattern_timeout" in [entry["event"] for entry in logs]


def test_an_attempt_outside_any_budget_runs_under_its_time_limit_only() -> None:
    """Without a budget in force (no lookup of an organization), a match is timed as before."""
    assert compile_pattern(SLOW).attempt(SLOW_SPELLING, 0.01) is MatchOutcome.TIMEOUT


def test_within_a_spent_budget_a_timed_attempt_is_not_run() -> None:
    """Once spent, attempt answers over_budget without running; bounded patterns on short
    spellings are never timed, so never refused."""
    clock = Clock()
    refused: list[int] = []
    budgets = RegexBudgets(
        seconds=0.0, window=1.0, clock=clock, on_refused=lambda: refused.append(1)
    )
    with budgets.spending("OR1"), capture_logs():
        assert compile_pattern(SLOW).attempt(SLOW_SPELLING) is MatchOutcome.OVER_BUDGET
        assert compile_pattern(SLOW).attempt(SLOW_SPELLING) is MatchOutcome.OVER_BUDGET
        assert compile_pattern("1.*").attempt("12345") is MatchOutcome.MATCH
    assert len(refused) == 2
