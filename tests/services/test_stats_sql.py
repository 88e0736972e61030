"""The figures computed in SQL against the per-case definition, on random desks (fixed seeds, fixed instants).

The reference below is the straightforward reading of the module docstring of bot/services/stats.py:
load every case, judge each one with the per-case helpers, count and sort in Python. The desks mix
priorities (one this version does not know), platforms, owners, answers to the microsecond, closures
(some without a closing time, some closed after "now"), business hours across a daylight-saving change
and zones with 30- and 45-minute offsets.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import db
from bot.models import Case, CaseStatus, Mention
from bot.services import digest, stats
from bot.services.stats import (
    MET,
    MISSED,
    Attainment,
    Breakdown,
    Figures,
    PriorityCounts,
    ResponseTimes,
    first_response_outcome,
    open_at,
)
from bot.sla import BusinessHours, SlaPolicy, SlaTargets

# just after Europe/Berlin moved its clocks forward (29 March 2026): the 30-day period spans the change
NOW = datetime(2026, 3, 30, 14, 7, 31, 250_000, tzinfo=UTC)
PLATFORMS = ("twitter", "facebook", "instagram", "reddit")
OWNERS = (None, None, "U0ALICE", "U0BOB", "U0CAROL")
PRIORITY_CHOICES = ("urgent", "high", "normal", "normal", "low", "unheard-of")


def policy(hours: str, tz: ZoneInfo) -> SlaPolicy:
    # a target of exactly one working day: a deadline on a window's end, met until work resumes
    normal = timedelta(hours=8, minutes=30) if hours.endswith("17:30") else timedelta(hours=1)
    return SlaPolicy(
        normal=SlaTargets(first_response=normal),
        urgent=SlaTargets(first_response=timedelta(minutes=15)),
        hours=BusinessHours.parse(hours, tz),
    )


def random_desk(session: Session, seed: int, count: int = 300, pol: SlaPolicy | None = None) -> None:
    """With `pol`, a quarter of the answers land right around their deadline in working time (within a
    minute of it, or a microsecond), where a wrong shift or cut-off would show."""
    rng = random.Random(seed)
    for n in range(count):
        priority = rng.choice(PRIORITY_CHOICES)
        recent = rng.random() < 0.2  # some still within their target at NOW (pending), some just past it
        created = NOW - timedelta(seconds=rng.uniform(0, 3 * 3600 if recent else 40 * 86400))
        answered = None
        if rng.random() < 0.65:
            wait = rng.choice((rng.uniform(1, 600), rng.uniform(600, 4 * 3600), rng.uniform(0, 4 * 86400)))
            answered = min(created + timedelta(seconds=wait), NOW)
            if pol is not None and rng.random() < 0.25:
                due = pol.due(created, pol.targets(priority).first_response)
                nudge = rng.choice((-60, -1, 0, 1, 60, 20 * 3600)) * (1 if rng.random() < 0.5 else 1e-6)
                answered = min(due + timedelta(seconds=nudge), NOW)
        status = rng.choice((CaseStatus.OPEN, CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.IGNORED))
        closed = None
        if status != CaseStatus.OPEN:
            closed = rng.choice(
                (
                    created + timedelta(seconds=rng.uniform(60, 6 * 86400)),  # may lie after NOW
                    created + timedelta(hours=rng.randint(1, 48)),
                    None,  # closed without a closing time: open throughout, as open_at reads it
                )
            )
        platform = rng.choice(PLATFORMS)
        case = Case(
            platform=platform,
            connector="generic",
            author_id=f"a{n}",
            author_handle=f"a{n}",
            author_name=None,
            status=status,
            priority=priority,
            owner_id=rng.choice(OWNERS),
            slack_channel="C0CARE",
            slack_ts=None,
            created_at=created,
            updated_at=created,
            first_response_at=answered,
            closed_at=closed,
        )
        session.add(case)
        session.flush()
        for k in range(rng.choice((1, 1, 2, 3))):
            received = created + timedelta(minutes=rng.randint(0, 3000))
            session.add(
                Mention(
                    case_id=case.id,
                    platform=platform,
                    external_id=f"{n}-{k}",
                    author_id=case.author_id,
                    author_handle=case.author_handle,
                    text="post",
                    posted_at=received,
                    received_at=received,
                    sentiment=round(rng.uniform(-1, 1), 4),
                    extra={},
                )
            )
    session.flush()


# -- the reference: every case in Python --------------------------------------------------------------


def reference_figures(cases: list[Case], *, start: datetime, end: datetime, pol: SlaPolicy) -> Figures:
    created = [c for c in cases if start <= c.created_at < end]
    resolved = [
        c for c in cases if c.status == CaseStatus.RESOLVED and c.closed_at is not None and start <= c.closed_at < end
    ]
    waits = [c.first_response_at - c.created_at for c in created if c.first_response_at is not None]
    outcomes = [first_response_outcome(c, policy=pol, now=NOW) for c in created]
    return Figures(
        new=PriorityCounts.of(created),
        resolved=PriorityCounts.of(resolved),
        open=PriorityCounts.of(c for c in cases if open_at(c, end)),
        first_response=ResponseTimes.of(waits),
        sla=Attainment(met=outcomes.count(MET), missed=outcomes.count(MISSED)),
    )


def reference_breakdowns(
    cases: list[Case], key: Callable[[Case], str | None], *, start: datetime, end: datetime, pol: SlaPolicy
) -> tuple[Breakdown, ...]:
    names = sorted({name for c in cases if (name := key(c))})
    found = [
        Breakdown(name, reference_figures([c for c in cases if key(c) == name], start=start, end=end, pol=pol))
        for name in names
    ]
    active = [b for b in found if b.figures.new.total or b.figures.resolved.total or b.figures.open.total]
    return tuple(sorted(active, key=lambda b: (-b.figures.new.total, -b.figures.open.total, b.key)))


def reference_mean(mentions: list[Mention], start: datetime, end: datetime) -> float | None:
    scores = [m.sentiment for m in mentions if start <= m.received_at < end]
    return sum(scores) / len(scores) if scores else None


# -- the checks -----------------------------------------------------------------------------------------


CASES = [
    (1, "Europe/Berlin", "24/7"),
    (2, "Europe/Berlin", "Mon-Fri 09:00-17:30, Sat 10:00-14:00"),
    (3, "Asia/Kathmandu", "Mon-Fri 09:00-17:00"),  # UTC+05:45
    (6, "Europe/Berlin", "Mon-Fri 09:00-17:30"),
    (4, "America/St_Johns", "24/7"),  # UTC-02:30 in summer, -03:30 in winter
]


@pytest.mark.parametrize(("seed", "zone", "hours"), CASES)
def test_the_sql_figures_equal_the_per_case_definition(
    sessions: sessionmaker[Session], seed: int, zone: str, hours: str
) -> None:
    tz = ZoneInfo(zone)
    pol = policy(hours, tz)
    with db.session_scope(sessions) as s:
        random_desk(s, seed, pol=pol)
    with sessions() as s:
        cases = list(s.scalars(select(Case)))
        mentions = list(s.scalars(select(Mention)))
        for name in stats.PERIOD_DAYS:
            period = stats.period(name, now=NOW, tz=tz)
            found = stats.compute(s, period=period, now=NOW, policy=pol, tz=tz)
            start, end = period.start, period.end
            assert found.team == reference_figures(cases, start=start, end=end, pol=pol), name
            assert found.platforms == reference_breakdowns(cases, lambda c: c.platform, start=start, end=end, pol=pol)
            assert found.staff == reference_breakdowns(cases, lambda c: c.owner_id, start=start, end=end, pol=pol)
            for day in found.sentiment.days:
                span = stats.whole_days(day.day, day.day, tz)
                expected = reference_mean(mentions, span.start, span.end)
                assert day.mentions == sum(span.start <= m.received_at < span.end for m in mentions)
                assert day.average == (None if expected is None else pytest.approx(expected))
            assert found.sentiment.average == pytest.approx(reference_mean(mentions, start, end))
            previous = period.previous(tz)
            assert found.sentiment.previous == pytest.approx(reference_mean(mentions, previous.start, previous.end))


@pytest.mark.parametrize(("seed", "zone", "hours"), CASES)
def test_the_digest_adds_up_its_days_as_the_per_case_reading_does(
    sessions: sessionmaker[Session], seed: int, zone: str, hours: str
) -> None:
    tz = ZoneInfo(zone)
    pol = policy(hours, tz)
    with db.session_scope(sessions) as s:
        random_desk(s, seed, pol=pol)
    day = digest.report_day(NOW, tz)
    target = stats.whole_days(day, day, tz)
    week = stats.whole_days(day - timedelta(days=7), day - timedelta(days=1), tz)
    with sessions() as s:
        cases = list(s.scalars(select(Case)))
        found = digest.build(s, day=day, now=NOW, policy=pol, tz=tz)
    assert found.yesterday == reference_figures(cases, start=target.start, end=target.end, pol=pol)
    assert found.week == reference_figures(cases, start=week.start, end=week.end, pol=pol)
    assert found.backlog == sum(open_at(c, target.end) for c in cases)
    ends = [stats.local_midnight(d + timedelta(days=1), tz) for d in week.days]
    assert found.week_backlog == sum(sum(open_at(c, e) for c in cases) for e in ends) / 7
    for point in found.daily:
        span = stats.whole_days(point.day, point.day, tz)
        expected = reference_figures(cases, start=span.start, end=span.end, pol=pol)
        assert (point.new, point.median_first_response, point.p90_first_response) == (
            expected.new.total,
            expected.first_response.median,
            expected.first_response.p90,
        )
    # first-response breaches of the day: every missed case whose due moment fell in it, found per case
    due_in_day = {
        (c.id, stats.first_response_due(c, pol))
        for c in cases
        if target.start <= stats.first_response_due(c, pol) < target.end
        and first_response_outcome(c, policy=pol, now=NOW) == MISSED
        and (c.first_response_at is None or c.first_response_at >= target.start)
    }
    assert {(b.case.case_id, b.due) for b in found.breaches if b.clock == "first_response"} == due_in_day


def test_a_stored_wait_follows_its_timestamps_whatever_sets_them(sessions: sessionmaker[Session]) -> None:
    with db.session_scope(sessions) as s:
        random_desk(s, 5, count=40)
    with db.session_scope(sessions) as s:
        for case in s.scalars(select(Case)):
            case.first_response_at = None if case.id % 3 else case.created_at + timedelta(seconds=1, microseconds=7)
    with sessions() as s:
        for case in s.scalars(select(Case)):
            expected = None if case.id % 3 else 1_000_007
            assert case.first_response_wait == expected
