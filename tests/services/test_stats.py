"""Stats figures on the fixed data set of tests/support/stats_dataset.py, against numbers worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot import db
from bot.services import stats
from bot.services.stats import Attainment, PriorityCounts, ResponseTimes, UnknownPeriod, percentile
from tests.support.stats_dataset import ALICE, BOB, NOW, POLICY, TZ, build, local

MIN = timedelta(minutes=1)


@pytest.fixture
def sessions(database_url):
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    with db.session_scope(factory) as s:
        build(s)
    yield factory
    engine.dispose()


def compute(sessions, name: str, now=NOW) -> stats.Stats:
    with sessions() as s:
        return stats.compute(s, period=stats.period(name, now=now, tz=TZ), now=now, policy=POLICY, tz=TZ)


def test_percentiles_interpolate_between_closest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([10, 30, 90], 0.5) == 30
    assert percentile([10, 30, 90], 0.9) == pytest.approx(78)  # position 1.8: 30 + 0.8 * 60
    assert percentile([4, 1, 3, 2], 0.5) == 2.5  # even count: mean of the middle two
    assert percentile(list(range(1, 12)), 0.9) == 10


def test_periods_are_local_calendar_days() -> None:
    today = stats.period("today", now=NOW, tz=TZ)
    assert (today.start, today.end) == (local(23, 0), NOW)
    week = stats.period("7d", now=NOW, tz=TZ)
    assert week.first_day == date(2026, 11, 17) and week.start == local(17, 0) and len(week.days) == 7
    assert week.previous(TZ).start == local(10, 0) and week.previous(TZ).end == local(17, 0)
    assert stats.period("30d", now=NOW, tz=TZ).first_day == date(2026, 10, 25)
    with pytest.raises(UnknownPeriod):
        stats.period("week", now=NOW, tz=TZ)


def test_today(sessions) -> None:
    found = compute(sessions, "today")
    team = found.team
    # F was created at 23:30 UTC on Sunday, which is Monday in Berlin
    assert team.new == PriorityCounts(urgent=1, high=1, normal=3, low=1)
    assert team.resolved == PriorityCounts(high=1, normal=1)  # B and G; F was ignored, not resolved
    assert team.open == PriorityCounts(urgent=1, normal=3, low=1)  # A, C, D, E and the old I
    # answered today-created cases: C 10, A 30, B 90 minutes
    assert team.first_response == ResponseTimes(3, 30 * MIN, 78 * MIN)
    # met: A, C (urgent, 10 of 15 min); missed: B (90 min), D (unanswered, 90 working min by 15:00);
    # E is unanswered but within its hour (pending); F was closed without a reply (owed none)
    assert team.sla == Attainment(met=2, missed=2) and team.sla.rate == 0.5


def test_today_by_platform_and_staff(sessions) -> None:
    found = compute(sessions, "today")
    platforms = {b.key: b.figures for b in found.platforms}
    assert [b.key for b in found.platforms] == ["twitter", "facebook", "instagram", "reddit"]
    twitter = platforms["twitter"]
    assert (twitter.new.total, twitter.resolved.total, twitter.open.total) == (3, 2, 1)
    assert twitter.first_response.median == 60 * MIN and twitter.sla == Attainment(1, 1)
    facebook = platforms["facebook"]
    assert (facebook.new.total, facebook.open.total, facebook.first_response.median) == (2, 2, 10 * MIN)
    assert facebook.sla == Attainment(1, 1)
    assert platforms["instagram"].sla == Attainment(0, 0) and platforms["instagram"].first_response.answered == 0
    assert (platforms["reddit"].new.total, platforms["reddit"].open.total) == (0, 1)

    staff = {b.key: b.figures for b in found.staff}
    assert [b.key for b in found.staff] == [ALICE, BOB]  # unclaimed cases belong to nobody
    alice, bob = staff[ALICE], staff[BOB]
    assert (alice.new.total, alice.resolved.total, alice.open.total) == (2, 1, 1)
    assert alice.first_response.median == 60 * MIN and alice.sla == Attainment(1, 1)
    assert (bob.new.total, bob.resolved.total, bob.open.total) == (1, 1, 1)
    assert bob.first_response.median == 10 * MIN and bob.sla == Attainment(1, 0)


def test_today_sentiment_against_yesterday(sessions) -> None:
    trend = compute(sessions, "today").sentiment
    # today's six mentions: -0.6 -0.4 -0.8 -0.2 +0.6 -0.9 = -2.3; yesterday only I's -0.1
    assert trend.average == pytest.approx(-2.3 / 6)
    assert trend.previous == pytest.approx(-0.1)
    assert trend.direction == "worsening"
    assert [(d.day, d.mentions) for d in trend.days] == [(date(2026, 11, 23), 6)]


def test_seven_days(sessions) -> None:
    found = compute(sessions, "7d")
    team = found.team
    assert team.new == PriorityCounts(urgent=1, high=2, normal=4, low=1)  # today's six, G and H
    assert team.resolved == PriorityCounts(high=2, normal=1)  # B, G, H
    assert team.open.total == 5
    # 10, 20, 30, 90 and G's 3890 minutes (Fri 16:30 to Mon 09:20 on the wall clock)
    assert team.first_response == ResponseTimes(5, 30 * MIN, 2370 * MIN)  # 90 + 0.6 * 3800
    # G met its hour in working time (30 min Friday + 20 min Monday) though it waited a weekend
    assert team.sla == Attainment(met=4, missed=2)

    trend = found.sentiment
    by_day = {d.day.day: d.average for d in trend.days}
    assert by_day[18] == pytest.approx(-0.5) and by_day[20] == pytest.approx(-0.7)
    assert by_day[22] == pytest.approx(-0.1) and by_day[23] == pytest.approx(-2.3 / 6)
    assert by_day[17] is None and by_day[19] is None and by_day[21] is None
    assert trend.average == pytest.approx(-3.6 / 9)
    assert trend.previous == pytest.approx(-0.3)  # I's first post on Sat 14
    assert trend.direction == "worsening"


def test_thirty_days_and_an_empty_period(sessions) -> None:
    assert compute(sessions, "30d").team.new.total == 9
    later = local(30, 12)  # a week later nothing new has come in
    quiet = compute(sessions, "today", now=later)
    assert quiet.team.new.total == 0 and quiet.team.first_response == ResponseTimes(0, None, None)
    assert quiet.team.sla.rate is None and quiet.sentiment.direction == "unknown"
    assert quiet.team.open.total == 5  # the backlog is still there


def test_an_unanswered_case_turns_from_pending_to_missed_as_working_time_passes(sessions) -> None:
    # at 15:29 E (created 14:30) is within its hour; at 15:31 it has missed it
    assert compute(sessions, "today", now=local(23, 15, 29)).team.sla == Attainment(2, 2)
    assert compute(sessions, "today", now=local(23, 15, 31)).team.sla == Attainment(2, 3)
