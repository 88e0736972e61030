"""The managers' daily digest end to end: digest_tick queues it, the outbox worker opens the DM, posts the
digest and uploads its chart through files_upload_v2, all read back from the fake Slack. Exactly once per
day and manager, with two processes on one database. Data: tests/support/stats_dataset.py."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import session_scope
from bot.models import OutboxItem
from bot.runtime import build_runtime
from bot.schedule.jobs import digest_tick
from bot.services import outbox
from tests.support import stats_dataset
from tests.support.blocks import all_text
from tests.support.env import make_env
from tests.support.stats_dataset import local

MANAGERS = ("U0MGR1", "U0MGR2")
TUESDAY_9 = local(24, 9, 0)
UPLOAD_SEQUENCE = [
    "conversations.open",
    "chat.postMessage",
    "files.getUploadURLExternal",
    "upload_url",
    "files.completeUploadExternal",
]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def env(slack, database_url):
    return make_env(
        slack, database_url, CARE_MANAGERS=",".join(MANAGERS), CARE_DIGEST_TIME="09:00", **stats_dataset.ENV
    )


@pytest.fixture
def clock():
    """The desk (the `rt` fixture) starts on Monday 16 November, so it has run all of the week reported on."""
    return ManualClock(stats_dataset.local(16, 8, 0))


@pytest.fixture
def ids(rt, clock):
    with session_scope(rt.sessions) as s:
        return stats_dataset.build(s)


def digest_calls(slack) -> list[str]:
    return [c.method for c in slack.state.calls if c.method != "auth.test"]


def test_nothing_before_the_digest_time_then_one_digest_per_manager_with_its_chart(rt, slack, clock, ids) -> None:
    clock.set(TUESDAY_9 - timedelta(minutes=1))
    assert digest_tick(rt) == 0
    clock.set(TUESDAY_9)
    assert digest_tick(rt) == 2
    rt.deliverer.drain()

    assert digest_calls(slack) == UPLOAD_SEQUENCE * 2
    for manager in MANAGERS:
        digest_message, chart = slack.dm(manager)
        assert digest_message.thread_ts is None and chart.thread_ts is None
        assert chart.files is not None and chart.files[0]["name"] == "care-digest-2026-11-23.png"
        assert chart.files[0]["title"] == "Care desk, eight days to Mon 23 Nov"
    opened = slack.calls_to("conversations.open")
    assert [c.params["users"] for c in opened] == list(MANAGERS)
    completed = slack.calls_to("files.completeUploadExternal")
    assert [c.params["channel_id"] for c in completed] == [slack.state.dms[m] for m in MANAGERS]
    uploads = slack.uploads
    assert len(uploads) == 2 and all(u.data is not None and u.data.startswith(PNG) for u in uploads)
    assert all(u.length == len(u.data or b"") > 10_000 for u in uploads)
    assert uploads[0].alt_txt.startswith("Daily new cases, mean sentiment and median first-response time.")
    assert "Mon 23 Nov: 6 new, sentiment -0.38, median first response 30 min" in uploads[0].alt_txt


def test_the_digest_says_how_yesterday_compares_and_lists_every_breach(rt, slack, clock, ids) -> None:
    clock.set(TUESDAY_9)
    digest_tick(rt)
    rt.deliverer.drain()
    message = slack.dm("U0MGR1")[0]
    assert message.text.startswith("Care digest · Mon 23 Nov: 6 new, 2 resolved, 5 open")
    assert message.metadata and message.metadata["event_payload"]["outbox_id"] > 0
    blocks = message.blocks
    assert blocks[0]["text"]["text"] == "Care digest · Mon 23 Nov"
    summary = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in blocks[2]["fields"]}
    assert summary == {
        "*New cases*": "6 :arrow_up: · _7-day avg 0.3_",
        "*Resolved*": "2 · _7-day avg 0.1_",
        "*First response*": "median 30 min · 90th pct 1 h 18 min\n_7 days: 1 d 8 h · 2 d 10 h_",
        "*SLA met (first response)*": "40% met (2 of 5)\n_7 days: 100% met (2 of 2)_",
        "*Backlog at midnight*": "5 open :arrow_up: · _7-day avg 1.4_",
        "*Sentiment*": "-0.38 · _7 days -0.43_",
    }
    text = all_text(blocks)
    link = "https://standin.slack.com/archives/C0CARE/p{}000100"
    assert "*SLA breaches (3)*" in text
    assert (
        f"<{link.format(1795000002)}|Case #{ids['B']}> · :bird: X · *Customer B (@cust_b)* · <@U0ALICE> · "
        "due 10:30, answered after 1 h 30 min"
    ) in text
    assert f"<{link.format(1795000004)}|Case #{ids['D']}> · :large_blue_square: Facebook" in text
    assert "due 14:30, *still unanswered* after 19 h 30 min" in text
    assert f"|Case #{ids['E']}>" in text and "due 15:30, *still unanswered*" in text
    oldest = text.split("*Oldest open cases*")[1].split("*Praise worth sharing*")[0]
    assert [f"Case #{ids[n]}>" in oldest for n in "IACDE"] == [True] * 5
    assert oldest.index(f"Case #{ids['I']}>") < oldest.index(f"Case #{ids['A']}>")
    praise = text.split("*Praise worth sharing*")[1]
    assert "> Post 1 by customer E" in praise and "<https://example.com/E/0|View post>" in praise


def test_a_digest_with_nothing_in_the_seven_days_before_compares_with_nothing(rt, slack, clock) -> None:
    """Monday 23 is the first day anything came in: no averages of zero, no arrows, no "7 days —"."""
    with session_scope(rt.sessions) as s:
        at = local(23, 9, 10)
        stats_dataset.add_case(
            s,
            "A",
            platform="twitter",
            priority="normal",
            created=at,
            first_response=at + timedelta(minutes=30),
            scores=[(at, -0.6)],
        )
    clock.set(TUESDAY_9)
    digest_tick(rt)
    rt.deliverer.drain()
    message, _chart = slack.dm("U0MGR1")
    assert message.blocks[1]["elements"][0]["text"] == "Mon 23 Nov; no earlier period to compare."
    summary = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in message.blocks[2]["fields"]}
    assert summary == {
        "*New cases*": "1",
        "*Resolved*": "0",
        "*First response*": "median 30 min · 90th pct 30 min",
        "*SLA met (first response)*": "100% met (1 of 1)",
        "*Backlog at midnight*": "1 open",
        "*Sentiment*": "-0.60",
    }
    assert "—" not in all_text(message.blocks) and "7-day" not in all_text(message.blocks)
    [upload] = [u for u in slack.uploads if u.shared_to == slack.state.dms["U0MGR1"]]
    assert "Mon 16 Nov: no data; Tue 17 Nov: no data" in upload.alt_txt
    assert "Mon 23 Nov: 1 new, sentiment -0.60, median first response 30 min" in upload.alt_txt


def test_two_processes_ticking_together_send_each_manager_one_digest_a_day(rt, settings, slack, clock, ids) -> None:
    other = build_runtime(settings, clock=clock, sleep=lambda s: clock.advance(s))
    try:
        clock.set(TUESDAY_9)
        start = threading.Barrier(2)
        counts: list[int] = []

        def ticking(runtime) -> None:
            start.wait()
            counts.extend(digest_tick(runtime) for _ in range(5))

        threads = [threading.Thread(target=ticking, args=(r,)) for r in (rt, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(counts) == 2
        both = [threading.Thread(target=r.deliverer.drain) for r in (rt, other)]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join(60)
        rt.deliverer.drain()

        def delivered() -> dict[str, int]:
            return {m: len(slack.dm(m)) for m in MANAGERS}

        assert delivered() == {"U0MGR1": 2, "U0MGR2": 2}  # the digest and its chart, once each

        clock.set(local(24, 18, 0))  # later the same day, from either process: nothing more
        assert digest_tick(rt) + digest_tick(other) == 0
        clock.set(local(25, 8, 59))
        assert digest_tick(other) == 0
        clock.set(local(25, 9, 0))  # the next day: again, once
        assert digest_tick(other) + digest_tick(rt) == 2
        other.deliverer.drain()
        assert delivered() == {"U0MGR1": 3, "U0MGR2": 3}  # Tuesday had no post: one line, no chart
        tuesday = slack.dm("U0MGR2")[2]
        assert tuesday.blocks[0]["text"]["text"] == "Care digest · Tue 24 Nov"
        assert tuesday.text == "Care digest · Tue 24 Nov: A quiet day: no new posts. 5 cases still open at midnight."
    finally:
        other.close()


def test_a_failed_upload_is_retried_without_posting_the_digest_again(rt, slack, clock, ids) -> None:
    clock.set(TUESDAY_9)
    slack.fail("files.getUploadURLExternal", status=500)  # manager 1's chart: Slack has a bad moment
    digest_tick(rt)
    rt.deliverer.drain()
    with rt.sessions() as s:
        first = s.scalars(select(OutboxItem).where(OutboxItem.kind == "digest").order_by(OutboxItem.id)).first()
        assert first.state == outbox.PENDING and first.result["posted"] == 1 and "file_id" not in first.result
    # Slack failing pauses the whole lane (so the queue resumes in order): manager 2's digest waits too
    assert [len(slack.dm(m)) for m in MANAGERS] == [1, 0]
    clock.advance(minutes=10)
    rt.deliverer.drain()
    assert [len(slack.dm(m)) for m in MANAGERS] == [2, 2]  # the chart came late; the digest was not repeated
    assert slack.dm("U0MGR1")[1].files


def test_a_digest_slack_took_just_before_a_crash_is_found_not_posted_again(rt, slack, clock, ids, monkeypatch) -> None:
    clock.set(TUESDAY_9)
    digest_tick(rt)
    real = outbox.checkpoint

    def crash(*args, **kwargs):  # the process dies right after Slack accepted the digest
        monkeypatch.setattr(outbox, "checkpoint", real)
        raise RuntimeError("process died")

    monkeypatch.setattr(outbox, "checkpoint", crash)
    with pytest.raises(RuntimeError):
        rt.deliverer.run_once(outbox.SLACK)
    assert len(slack.dm("U0MGR1")) == 1
    clock.advance(seconds=outbox.LEASE_SECONDS + 1)  # the dead worker's lease runs out
    rt.deliverer.drain()
    first, chart = slack.dm("U0MGR1")  # found by its metadata in the DM's history, so posted once
    assert chart.files and not first.files
    assert [c.params["channel"] for c in slack.calls_to("conversations.history")] == [slack.state.dms["U0MGR1"]]


def unanswered_on_monday(rt, count: int) -> list[int]:
    """`count` complaints on Monday morning, a minute apart, none answered: each a first-response breach."""
    with session_scope(rt.sessions) as s:
        return [
            stats_dataset.add_case(
                s,
                f"N{n}",
                platform="twitter",
                priority="normal",
                created=local(23, 9, n),
                scores=[],
                ts=f"1795100{n:03d}.000100",
            ).id
            for n in range(count)
        ]


def test_breaches_past_twenty_are_listed_in_the_digests_thread(rt, slack, clock) -> None:
    made = unanswered_on_monday(rt, 45)
    clock.set(TUESDAY_9)
    digest_tick(rt)
    rt.deliverer.drain()
    posted = slack.dm("U0MGR1")
    digest_message, continued, chart = posted
    assert continued.thread_ts == digest_message.ts and chart.thread_ts is None and chart.files
    assert continued.text == "SLA breaches on Mon 23 Nov, continued (21–45 of 45)"
    assert "…and 25 more: the next 25 in this message's thread." in all_text(digest_message.blocks)
    for message in (digest_message, continued):  # within Slack's limits on blocks and on text
        assert len(message.blocks) <= 50 and len(all_text(message.blocks)) < 12_000
    listed = all_text(digest_message.blocks).split("*Oldest open cases*")[0] + all_text(continued.blocks)
    assert [listed.count(f"|Case #{case_id}>") for case_id in made] == [1] * 45
    assert continued.metadata["event_payload"] == {
        "outbox_id": digest_message.metadata["event_payload"]["outbox_id"],
        "part": 1,
    }


def test_a_day_of_more_breaches_than_a_digest_lists_lists_the_first_and_counts_the_rest(
    rt, slack, clock, monkeypatch
) -> None:
    """An outage day: the digest lists the first BREACHES_LISTED by due moment (20 in it, the rest in its
    thread) and counts the others, rather than posting hundreds of messages to each manager."""
    from bot.services import digest as digest_service

    monkeypatch.setattr(digest_service, "BREACHES_LISTED", 30)
    made = unanswered_on_monday(rt, 45)
    clock.set(TUESDAY_9)
    digest_tick(rt)
    rt.deliverer.drain()
    digest_message, continued, _chart = slack.dm("U0MGR1")
    head = all_text(digest_message.blocks)
    assert "*SLA breaches (45)*" in head and digest_message.text.endswith(", 45 breaches")
    assert "…and 25 more: the next 10 in this message's thread." in head
    assert continued.text == "SLA breaches on Mon 23 Nov, continued (21–30 of 45)"
    assert all_text(continued.blocks).endswith("…and 15 more, not listed here: each is in its case's thread.")
    listed = head.split("*Oldest open cases*")[0] + all_text(continued.blocks)
    assert [listed.count(f"|Case #{case_id}>") for case_id in made] == [1] * 30 + [0] * 15  # the earliest due


def test_a_day_without_a_post_gets_one_plain_line_and_no_chart(rt, slack, clock) -> None:
    """The desk ran all of Monday 23 and nothing came in: no figures of zeros, no empty chart."""
    clock.set(TUESDAY_9)
    assert digest_tick(rt) == 2
    rt.deliverer.drain()
    for manager in MANAGERS:
        [message] = slack.dm(manager)
        assert message.text == "Care digest · Mon 23 Nov: A quiet day: no new posts."
        assert [b["type"] for b in message.blocks] == ["header", "section"]
        assert message.blocks[1]["text"]["text"] == "A quiet day: no new posts."
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.uploads == []
