"""The digest's figures on the fixed data set (Monday 23 reported on Tuesday morning), and its once-a-day queuing."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot import db
from bot.models import DigestMarker, OutboxItem
from bot.services import desk, digest
from bot.services.stats import Attainment, ResponseTimes
from tests.support.stats_dataset import POLICY, TZ, build, local

MIN = timedelta(minutes=1)
TUESDAY = local(24, 9, 0)
MANAGERS = ("U0MGR1", "U0MGR2")


@pytest.fixture
def ids(sessions) -> dict[str, int]:
    with db.session_scope(sessions) as s:
        return build(s)


@pytest.fixture
def started(sessions) -> None:
    """A desk that has run since the Monday before (the queuing tests have no cases of their own)."""
    with db.session_scope(sessions) as s:
        desk.record_start(s, now=local(16, 8, 0))


def report(sessions) -> digest.Digest:
    with sessions() as s:
        return digest.build(s, day=digest.report_day(TUESDAY, TZ), now=TUESDAY, policy=POLICY, tz=TZ)


def test_yesterday_against_the_seven_days_before(sessions, ids) -> None:
    found = report(sessions)
    assert found.day == date(2026, 11, 23)
    y, week = found.yesterday, found.week
    assert (y.new.total, y.resolved.total) == (6, 2)
    assert y.first_response == ResponseTimes(3, 30 * MIN, 78 * MIN)
    # by Tuesday 09:00 E has missed its hour too: A and C met; B, D and E missed
    assert y.sla == Attainment(met=2, missed=3)
    # Mon 16 – Sun 22: G and H are new, H resolved; G waited 3890 min (50 working), H 20
    assert (week.new.total, week.resolved.total) == (2, 1)
    assert week.first_response == ResponseTimes(2, 1955 * MIN, 3503 * MIN)
    assert week.sla == Attainment(met=2, missed=0)
    # open at midnight: A, C, D, E, I; the week before: I every night, G on Fri, Sat and Sun nights
    assert found.backlog == 5
    assert found.week_backlog == pytest.approx(10 / 7)
    assert found.sentiment == pytest.approx(-2.3 / 6)
    assert found.week_sentiment == pytest.approx((-0.5 - 0.7 - 0.1) / 3)


def test_breaches_oldest_open_and_praise(sessions, ids) -> None:
    found = report(sessions)
    # B was due 10:30 and answered at 11:00; D due 14:30 and E due 15:30 are still unanswered
    assert [(b.case.case_id, b.due, b.answered) for b in found.breaches] == [
        (ids["B"], local(23, 10, 30), True),
        (ids["D"], local(23, 14, 30), False),
        (ids["E"], local(23, 15, 30), False),
    ]
    assert found.breaches[0].waited == 90 * MIN
    assert found.breaches[1].waited == TUESDAY - local(23, 13, 30)
    assert found.breaches[0].case.ts == "1795000002.000100"  # enough to link to its thread
    assert [c.case_id for c in found.oldest_open] == [ids[n] for n in "IACDE"]
    assert [(p.case.case_id, p.score) for p in found.praise] == [(ids["E"], 0.6)]
    assert found.praise[0].post_url == "https://example.com/E/0"


def test_chart_series_covers_eight_days(sessions, ids) -> None:
    daily = report(sessions).daily
    assert [p.day.day for p in daily] == [16, 17, 18, 19, 20, 21, 22, 23]
    assert [p.new for p in daily] == [0, 0, 1, 0, 1, 0, 0, 6]
    assert [None if p.sentiment is None else round(p.sentiment, 4) for p in daily] == [
        None,
        None,
        -0.5,
        None,
        -0.7,
        None,
        -0.1,
        round(-2.3 / 6, 4),
    ]
    assert [p.median_first_response for p in daily] == [None, None, 20 * MIN, None, 3890 * MIN, None, None, 30 * MIN]
    assert daily[-1].p90_first_response == 78 * MIN


def test_a_breach_due_over_the_weekend_belongs_to_the_day_it_ran_out(sessions) -> None:
    from tests.support.stats_dataset import add_case

    with db.session_scope(sessions) as s:  # Friday 16:45: 15 working minutes on Friday, due Monday 09:45
        add_case(s, "A", platform="twitter", priority="normal", created=local(20, 16, 45), scores=[])
    with sessions() as s:
        friday = digest.build(s, day=date(2026, 11, 20), now=TUESDAY, policy=POLICY, tz=TZ)
        monday = digest.build(s, day=date(2026, 11, 23), now=TUESDAY, policy=POLICY, tz=TZ)
    assert friday.breaches == ()
    assert [b.due for b in monday.breaches] == [local(23, 9, 45)]


def count(sessions, model) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def tick(sessions, now) -> int:
    with db.session_scope(sessions) as s:
        return digest.enqueue_due(s, now=now, tz=TZ, at=time(9, 0), managers=MANAGERS)


def test_queued_once_per_day_and_manager_from_the_digest_time_on(sessions, started) -> None:
    assert tick(sessions, local(24, 8, 59)) == 0
    assert tick(sessions, local(24, 9, 0)) == 2
    assert tick(sessions, local(24, 9, 1)) == 0
    assert tick(sessions, local(24, 23, 59)) == 0
    assert tick(sessions, local(25, 8, 0)) == 0
    assert tick(sessions, local(25, 14, 0)) == 2  # a process that starts late still sends that day
    with sessions() as s:
        items = s.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        assert [(i.kind, i.payload) for i in items] == [
            ("digest", {"user": "U0MGR1", "day": "2026-11-23"}),
            ("digest", {"user": "U0MGR2", "day": "2026-11-23"}),
            ("digest", {"user": "U0MGR1", "day": "2026-11-24"}),
            ("digest", {"user": "U0MGR2", "day": "2026-11-24"}),
        ]
        markers = s.scalars(select(DigestMarker).order_by(DigestMarker.id)).all()
        assert [(m.day, m.recipient, m.outbox_id) for m in markers] == [
            (date(2026, 11, 24), "U0MGR1", items[0].id),
            (date(2026, 11, 24), "U0MGR2", items[1].id),
            (date(2026, 11, 25), "U0MGR1", items[2].id),
            (date(2026, 11, 25), "U0MGR2", items[3].id),
        ]


def test_a_marker_written_by_another_process_means_nothing_is_queued(sessions, started) -> None:
    with db.session_scope(sessions) as s:
        s.add(DigestMarker(day=date(2026, 11, 24), recipient="U0MGR1", created_at=TUESDAY))
    assert tick(sessions, TUESDAY) == 1
    assert count(sessions, OutboxItem) == 1


def test_two_transactions_racing_for_the_same_day_queue_each_digest_once(sessions, started) -> None:
    """The second waits for the first (SQLite's write lock; PostgreSQL's unique index), then queues nothing."""
    results: list[int] = []
    with sessions() as first, first.begin():
        assert digest.enqueue_due(first, now=TUESDAY, tz=TZ, at=time(9, 0), managers=MANAGERS) == 2
        racer = threading.Thread(target=lambda: results.append(tick(sessions, TUESDAY)))
        racer.start()
        racer.join(0.5)  # give it time to reach the lock or the conflicting insert before we commit
        assert results == []  # it is waiting for us
    racer.join(10)
    assert results == [0]
    assert count(sessions, OutboxItem) == 2 and count(sessions, DigestMarker) == 2


def test_breaches_of_the_other_clocks_come_from_the_sweeps_records(sessions, ids) -> None:
    """Next-response and resolution breaches the sweep recorded on Monday are listed once each, with where they
    stand."""
    from dataclasses import replace

    from bot.blocks.digest import breach_text
    from bot.models import Reminder

    policy = replace(
        POLICY, normal=replace(POLICY.normal, resolution=timedelta(hours=4), next_response=timedelta(hours=2))
    )
    with db.session_scope(sessions) as s:
        s.add_all(
            [
                # A (open): resolution due Mon 13:10 after 4 working hours; the breach and the later escalation
                Reminder(
                    case_id=ids["A"],
                    clock="resolution",
                    stage="breach",
                    clock_start=local(23, 9, 10),
                    sent_at=local(23, 13, 11),
                ),
                Reminder(
                    case_id=ids["A"],
                    clock="resolution",
                    stage="escalation",
                    clock_start=local(23, 9, 10),
                    sent_at=local(23, 17, 11),
                ),
                # B (resolved since): the customer wrote again at 10:00; the next response was due at 12:00
                Reminder(
                    case_id=ids["B"],
                    clock="next_response",
                    stage="breach",
                    clock_start=local(23, 10, 0),
                    sent_at=local(23, 12, 1),
                ),
                # H: a resolution breach from the week before is not Monday's
                Reminder(
                    case_id=ids["H"],
                    clock="resolution",
                    stage="breach",
                    clock_start=local(18, 10, 0),
                    sent_at=local(18, 14, 1),
                ),
            ]
        )
    with sessions() as s:
        found = digest.build(s, day=date(2026, 11, 23), now=TUESDAY, policy=policy, tz=TZ)
    others = [(b.case.case_id, b.clock, b.due, b.answered) for b in found.breaches if b.clock != "first_response"]
    assert others == [
        (ids["B"], "next_response", local(23, 12, 0), True),
        (ids["A"], "resolution", local(23, 13, 10), False),
    ]
    texts = [breach_text(b, lambda channel, ts: None, TZ) for b in found.breaches if b.clock != "first_response"]
    assert "next response late, answered since" in texts[0] and "due 12:00" in texts[0]
    assert "resolution late, *still open*" in texts[1] and "due 13:10" in texts[1]


# -- a new desk: no digest about a day before it existed ---------------------------------------------


def test_a_desk_started_after_the_digest_time_first_reports_on_its_first_whole_day(sessions) -> None:
    with db.session_scope(sessions) as s:
        assert desk.record_start(s, now=local(24, 14, 30)) == local(24, 14, 30)
    assert tick(sessions, local(24, 14, 31)) == 0  # nothing about Monday, when the desk did not exist
    assert tick(sessions, local(25, 9, 0)) == 0  # Tuesday was not a whole day either
    assert tick(sessions, local(26, 8, 59)) == 0
    assert tick(sessions, local(26, 9, 0)) == 2  # Wednesday, the first whole day, on Thursday morning
    with sessions() as s:
        assert [i.payload["day"] for i in s.scalars(select(OutboxItem))] == ["2026-11-25", "2026-11-25"]


def test_a_desk_started_at_local_midnight_reports_on_that_very_day(sessions) -> None:
    with db.session_scope(sessions) as s:
        desk.record_start(s, now=local(24, 0, 0))
    assert tick(sessions, local(25, 9, 0)) == 2
    with sessions() as s:
        assert {i.payload["day"] for i in s.scalars(select(OutboxItem))} == {"2026-11-24"}


def test_the_start_is_recorded_once_and_older_cases_move_it_back(sessions, ids) -> None:
    with db.session_scope(sessions) as s:
        assert desk.record_start(s, now=local(24, 9, 0)) == local(24, 9, 0)
        assert desk.record_start(s, now=local(25, 9, 0)) == local(24, 9, 0)  # a later start changes nothing
        assert desk.started_at(s) == local(14, 12, 0)  # the data set's first case came earlier
        assert digest.first_report_day(s, TZ) == date(2026, 11, 15)


def test_a_desk_that_never_ran_reports_nothing(sessions) -> None:
    with sessions() as s:
        assert desk.started_at(s) is None and digest.first_report_day(s, TZ) is None
    assert tick(sessions, local(24, 9, 0)) == 0


def test_the_first_whole_day_follows_the_teams_zone_across_daylight_saving() -> None:
    berlin = TZ
    # Sun 29 Mar 2026: 02:00 CET jumps to 03:00 CEST; 00:00 still exists and is that day's start
    assert desk.first_whole_day(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), berlin) == date(2026, 3, 29)
    assert desk.first_whole_day(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), berlin) == date(2026, 3, 30)
    # 22:30 UTC on 25 Oct is 23:30 CET the same day; 23:00 UTC is midnight of the 26th exactly
    assert desk.first_whole_day(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), berlin) == date(2026, 10, 26)
    assert desk.first_whole_day(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), berlin) == date(2026, 10, 26)
    assert desk.first_whole_day(datetime(2026, 10, 25, 23, 0, 1, tzinfo=UTC), berlin) == date(2026, 10, 27)


def test_the_on_demand_digest_queues_yesterday_only_once_the_desk_ran_all_of_it(sessions) -> None:
    with db.session_scope(sessions) as s:
        desk.record_start(s, now=local(24, 14, 30))
    with db.session_scope(sessions) as s:
        early = digest.request(s, user_id="U0ASK", now=local(25, 10, 0), tz=TZ)
        assert early == digest.NotYet(asked=date(2026, 11, 24), started=local(24, 14, 30), first_day=date(2026, 11, 25))
        assert digest.request(s, user_id="U0ASK", now=local(26, 10, 0), tz=TZ) == date(2026, 11, 25)
    with sessions() as s:
        assert [i.payload for i in s.scalars(select(OutboxItem))] == [{"user": "U0ASK", "day": "2026-11-25"}]


def test_the_digest_of_a_23_hour_day_counts_every_post_of_that_local_day(sessions) -> None:
    """Sun 29 Mar 2026 in Berlin runs from 00:00 CET to 00:00 CEST: 23 hours, all of them reported."""
    from tests.support.stats_dataset import add_case

    sunday = date(2026, 3, 29)
    moments = {
        "before": datetime(2026, 3, 28, 23, 59, tzinfo=TZ),
        "first": datetime(2026, 3, 29, 0, 0, tzinfo=TZ),
        "after_jump": datetime(2026, 3, 29, 3, 0, tzinfo=TZ),
        "last": datetime(2026, 3, 29, 23, 59, tzinfo=TZ),
        "next": datetime(2026, 3, 30, 0, 0, tzinfo=TZ),
    }
    with db.session_scope(sessions) as s:
        desk.record_start(s, now=datetime(2026, 3, 20, 12, 0, tzinfo=TZ))
        for n, (name, moment) in enumerate(moments.items()):
            add_case(
                s,
                name,
                platform="twitter",
                priority="normal",
                created=moment,
                scores=[(moment, -0.5)],
                ts=f"17951000{n:02d}.000100",
            )
    with sessions() as s:
        report = digest.build(s, day=sunday, now=datetime(2026, 3, 30, 9, 0, tzinfo=TZ), policy=POLICY, tz=TZ)
    assert report.yesterday.new.total == 3 and report.posts == 3  # first, after_jump, last
    assert [(p.day, p.new) for p in report.daily[-2:]] == [(date(2026, 3, 28), 1), (sunday, 3)]
    assert not report.quiet
