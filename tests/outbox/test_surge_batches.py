"""Gathered, not flooded (issue 17, item 3), as the team sees it in the fake Slack: during a surge the new normal- and
low-priority cases are listed in batches in the alert's thread, each with "Open as case"; urgent and high ones get
their own message. The app is served over HTTP, posts come through the signed webhook, clicks are signed as Slack
sends them, the scheduler's `surge_tick` is run by hand on the manual clock and the outbox drained.
CARE_SPIKE_PER_MIN is 5 here, so five angry posts start a surge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.blocks import ids
from bot.models import Case, Mention, OutboxItem
from bot.runtime import Runtime, build_runtime
from bot.schedule.jobs import surge_tick
from bot.services import outbox
from bot.services import surge as surge_service
from tests.blocks.slack_rules import live_sequences, message_problems, payload_texts
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env
from tests.support.webhooks import post_webhook, webhook_body

STRANGER = "U0MALLORY"
ANGRY = "@acme flight cancelled, lost bag, worst airline ever. Furious."  # high
NORMAL = "@acme any news on parcel number {n}, can you check?"  # normal
LOW = "@acme love the new app, number {n}"  # low (positive)
URGENT = "@acme my card was charged twice, fraud!"  # urgent
HIGH = "@acme terrible service, never again"  # high
CASE_BUTTONS = ["Claim", "Reply", "Move to DM", "Escalate", "Ignore", "Resolve", "Follow up"]


@pytest.fixture
def env(slack, database_url) -> dict[str, str]:
    slack.set_members(CHANNEL, ["U0ALICE", "U0BOB", "UCAREBOT"])
    return make_env(slack, database_url, CARE_SPIKE_PER_MIN="5")


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


@pytest.fixture
def rt2(settings, clock) -> Iterator[Runtime]:
    """A bot process started after the first one died (same database, same Slack)."""
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


def write(desk: Desk, n: int, text: str, *, post_id: int | None = None) -> None:
    """Customer number `n` posts (their own case, or the one they have open), through the signed webhook."""
    who = {"id": f"a{n}", "handle": f"cust{n}", "name": f"Customer {n}"}
    body = webhook_body(id=str(post_id or 1000 + n), author=who, text=text.format(n=n))
    assert post_webhook(desk.url, body).status_code == 202


def tick(desk: Desk) -> None:
    surge_tick(desk.rt)
    desk.settle()


def start_surge(desk: Desk, slack) -> Any:
    """Five angry customers: their case messages, then the alert (returned)."""
    for n in range(5):
        write(desk, n, ANGRY)
    desk.settle()
    tick(desk)
    [alert] = [m for m in slack.channel(CHANNEL) if "Surge" in m.text]
    return alert


def case_messages(slack) -> dict[int, Any]:
    """Top-level case messages by case id (from their buttons' block id)."""
    found = {}
    for m in slack.channel(CHANNEL):
        for block in m.blocks or []:
            if block.get("block_id", "").startswith("case_actions_") and "Surge" not in m.text:
                found[int(block["block_id"].removeprefix("case_actions_"))] = m
    return found


def batches(slack, alert: Any) -> list[Any]:
    return [m for m in slack.thread(CHANNEL, alert.ts) if m.text.startswith(":inbox_tray:")]


def entries(message: Any) -> list[tuple[int, bool, str]]:
    """(case id, has an "Open as case" button, the entry's text) of each post a batch message lists."""
    listed = []
    for block in message.blocks[1:]:
        text = block["text"]["text"]
        case_id = int(text.split("Case #")[1].split()[0].rstrip("·"))
        button = block.get("accessory")
        if button is not None:
            assert button["action_id"] == ids.ACTION_OPEN_GATHERED and button["value"] == str(case_id)
            assert button["text"]["text"] == "Open as case"
        listed.append((case_id, button is not None, text))
    return listed


def listed_cases(slack, alert: Any) -> list[int]:
    return [case_id for m in batches(slack, alert) for case_id, _, _ in entries(m)]


def labels(message: Any) -> list[str]:
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    return [e["text"]["text"] for e in actions["elements"]]


def mention_count(desk: Desk) -> int:
    with desk.rt.sessions() as s:
        return len(s.scalars(select(Mention.id)).all())


def notes_in_threads(slack) -> int:
    """Posts shown as "wrote again" in case threads."""
    return sum(
        1 for parent in slack.channel(CHANNEL) for m in slack.thread(CHANNEL, parent.ts) if "wrote again" in m.text
    )


def nothing_waits(desk: Desk) -> None:
    with desk.rt.sessions() as s:
        waiting = s.execute(select(OutboxItem.kind, OutboxItem.last_error).where(OutboxItem.state == outbox.PENDING))
        assert list(waiting) == []


def storm(desk: Desk, *, normal: int = 12, low: int = 2) -> None:
    """During the surge: `normal` normal and `low` low posts, one urgent and one high, none drained yet."""
    for n in range(10, 10 + normal):
        write(desk, n, NORMAL)
    for n in range(40, 40 + low):
        write(desk, n, LOW)
    write(desk, 60, URGENT)
    write(desk, 61, HIGH)


def test_normal_and_low_are_gathered_in_the_alerts_thread_urgent_and_high_get_their_own_message(
    desk: Desk, slack
) -> None:
    alert = start_surge(desk, slack)
    storm(desk)
    tick(desk)
    with desk.rt.sessions() as s:
        priority = {row.id: row.priority for row in s.execute(select(Case.id, Case.priority))}
    parents = case_messages(slack)
    assert sorted(priority[c] for c in parents) == ["high"] * 6 + ["urgent"]
    found = batches(slack, alert)
    assert [len(entries(m)) for m in found] == [10, 4]  # at most BATCH_SIZE a message
    listed = listed_cases(slack, alert)
    assert sorted(priority[c] for c in listed) == ["low"] * 2 + ["normal"] * 12
    assert set(listed).isdisjoint(parents)  # no case both as a message and in a batch
    assert len(listed) == len(set(listed))
    # every post accounted for exactly once: a case message (its first post) or a batch entry
    assert len(parents) + len(listed) == mention_count(desk) == 21
    first = entries(found[0])[0][2]
    assert "*Customer 10* (@cust10)" in first and ":large_yellow_circle: Normal" in first
    assert "\n> @acme any news on parcel number 10, can you check?" in first and "|View post>" in first
    assert all(button for m in found for _, button, _ in entries(m))
    assert found[0].text.startswith(":inbox_tray: 10 posts gathered during the surge: Customer 10, Customer 11")
    nothing_waits(desk)


def test_a_private_message_in_a_surge_keeps_its_own_case_message(desk: Desk, slack) -> None:
    """A customer writing to us privately is in a conversation with us, not part of the public storm."""
    alert = start_surge(desk, slack)
    storm(desk, normal=2, low=0)
    who = {"id": "a90", "handle": "cust90", "name": "Customer 90"}
    body = webhook_body(id="dm-90", author=who, text=NORMAL.format(n=90), visibility="private", url=None)
    assert post_webhook(desk.url, body).status_code == 202
    tick(desk)
    with desk.rt.sessions() as s:
        [dm_case] = s.scalars(select(Case.id).where(Case.author_id == "a90")).all()
    assert dm_case in case_messages(slack) and dm_case not in listed_cases(slack, alert)
    assert ":lock: *Private message*" in json.dumps(case_messages(slack)[dm_case].blocks)
    assert len(listed_cases(slack, alert)) == 2  # the two public normal posts are gathered as ever
    nothing_waits(desk)


def test_open_as_case_posts_its_message_once_and_marks_it_in_the_batch(desk: Desk, slack) -> None:
    alert = start_surge(desk, slack)
    storm(desk, normal=3, low=0)
    tick(desk)
    [batch] = batches(slack, alert)
    first, second, _ = [case_id for case_id, _, _ in entries(batch)]
    other = case_messages(slack)[1]

    desk.click(ids.ACTION_OPEN_GATHERED, first)
    desk.click(ids.ACTION_OPEN_GATHERED, first)  # a second click (another person, a slow screen): acts once
    opened = case_messages(slack)
    assert list(opened).count(first) == 1
    assert labels(opened[first]) == labels(other) == CASE_BUTTONS
    assert [c.params.get("thread_ts") for c in slack.calls_to("chat.postMessage")].count(None) == len(opened) + 1
    assert "news on parcel number" in json.dumps(opened[first].blocks)
    [batch] = batches(slack, alert)  # updated in place
    shown = {case_id: (button, text) for case_id, button, text in entries(batch)}
    assert shown[first][0] is False and "Opened as a case by <@U0ALICE>" in shown[first][1]
    assert shown[second][0] is True
    updates = [c for c in slack.calls_to("chat.update") if c.params.get("ts") == batch.ts]
    assert len(updates) == 1

    desk.click(ids.ACTION_OPEN_GATHERED, second, user=STRANGER)  # not on the care team
    assert [e["text"] for e in slack.state.ephemeral if e["user"] == STRANGER] == [
        "Only the care team can open gathered posts as cases. Nothing was changed."
    ]
    assert second not in case_messages(slack)
    assert entries(batches(slack, alert)[0])[1][1] is True
    with desk.rt.sessions() as s:
        gathered = {row.id: row.gathered_in for row in s.execute(select(Case.id, Case.gathered_in))}
        assert gathered[first] is None and gathered[second] is not None
    # the opened case is a case like any other: its buttons work
    desk.click("case_claim", first, user="U0BOB")
    assert "*Owner:* <@U0BOB>" in json.dumps(case_messages(slack)[first].blocks)
    nothing_waits(desk)


def test_a_gathered_customer_writing_again_is_listed_again_not_lost(desk: Desk, slack) -> None:
    alert = start_surge(desk, slack)
    storm(desk, normal=2, low=0)
    tick(desk)
    [batch] = batches(slack, alert)
    gathered = entries(batch)[0][0]
    write(desk, 10, "@acme hello? still waiting on parcel {n}", post_id=5010)  # customer 10 again: same case
    desk.settle()
    tick(desk)
    later = batches(slack, alert)
    assert len(later) == 2
    [(case_id, button, text)] = entries(later[1])
    assert case_id == gathered and button and "_wrote again_" in text and "still waiting on parcel 10" in text
    assert notes_in_threads(slack) == 0
    assert len(case_messages(slack)) + len(listed_cases(slack, alert)) == mention_count(desk)
    nothing_waits(desk)
    # opened, it is marked in both batches; what they write next joins its thread as usual
    desk.click(ids.ACTION_OPEN_GATHERED, gathered)
    assert all(not button for m in batches(slack, alert) for c, button, _ in entries(m) if c == gathered)
    write(desk, 10, "@acme thanks for looking", post_id=5011)
    desk.settle()
    tick(desk)
    parent = case_messages(slack)[gathered]
    assert [m.text for m in slack.thread(CHANNEL, parent.ts) if "wrote again" in m.text] != []
    assert len(batches(slack, alert)) == 2
    nothing_waits(desk)


def test_a_teammate_acting_on_a_gathered_case_from_the_alert_opens_it(desk: Desk, slack) -> None:
    """A claim from elsewhere (a gathered case can be among the alert's worst) needs the case's message."""
    alert = start_surge(desk, slack)
    storm(desk, normal=2, low=0)
    tick(desk)
    gathered = entries(batches(slack, alert)[0])[0][0]
    desk.click("case_claim", gathered, user="U0BOB")
    tick(desk)
    parent = case_messages(slack)[gathered]
    assert "*Owner:* <@U0BOB>" in json.dumps(parent.blocks)
    assert any("U0BOB" in m.text for m in slack.thread(CHANNEL, parent.ts))  # the claim's note, behind it
    assert "Opened as a case" in json.dumps(batches(slack, alert)[0].blocks)
    nothing_waits(desk)


def test_a_crash_between_gathering_and_posting_loses_nothing(desk: Desk, slack, rt2) -> None:
    alert = start_surge(desk, slack)
    storm(desk, normal=3, low=0)
    surge_tick(desk.rt)  # gathered and committed; the process dies before it posts anything
    rt2.deliverer.drain()  # the next process posts what was queued
    listed = listed_cases(slack, alert)
    assert len(listed) == 3 and len(case_messages(slack)) + len(listed) == mention_count(desk)
    desk.settle()
    assert len(batches(slack, alert)) == 1


def test_a_batch_slack_took_just_before_a_crash_is_found_not_posted_again(
    desk: Desk, slack, clock, monkeypatch
) -> None:
    alert = start_surge(desk, slack)
    storm(desk, normal=3, low=0)
    surge_tick(desk.rt)
    real = surge_service.record_batch

    def crash(*args: Any, **kwargs: Any) -> None:  # the process dies right after Slack accepted the batch
        monkeypatch.setattr(surge_service, "record_batch", real)
        raise RuntimeError("process died")

    monkeypatch.setattr(surge_service, "record_batch", crash)
    with pytest.raises(RuntimeError):
        desk.rt.deliverer.drain(outbox.SLACK)
    assert len(batches(slack, alert)) == 1
    clock.advance(seconds=outbox.LEASE_SECONDS + 1)  # the dead worker's lease runs out
    desk.rt.deliverer.drain()
    [batch] = batches(slack, alert)  # found by its metadata in the alert's thread: posted once
    assert len(slack.calls_to("conversations.replies")) >= 1
    assert len(listed_cases(slack, alert)) == 3
    desk.click(ids.ACTION_OPEN_GATHERED, entries(batch)[0][0])  # and its update goes to it
    assert [c.params["ts"] for c in slack.calls_to("chat.update") if "inbox_tray" in str(c.params)] == [batch.ts]
    nothing_waits(desk)


def test_a_waiting_batch_keeps_the_surge_on_and_after_it_new_cases_are_posted_as_usual(
    desk: Desk, slack, clock
) -> None:
    start_surge(desk, slack)
    storm(desk, normal=3, low=0)
    surge_tick(desk.rt)
    with desk.rt.read() as s:
        assert surge_service.reading(s, now=clock.now()).backlog == 3  # the urgent, the high and the batch
    desk.settle()
    quiet = clock.now() + timedelta(minutes=7)
    clock.set(quiet)
    tick(desk)
    clock.set(quiet + timedelta(minutes=3))
    tick(desk)
    assert "The surge is over" in slack.channel(CHANNEL)[5].text
    write(desk, 90, NORMAL)
    desk.settle()
    tick(desk)
    with desk.rt.sessions() as s:
        after = s.scalar(select(Case.id).where(Case.author_id == "a90"))
    assert after in case_messages(slack)
    assert all(after not in listed_cases(slack, m) for m in slack.channel(CHANNEL) if "Surge" in m.text)
    nothing_waits(desk)


HOSTILE = (
    "<!channel> *URGENT* <https://evil.example|click to verify> &amp; <@U0ALICE> ~gone~ `rm -rf` "
    + "&<>" * 600
    + " my parcel is late"
)


def test_ten_hostile_posts_fit_one_batch_inert_and_uncut(desk: Desk, slack) -> None:
    alert = start_surge(desk, slack)
    for n in range(10, 20):
        who = {"id": f"a{n}", "handle": "<@U0BOB>" + "&" * 80, "name": "<!here> *Boss* " + "&" * 100}
        body = webhook_body(id=str(1000 + n), author=who, text=HOSTILE, url="https://x.example/" + "&" * 300)
        assert post_webhook(desk.url, body).status_code == 202
    tick(desk)
    [batch] = batches(slack, alert)
    assert len(entries(batch)) == 10  # all ten listed: nothing cut to fit
    [call] = [c for c in slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == alert.ts]
    text, blocks = call.params["text"], call.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert message_problems(text, blocks) == []
    assert "refused" not in json.dumps(blocks)
    for part in payload_texts(text, blocks):
        assert live_sequences(part, staff=set()) == [], part[:300]
    assert "<!channel>" not in json.dumps(blocks) and "\u2217URGENT\u2217" in json.dumps(blocks, ensure_ascii=False)


def test_opened_before_the_tick_lists_it_again_the_new_post_joins_the_case_thread_once(desk: Desk, slack) -> None:
    alert = start_surge(desk, slack)
    storm(desk, normal=2, low=0)
    tick(desk)
    gathered = entries(batches(slack, alert)[0])[0][0]
    write(desk, 10, "@acme hello? still waiting on parcel {n}", post_id=5010)
    desk.click(ids.ACTION_OPEN_GATHERED, gathered)  # opened before any tick saw the new post
    tick(desk)
    parent = case_messages(slack)[gathered]
    assert [m.text for m in slack.thread(CHANNEL, parent.ts) if "still waiting on parcel 10" in m.text] != []
    assert len(batches(slack, alert)) == 1  # not listed again as well
    assert len(case_messages(slack)) + len(listed_cases(slack, alert)) + notes_in_threads(slack) - 1 == (
        mention_count(desk)
    )  # the opened case is both a batch entry and a message; every other post once
    nothing_waits(desk)


def test_erasing_a_gathered_customer_takes_their_post_out_of_the_batch_message(desk: Desk, slack) -> None:
    """Erasure reaches every message that quotes the person: a batch in the alert's thread as well."""
    from bot.services import erasure

    alert = start_surge(desk, slack)
    storm(desk, normal=3, low=0)
    tick(desk)
    [batch] = batches(slack, alert)
    assert "parcel number 11, can you check" in json.dumps(batch.blocks) and "Customer 11" in json.dumps(batch.blocks)
    with desk.rt.unit() as s:
        erased = erasure.forget(s, platform="twitter", author_id="a11", now=desk.rt.now())
    assert erased.slack_updates >= 1
    desk.settle()
    [batch] = batches(slack, alert)  # the same message, updated in place
    shown = json.dumps(batch.blocks)
    assert "parcel number 11" not in shown and "Customer 11" not in shown and "cust11" not in shown
    assert "parcel number 10" in shown and "parcel number 12" in shown  # the others are still listed


def test_a_big_backlog_is_gathered_a_page_per_transaction_and_every_post_once(desk: Desk, slack, monkeypatch) -> None:
    """In a storm thousands of case messages wait: the tick gathers them a page at a time (each transaction short,
    so webhooks write between pages), and still lists every one exactly once."""
    monkeypatch.setattr(surge_service, "GATHER_LIMIT", 4)
    pages: list[int] = []
    real_gather = surge_service.gather

    def counting(session, **kwargs):  # type: ignore[no-untyped-def]
        found = real_gather(session, **kwargs)
        pages.append(found.cases)
        return found

    monkeypatch.setattr(surge_service, "gather", counting)
    alert = start_surge(desk, slack)
    pages.clear()
    storm(desk, normal=9, low=2)
    tick(desk)
    assert pages == [4, 4, 3]  # 11 normal and low posts: two full pages, then the rest
    listed = listed_cases(slack, alert)
    assert len(listed) == len(set(listed)) == 11
    assert len(case_messages(slack)) + len(listed) == mention_count(desk)


def test_shutting_down_stops_the_gathering_after_its_page_and_the_next_tick_goes_on(
    desk: Desk, slack, monkeypatch
) -> None:
    """SIGTERM mid-storm: the tick's gathering stops after the page it is on (the shutdown is not held up by a
    storm's backlog); the next process's tick gathers the rest, each post once."""
    monkeypatch.setattr(surge_service, "GATHER_LIMIT", 4)
    alert = start_surge(desk, slack)
    storm(desk, normal=9, low=2)
    desk.rt.stopping.set()
    assert surge_tick(desk.rt).gathered == 4  # one page
    desk.rt.stopping.clear()
    assert surge_tick(desk.rt).gathered == 7
    desk.settle()
    listed = listed_cases(slack, alert)
    assert len(listed) == len(set(listed)) == 11
