"""The poller: cursor stored with the mentions, pace kept across restarts, one poller at a time, failures lose nothing.

The platform here is a scripted connector behind the `PollingConnector` interface (the platforms' own
contract tests live in tests/connectors/); what is asserted is what reaches the fake Slack and
what the poller asks the platform for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.errors import AuthError, RateLimited, TransientError
from bot.models import Mention, PollCursor
from bot.runtime import Runtime, build_runtime
from bot.schedule.polling import Poller
from bot.services import polls
from connectors.base import Author, InboundMention, MentionDeleted, MentionEdited, PollResult
from tests.support.env import CHANNEL


def post(n: int, text: str = "my order never arrived, really disappointed") -> InboundMention:
    return InboundMention(
        platform="scripted",
        external_id=f"p{n}",
        author=Author(id=f"a{n}", handle=f"user{n}"),
        text=text,
        posted_at=datetime(2026, 11, 24, 9, n % 60, tzinfo=UTC),
    )


@dataclass
class ScriptedPlatform:
    """Serves posts newer than the cursor (an integer id), like a since_id API; can be told to fail."""

    name: str = "scripted"
    poll_seconds: float = 60.0
    posts: list[InboundMention] = field(default_factory=list)
    extra: list[object] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    asked: list[str | None] = field(default_factory=list)

    def poll(self, cursor: str | None) -> PollResult:
        self.asked.append(cursor)
        if self.failures:
            raise self.failures.pop(0)
        since = int(cursor or 0)
        new = [p for p in self.posts if int(p.external_id[1:]) > since]
        changes = [*new, *self.extra]
        self.extra = []
        newest = max([since, *(int(p.external_id[1:]) for p in new)])
        return PollResult(changes=changes, cursor=str(newest) if newest else cursor)


def with_poller(rt: Runtime, platform: ScriptedPlatform) -> Poller:
    rt.connectors[platform.name] = platform  # type: ignore[assignment]
    return Poller(connectors=[platform], unit=rt.unit, clock=rt.clock, channel=CHANNEL)


@pytest.fixture
def platform() -> ScriptedPlatform:
    return ScriptedPlatform(posts=[post(1), post(2)])


@pytest.fixture
def second_rt(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


def mentions(rt: Runtime) -> int:
    with rt.unit() as s:
        return int(s.scalar(select(func.count()).select_from(Mention)) or 0)


def cursor_row(rt: Runtime, name: str = "scripted") -> PollCursor:
    with rt.unit() as s:
        row = s.get(PollCursor, name)
        assert row is not None
        s.expunge(row)
        return row


def test_polled_posts_become_cases_in_slack_and_the_cursor_is_stored(rt, slack, platform):
    poller = with_poller(rt, platform)
    assert poller.poll_once("scripted") == 2
    rt.deliverer.drain()
    texts = [m.text for m in slack.channel(CHANNEL)]
    assert len(texts) == 2 and all("my order never arrived" in t for t in texts)
    assert cursor_row(rt).cursor == "2"


def test_restart_resumes_from_the_cursor_with_no_gap_and_no_duplicate(rt, second_rt, slack, clock, platform):
    with_poller(rt, platform).poll_once("scripted")
    rt.deliverer.drain()
    rt.close()  # the process stops; two posts arrive meanwhile
    platform.posts += [post(3), post(4)]
    clock.advance(60)
    assert with_poller(second_rt, platform).poll_once("scripted") == 2
    second_rt.deliverer.drain()
    assert platform.asked == [None, "2"]
    assert len(slack.channel(CHANNEL)) == 4 and mentions(second_rt) == 4


def test_the_configured_pace_holds_across_restarts(rt, second_rt, clock, platform):
    with_poller(rt, platform).poll_once("scripted")
    restarted = with_poller(second_rt, platform)
    clock.advance(59)
    assert restarted.poll_once("scripted") is None  # not due: a restart does not buy an extra (billed) read
    clock.advance(1)
    assert restarted.poll_once("scripted") == 0
    assert len(platform.asked) == 2


def test_two_processes_never_poll_at_the_same_time(rt, second_rt, platform):
    first, second = with_poller(rt, platform), with_poller(second_rt, platform)
    with rt.unit() as s:
        held = polls.lease(s, connector="scripted", owner=first.owner, now=rt.now())
    assert held is not None
    assert second.poll_once("scripted") is None  # leased by the first process
    assert platform.asked == []


def test_a_crash_between_fetch_and_store_repeats_the_poll_without_duplicates(rt, second_rt, slack, clock, platform):
    poller = with_poller(rt, platform)
    poller.poll_once("scripted")
    rt.deliverer.drain()
    # Simulate a process that fetched p3 and died before storing: its lease runs out, the cursor is unchanged.
    platform.posts.append(post(3))
    clock.advance(60)
    with rt.unit() as s:
        assert polls.lease(s, connector="scripted", owner="dead-process", now=rt.now()) is not None
    clock.advance(polls.LEASE.total_seconds() + 1)
    assert with_poller(second_rt, platform).poll_once("scripted") == 1
    second_rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 3


def test_rate_limit_waits_as_long_as_the_platform_says(rt, clock, platform):
    platform.failures = [RateLimited("slow down", retry_after=900)]
    poller = with_poller(rt, platform)
    assert poller.poll_once("scripted") is None
    assert cursor_row(rt).next_poll_at == clock.now() + timedelta(seconds=900)
    assert "slow down" in (cursor_row(rt).last_error or "")
    clock.advance(899)
    assert poller.poll_once("scripted") is None
    clock.advance(1)
    assert poller.poll_once("scripted") == 2


def test_outages_back_off_and_lose_nothing(rt, slack, clock, platform):
    platform.failures = [TransientError("HTTP 503"), TransientError("HTTP 503")]
    poller = with_poller(rt, platform)
    poller.poll_once("scripted")
    assert cursor_row(rt).next_poll_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)
    poller.poll_once("scripted")
    assert cursor_row(rt).next_poll_at == clock.now() + timedelta(seconds=120)  # doubled
    clock.advance(120)
    assert poller.poll_once("scripted") == 2
    row = cursor_row(rt)
    assert row.failures == 0 and row.last_error is None and row.cursor == "2"


def test_refused_credentials_are_retried_slowly_and_recorded(rt, clock, platform):
    platform.failures = [AuthError("X refused our credentials (HTTP 401: Unauthorized)")]
    with_poller(rt, platform).poll_once("scripted")
    row = cursor_row(rt)
    assert row.next_poll_at == clock.now() + timedelta(minutes=5)
    assert "HTTP 401" in (row.last_error or "")


def test_edits_and_deletions_reach_the_thread_and_keep_the_case(rt, slack, clock, platform):
    poller = with_poller(rt, platform)
    poller.poll_once("scripted")
    rt.deliverer.drain()
    clock.advance(60)
    platform.extra = [
        MentionEdited(
            platform="scripted", external_id="p1", text="update: it arrived, but broken", edited_at=clock.now()
        ),
        MentionDeleted(platform="scripted", external_id="p2", deleted_at=clock.now()),
        MentionEdited(platform="scripted", external_id="unknown", text="never seen", edited_at=clock.now()),
    ]
    assert poller.poll_once("scripted") == 2
    rt.deliverer.drain()
    first, second = slack.channel(CHANNEL)
    edited_note = slack.thread(CHANNEL, first.ts)[-1].text
    assert "edited their post" in edited_note and "it arrived, but broken" in edited_note
    assert "my order never arrived" in edited_note  # the earlier text stays on record
    assert "(edited)" in str(first.blocks)
    deleted_note = slack.thread(CHANNEL, second.ts)[-1].text
    assert "was deleted" in deleted_note and "kept" in deleted_note
    assert "(deleted on the platform)" in str(second.blocks)
    # replaying the same changes (a platform retry) adds nothing
    platform.extra = [
        MentionEdited(
            platform="scripted", external_id="p1", text="update: it arrived, but broken", edited_at=clock.now()
        ),
        MentionDeleted(platform="scripted", external_id="p2", deleted_at=clock.now()),
    ]
    clock.advance(60)
    assert poller.poll_once("scripted") == 0


def test_the_running_poller_keeps_the_pace_of_the_clock(rt, clock, platform):
    from tests.support.waiting import wait_for

    poller = with_poller(rt, platform)
    poller.start()
    try:
        wait_for(lambda: mentions(rt) == 2)
        platform.posts.append(post(3))
        clock.advance(60)
        wait_for(lambda: mentions(rt) == 3)
        assert platform.asked == [None, "2"]
    finally:
        poller.stop()
