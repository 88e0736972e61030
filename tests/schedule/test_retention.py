"""CARE_RETENTION_DAYS: the scheduler's retention job erases cases closed longer ago, and nothing else.

Time is a manual clock moved by hand; the job is run as the scheduler runs it (`retention_tick(rt)`).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.config import load_settings
from bot.models import Base
from bot.schedule.jobs import retention_tick
from bot.schedule.scheduler import jobs
from bot.services import cases, erasure
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env

DAYS = 30
SAM = {
    "id": "1790000000000000009",
    "author": {"id": "77", "handle": "sam_k", "name": "Sam Kim"},
    "text": "@acme the lounge wifi is down again",
    "url": "https://x.com/sam_k/status/1790000000000000009",
}


@pytest.fixture
def env(slack, database_url) -> dict[str, str]:
    return make_env(slack, database_url, CARE_RETENTION_DAYS=str(DAYS))


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def resolve(desk: Desk, case_id: int) -> None:
    with desk.rt.unit() as session:
        cases.resolve(session, case_id=case_id, user_id="U0BOB", outcome="resolved", comment=None, now=desk.rt.now())
    desk.settle()


def case_message(desk: Desk, case_id: int) -> str:
    ts = desk.case(case_id).slack_ts
    [message] = [m for m in desk.slack.channel(CHANNEL) if m.ts == ts]
    return message.text + "\n" + all_text(message.blocks)


def stored(desk: Desk) -> str:
    with desk.rt.sessions() as session:
        rows = [dict(row._mapping) for table in Base.metadata.sorted_tables for row in session.execute(table.select())]
    return json.dumps(rows, default=str)


def tick(desk: Desk) -> erasure.Erased:
    erased = retention_tick(desk.rt)
    desk.settle()
    return erased


def test_a_case_closed_longer_ago_than_the_retention_days_is_erased_and_no_other(desk: Desk, clock) -> None:
    jane = desk.new_case()
    resolve(desk, jane)
    clock.advance(days=DAYS - 1)
    sam = desk.new_case(**SAM)  # open for a day: kept however old it gets
    clock.advance(hours=23, minutes=59)

    assert tick(desk) == erasure.Erased()  # a minute short of 30 days
    assert "Jane Doe" in case_message(desk, jane)

    clock.advance(minutes=2)
    erased = tick(desk)
    assert erased.cases == 1 and erased.posts == 1
    shown = case_message(desk, jane)
    assert erasure.REMOVED in shown and "Jane Doe" not in shown and "three weeks late" not in shown
    assert "jane_doe" not in stored(desk) and "three weeks late" not in stored(desk)
    assert "Sam Kim" in case_message(desk, sam) and "lounge wifi" in stored(desk)
    kept = desk.case(jane)
    assert (kept.status, kept.outcome, kept.priority) == ("resolved", "resolved", "high")

    assert tick(desk) == erasure.Erased()  # every hour after: nothing left to do


def test_a_case_reopened_before_its_time_is_kept(desk: Desk, clock) -> None:
    jane = desk.new_case()
    resolve(desk, jane)
    clock.advance(days=DAYS - 2)
    with desk.rt.unit() as session:
        cases.reopen(session, case_id=jane, user_id="U0BOB", now=desk.rt.now())
    clock.advance(days=DAYS)
    assert tick(desk) == erasure.Erased()
    assert "Jane Doe" in case_message(desk, jane)


def test_the_retention_job_runs_only_when_retention_days_are_set(env) -> None:
    assert "retention" in [job.id for job in jobs(load_settings(env))]
    unset = {k: v for k, v in env.items() if k != "CARE_RETENTION_DAYS"}
    assert "retention" not in [job.id for job in jobs(load_settings(unset))]


def test_without_retention_days_nothing_is_erased(desk: Desk, clock, settings, monkeypatch) -> None:
    monkeypatch.setattr(desk.rt, "settings", dataclasses.replace(settings, retention_days=None))
    jane = desk.new_case()
    resolve(desk, jane)
    clock.advance(days=10 * DAYS)
    assert tick(desk) == erasure.Erased()
    assert "Jane Doe" in case_message(desk, jane)
