"""The hourly prune: keys of handled Slack deliveries are kept a day (long after Slack's retries), then go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import HandledDelivery
from bot.runtime import Runtime
from bot.schedule.jobs import prune_tick
from bot.schedule.scheduler import jobs
from bot.services import once


def keys(rt: Runtime) -> int:
    with rt.read() as session:
        return int(session.scalar(select(func.count()).select_from(HandledDelivery)) or 0)


def test_a_handled_delivery_is_still_refused_within_a_day_and_forgotten_after(rt: Runtime, clock: ManualClock) -> None:
    with rt.unit() as session:
        assert once.claim(session, key=once.key_of("click", 1), kind="block_actions", now=rt.now())
    clock.advance(timedelta(hours=20).total_seconds())
    with rt.unit() as session:
        assert once.claim(session, key=once.key_of("click", 2), kind="block_actions", now=rt.now())

    assert prune_tick(rt) == 0  # both younger than a day: a late retry is still recognised
    with rt.unit() as session:
        assert not once.claim(session, key=once.key_of("click", 1), kind="block_actions", now=rt.now())

    clock.advance(timedelta(hours=5).total_seconds())
    assert prune_tick(rt) == 1 and keys(rt) == 1  # the first is 25 h old, the second 5 h


def test_the_prune_is_one_of_the_scheduled_jobs(rt: Runtime) -> None:
    assert "prune_handled" in {job.id for job in jobs(rt.settings)}
