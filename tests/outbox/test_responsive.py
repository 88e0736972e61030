"""A Slack lane that stays responsive: short leases renewed while a call is in flight, a click's update before
new case messages, one pace per channel across replicas that learns from Retry-After, and an outage that
leaves the queue in priority order. Time is a ManualClock; every call goes to the fake Slack over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.models import Case
from bot.outbox.slack_lane import OUTAGE_TRIES
from bot.runtime import Runtime, build_runtime
from bot.services import outbox
from tests.support.env import CHANNEL
from tests.support.slack_requests import block_action, post_interaction
from tests.support.webhooks import post_webhook, webhook_body

URGENT = "I am calling my lawyer about this fraud"
NORMAL = "Is my parcel on its way?"
LOW = "Thanks, lovely service today!"


def complaint(app_url: str, n: int, text: str = NORMAL) -> int:
    body = webhook_body(
        id=f"17900000000000{n:05d}", author={"id": f"a{n}", "handle": f"user{n}", "name": f"User {n}"}, text=text
    )
    response = post_webhook(app_url, body)
    assert response.status_code == 202, response.text
    return int(response.json()["case_id"])


@dataclass
class Post:
    at: datetime
    replica: str
    outbox_id: int
    ok: bool


class RecordingClient(WebClient):
    """The real Slack client, noting when (on the test's clock) each chat.postMessage was made and by whom."""

    def __init__(self, name: str, clock: Any, posts: list[Post], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.clock, self.posts = name, clock, posts

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802  # slack_sdk's name
        marker = (kwargs.get("metadata") or {}).get("event_payload", {})
        at = self.clock.now()
        try:
            response = super().chat_postMessage(**kwargs)
        except SlackApiError:
            self.posts.append(Post(at, self.name, marker.get("outbox_id", 0), ok=False))
            raise
        self.posts.append(Post(at, self.name, marker.get("outbox_id", 0), ok=True))
        return response


@pytest.fixture
def replicas(settings, clock) -> Iterator[tuple[list[Post], list[Runtime]]]:
    """Two processes on one database: each its own Deliverer, Slack client and sleep, one clock."""
    posts: list[Post] = []
    runtimes = [
        build_runtime(
            settings,
            clock=clock,
            sleep=lambda seconds: clock.advance(seconds),
            slack=RecordingClient(
                name, clock, posts, token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15
            ),
        )
        for name in ("A", "B")
    ]
    yield posts, runtimes
    for runtime in runtimes:
        runtime.close()


# -- 1. short leases, renewed while held ---------------------------------------------------------------------------
def test_a_killed_workers_item_is_delivered_by_another_within_seconds(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    with rt.sessions.begin() as s:  # a worker leases the item and is killed before calling Slack
        assert outbox.lease_next(s, lane=outbox.SLACK, owner="killed-worker", now=clock.now()) is not None
    clock.advance(outbox.LEASE_SECONDS - 1)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []  # still its lease
    clock.advance(2)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1 and len(slack.calls_to("chat.postMessage")) == 1
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1


def test_a_lease_is_renewed_while_its_call_is_in_flight(app_url, replicas, slack, clock) -> None:
    posts, (a, b) = replicas
    complaint(app_url, 1)
    leased = a.deliverer.lease(outbox.SLACK)  # A holds it: its call is slow
    assert leased is not None
    for _ in range(4):  # 20 s, past the first lease, renewed every 5 s as the renewer thread does
        clock.advance(outbox.RENEW_SECONDS)
        assert a.deliverer.renew_leases() == 1
    b.deliverer.drain()
    assert slack.channel(CHANNEL) == []  # B left it alone
    a.deliverer.deliver(outbox.SLACK, leased)
    b.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1 and [p.replica for p in posts] == ["A"]
    assert a.deliverer.renew_leases() == 0  # nothing held any more


# -- 2. a click before new case messages ---------------------------------------------------------------------------
def test_a_claim_reaches_slack_before_the_waiting_new_cases(app_url, rt, slack, listeners) -> None:
    case_id = complaint(app_url, 1, text=LOW)
    rt.deliverer.drain()
    parent = slack.channel(CHANNEL)[0]
    for n in range(2, 22):  # a storm: 20 urgent cases wait for their messages
        complaint(app_url, n, text=URGENT)
    response = post_interaction(app_url, block_action("case_claim", str(case_id), message_ts=parent.ts))
    assert response.status_code == 200, response.text
    listeners.wait_idle()
    rt.deliverer.run_once(outbox.SLACK)  # one new case message may have been under way; then the click's
    rt.deliverer.run_once(outbox.SLACK)
    rt.deliverer.run_once(outbox.SLACK)
    updated = slack.channel(CHANNEL)[0]
    assert updated.ts == parent.ts and "<@U0ALICE>" in str(updated.blocks)  # the clicker sees the case is theirs
    assert any("claimed" in m.text for m in slack.thread(CHANNEL, parent.ts))
    assert len([m for m in slack.channel(CHANNEL) if m.thread_ts is None]) <= 2  # the storm mostly still waits
    rt.deliverer.drain()
    assert len([m for m in slack.channel(CHANNEL) if m.thread_ts is None]) == 21


def test_opening_the_reply_modal_shows_drafting_before_the_waiting_new_cases(app_url, rt, slack, listeners) -> None:
    """An action that writes no thread note (Reply marks the case "drafting") still goes in the staff band."""
    case_id = complaint(app_url, 1, text=LOW)
    rt.deliverer.drain()
    parent = slack.channel(CHANNEL)[0]
    for n in range(2, 22):
        complaint(app_url, n, text=URGENT)
    response = post_interaction(app_url, block_action("case_reply", str(case_id), message_ts=parent.ts))
    assert response.status_code == 200, response.text
    listeners.wait_idle()
    rt.deliverer.run_once(outbox.SLACK)  # one new case message may have been under way; then the click's
    rt.deliverer.run_once(outbox.SLACK)
    assert "is drafting a reply" in str(slack.channel(CHANNEL)[0].blocks)
    assert len([m for m in slack.channel(CHANNEL) if m.thread_ts is None]) <= 2


# -- 3. one pace per channel, across replicas, learning from Retry-After ------------------------------------------
def test_two_replicas_keep_one_pace_and_wait_out_a_retry_after(app_url, replicas, slack, clock) -> None:
    posts, (a, b) = replicas
    for n in range(8):
        complaint(app_url, n)
    for _ in range(3):  # the replicas take turns, each sure of its own pace
        a.deliverer.run_once(outbox.SLACK)
        b.deliverer.run_once(outbox.SLACK)
    slack.fail("chat.postMessage", status=429, retry_after=5)
    while len([p for p in posts if p.ok]) < 8:
        a.deliverer.run_once(outbox.SLACK)
        b.deliverer.run_once(outbox.SLACK)
        clock.advance(0.25)
    ok = [p for p in posts if p.ok]
    assert {p.replica for p in ok} == {"A", "B"}
    gaps = [(later.at - earlier.at).total_seconds() for earlier, later in zip(ok, ok[1:], strict=False)]
    assert min(gaps) >= 1.1  # never closer than the pace, whichever replica posted
    (refused,) = [p for p in posts if not p.ok]
    after = [p for p in ok if p.at > refused.at]
    assert (after[0].at - refused.at).total_seconds() >= 5  # nobody posted to the channel during Retry-After
    assert after[0].outbox_id == refused.outbox_id  # and the refused item kept its place: it went next
    assert len(slack.channel(CHANNEL)) == 8  # each once


def test_updates_go_on_while_the_channels_posts_wait_out_a_retry_after(app_url, rt, slack, clock, listeners) -> None:
    case_id = complaint(app_url, 1)
    rt.deliverer.drain()
    parent = slack.channel(CHANNEL)[0]
    complaint(app_url, 2)
    slack.fail("chat.postMessage", status=429, retry_after=30)
    rt.deliverer.drain()  # case 2's message is refused: posts wait 30 s
    response = post_interaction(app_url, block_action("case_claim", str(case_id), message_ts=parent.ts))
    assert response.status_code == 200, response.text
    listeners.wait_idle()
    rt.deliverer.drain()
    assert "<@U0ALICE>" in str(slack.channel(CHANNEL)[0].blocks)  # chat.update is not held by the post pace
    # ... while every post to the channel (case 2's message, the claim's note) waits: only the refused one was tried
    assert len(slack.channel(CHANNEL)) == 1 and len(slack.calls_to("chat.postMessage")) == 2
    clock.advance(31)
    rt.deliverer.drain()
    assert len([m for m in slack.channel(CHANNEL) if m.thread_ts is None]) == 2
    assert any("claimed" in m.text for m in slack.thread(CHANNEL, parent.ts))


# -- 4. an outage pauses the lane, not each item --------------------------------------------------------------------
def test_after_an_outage_the_queue_resumes_in_priority_order(app_url, rt, slack, clock) -> None:
    texts = [LOW, NORMAL, URGENT] * 3
    for n, text in enumerate(texts):
        complaint(app_url, n, text=text)
    slack.fail("chat.postMessage", status=503, times=4)
    for _ in range(40):  # Slack fails for a while, then is back
        rt.deliverer.drain()
        clock.advance(1)
    order = [m.text.split("]")[0].strip("[") for m in slack.channel(CHANNEL)]
    assert order == ["urgent"] * 3 + ["normal"] * 3 + ["low"] * 3
    assert len(slack.calls_to("chat.postMessage")) == 9 + 4


def test_a_message_slack_keeps_failing_on_steps_aside_after_a_while(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1, text=URGENT)
    complaint(app_url, 2, text=LOW)
    slack.fail("chat.postMessage", status=500, times=OUTAGE_TRIES)  # every try of the urgent case's message
    for _ in range(200):
        rt.deliverer.drain()
        clock.advance(5)
    posted = [m.text.split("]")[0].strip("[") for m in slack.channel(CHANNEL)]
    assert posted == ["low", "urgent"]  # the lane went on without it, and it came through later, once
    assert len(slack.calls_to("chat.postMessage")) == OUTAGE_TRIES + 2


# -- 6. more than one call in flight --------------------------------------------------------------------------------
@pytest.mark.realtime
def test_a_click_shows_while_a_slow_post_is_in_flight(app_url, rt, slack, listeners) -> None:
    case_id = complaint(app_url, 1)
    rt.deliverer.drain()
    parent = slack.channel(CHANNEL)[0]
    complaint(app_url, 2)
    slack.slow("chat.postMessage", 2.0)
    response = post_interaction(app_url, block_action("case_claim", str(case_id), message_ts=parent.ts))
    assert response.status_code == 200, response.text
    listeners.wait_idle()
    rt.deliverer.start()
    try:
        deadline = time.monotonic() + 10
        while len(slack.calls_to("chat.postMessage")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # a post is under way (Slack takes 2 s to answer it) ...
        while not slack.calls_to("chat.update") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "<@U0ALICE>" in str(slack.channel(CHANNEL)[0].blocks)
        # ... and the click showed before it was answered: nothing new in the channel or the thread yet
        assert len(slack.channel(CHANNEL)) + len(slack.thread(CHANNEL, parent.ts)) == 1
        while len(slack.channel(CHANNEL)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        rt.deliverer.stop()
    assert len(slack.channel(CHANNEL)) == 2 and any("claimed" in m.text for m in slack.thread(CHANNEL, parent.ts))


@pytest.mark.realtime
def test_many_clicks_update_their_messages_side_by_side(app_url, rt, slack, listeners) -> None:
    """Slack may take half a second per chat.update: one at a time, the last of many people clicking together
    waits for all the others. Several are in flight at once (a case's own stay in order: see lease_next)."""
    cases = [complaint(app_url, n) for n in range(6)]
    rt.deliverer.drain()
    with rt.sessions() as s:
        timestamps = {case_id: s.get(Case, case_id).slack_ts for case_id in cases}
    parents = {case_id: next(m for m in slack.channel(CHANNEL) if m.ts == ts) for case_id, ts in timestamps.items()}
    for n in range(len(cases)):
        slack.add_user(f"U0STAFF{n}", f"Staff Member{n}")
    slack.slow("chat.update", 0.5)
    for n, case_id in enumerate(cases):
        user = f"U0STAFF{n}"
        response = post_interaction(
            app_url, block_action("case_claim", str(case_id), message_ts=parents[case_id].ts, user=user)
        )
        assert response.status_code == 200, response.text
    listeners.wait_idle()
    rt.deliverer.start()
    try:
        deadline = time.monotonic() + 15
        while len(slack.calls_to("chat.update")) < len(cases) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        rt.deliverer.stop()
    updates = slack.calls_to("chat.update")
    assert len(updates) == len(cases)  # one update per click, none repeated
    arrivals = sorted(call.at for call in updates)
    # one at a time they would arrive 0.5 s apart (2.5 s from first to last); side by side, together
    assert arrivals[-1] - arrivals[0] < 1.0, arrivals
    for n, case_id in enumerate(cases):
        shown = next(m for m in slack.channel(CHANNEL) if m.ts == parents[case_id].ts)
        assert f"<@U0STAFF{n}>" in str(shown.blocks)
