"""Nothing lost, nothing twice: the outbox across 429s, 5xx, network failures and restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.models import OutboxItem
from bot.outbox.worker import Deliverer
from bot.runtime import build_runtime
from bot.services import outbox
from tests.support.env import CHANNEL
from tests.support.webhooks import post_webhook, webhook_body


def complaint(app_url: str, n: int, **overrides) -> int:
    body = webhook_body(
        id=f"17900000000000{n:05d}", author={"id": f"a{n}", "handle": f"user{n}", "name": f"User {n}"}, **overrides
    )
    response = post_webhook(app_url, body)
    assert response.status_code == 202, response.text
    return int(response.json()["case_id"])


def test_429_waits_for_retry_after_then_delivers_once(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    slack.fail("chat.postMessage", status=429, retry_after=30)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []
    clock.advance(29)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == [] and len(slack.calls_to("chat.postMessage")) == 1  # it waited
    clock.advance(2)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_5xx_and_network_errors_are_retried_with_backoff(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    slack.fail("chat.postMessage", status=503, times=3)
    for _ in range(3):
        rt.deliverer.drain()
        clock.advance(minutes=10)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 4


def test_slack_down_entirely_then_back_loses_nothing(app_url, rt, settings, clock, slack) -> None:
    ids = [complaint(app_url, n) for n in range(3)]
    slack.stop()  # connection refused from now on
    rt.deliverer.drain()
    with rt.sessions() as s:
        pending = s.scalars(select(OutboxItem).where(OutboxItem.state == outbox.PENDING)).all()
        assert len(pending) == 3
        # the first try failed and the lane paused, rather than each item failing its own way out of order
        tried = [i for i in pending if i.last_error]
        assert len(tried) == 1 and "could not be reached" in tried[0].last_error
    # Slack comes back (same state, new port): a new process picks the queue up
    from bot.tools.slack_standin import SlackStandIn

    with SlackStandIn() as back:
        restarted = build_runtime(
            settings.__class__(**{**settings.__dict__, "slack_api_url": back.api_url}),
            clock=clock,
            sleep=lambda s: clock.advance(s),
        )
        try:
            clock.advance(minutes=10)
            restarted.deliverer.drain()
            assert len(back.channel(CHANNEL)) == len(ids)
        finally:
            restarted.close()


def test_crash_after_slack_accepted_does_not_post_twice(app_url, rt, slack, clock, settings) -> None:
    """A worker posts, then dies before recording it; its lease expires and another worker takes over."""
    complaint(app_url, 1)
    with rt.sessions.begin() as s:
        leased = outbox.lease_next(s, lane=outbox.SLACK, owner="dead-worker", now=clock.now())
    assert leased is not None
    # the dead worker's post reached Slack, with its outbox id in the metadata
    rt.slack.chat_postMessage(
        channel=CHANNEL,
        text="case",
        metadata={"event_type": "care_bot_delivery", "event_payload": {"outbox_id": leased.id}},
    )
    clock.advance(outbox.LEASE_SECONDS + 1)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1  # found, not re-posted
    assert len(slack.calls_to("conversations.history")) == 1
    # and the case now knows its message, so updates and notes go to it
    with rt.sessions() as s:
        from bot.models import Case

        assert s.get(Case, 1).slack_ts == slack.channel(CHANNEL)[0].ts


def test_restart_with_items_in_the_queue_delivers_each_once(app_url, rt, settings, clock, slack) -> None:
    for n in range(4):
        complaint(app_url, n)
    rt.deliverer.drain(limit=2)  # the process is stopped half-way
    rt.close()
    restarted = build_runtime(settings, clock=clock, sleep=lambda s: clock.advance(s))
    try:
        restarted.deliverer.drain()
        restarted.deliverer.drain()
    finally:
        restarted.close()
    assert len(slack.channel(CHANNEL)) == 4
    assert len(slack.calls_to("chat.postMessage")) == 4


def test_highest_priority_goes_first(app_url, rt, slack) -> None:
    complaint(app_url, 1, text="Thanks, lovely service today!")
    complaint(app_url, 2, text="Is my parcel on its way?")
    complaint(app_url, 3, text="I am calling my lawyer about this fraud")
    rt.deliverer.drain()
    order = [m.text.split("]")[0].strip("[") for m in slack.channel(CHANNEL)]
    assert order == ["urgent", "normal", "low"]


def test_within_a_priority_the_worst_goes_first_whenever_it_arrived(app_url, rt, slack) -> None:
    """A storm's queue: a furious complaint arriving last still goes before the milder ones of its priority."""
    texts = [
        "My refund is late and nobody answers.",  # high, sentiment 0.0
        "Where is my refund? Delayed again, waiting for hours.",  # high, -0.23
        "Still waiting for my refund, this is bad.",  # high, -0.54
        "My refund is late. Absolutely disgusting, horrible, worst service ever, I am furious.",  # high, -0.95
    ]
    for n, text in enumerate(texts):
        complaint(app_url, n, text=text)
    complaint(app_url, 9, text="I am calling my lawyer about this fraud")  # urgent: a higher priority still leads
    rt.deliverer.drain()
    posted = [m.text for m in slack.channel(CHANNEL)]
    assert all(p.startswith("[high]") for p in posted[1:]) and posted[0].startswith("[urgent]")
    shown = [next(n for n, text in enumerate(texts) if text[:30] in str(m.blocks)) for m in slack.channel(CHANNEL)[1:]]
    assert shown == [3, 2, 1, 0]


def test_posts_are_paced_to_one_per_second_per_channel(app_url, rt, slack, clock) -> None:
    for n in range(5):
        complaint(app_url, n)
    start = clock.now()
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 5
    assert clock.now() - start >= timedelta(seconds=4)  # the pacer slept (on the manual clock) between posts


def test_thread_notes_wait_for_their_parent(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    post_webhook(
        app_url,
        webhook_body(id="17900000000000000099", author={"id": "a1", "handle": "user1"}, text="Hello? Still nothing."),
    )
    slack.fail("chat.postMessage", status=500)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []
    clock.advance(minutes=5)
    rt.deliverer.drain()
    parent = slack.channel(CHANNEL)[0]
    notes = slack.thread(CHANNEL, parent.ts)
    assert len(notes) == 1 and notes[0].text.startswith(":speech_balloon: *User* wrote again")
    assert "Hello? Still nothing." in notes[0].text


def test_two_workers_sharing_the_queue_post_each_item_once(app_url, rt, settings, clock, slack) -> None:
    for n in range(6):
        complaint(app_url, n)
    other = Deliverer(
        session_factory=rt.sessions,
        slack=rt.slack,
        connectors=rt.connectors,
        clock=clock,
        sleep=lambda s: clock.advance(s),
    )
    import threading

    threads = [threading.Thread(target=d.drain) for d in (rt.deliverer, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(slack.channel(CHANNEL)) == 6
    assert len(slack.calls_to("chat.postMessage")) == 6
