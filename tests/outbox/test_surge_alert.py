"""The spike alert as the team sees it in the fake Slack: the app served over HTTP, complaints through the signed
webhook, clicks signed as Slack sends them, the scheduler's `surge_tick` run by hand on a manual clock, the outbox
drained. CARE_SPIKE_PER_MIN is 5 here, so a surge is a handful of posts."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.blocks.digest import digest_messages
from bot.models import OutboxItem, Surge
from bot.runtime import Runtime, build_runtime
from bot.schedule.jobs import surge_tick
from bot.services import digest, outbox
from bot.services import surge as surge_service
from tests.blocks.slack_rules import live_sequences, message_problems, payload_texts
from tests.schedule.test_scheduler import together
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env
from tests.support.slack_requests import post_command, post_event
from tests.support.webhooks import post_webhook, webhook_body

LEAD = "<@U0LEAD> <!subteam^S0MANAGERS>"  # CARE_ESCALATE_TO in tests/support/env.py
COMPLAINTS = [
    "@acme flight cancelled, lost bag, worst airline ever. Furious.",
    "@acme flight cancelled again and no refund. Terrible.",
    "@acme my flight cancelled and nobody answers, awful service",
    "@acme lost bag, flight cancelled, I hate this",
    "@acme flight cancelled. ok I guess",
    "@acme flight delayed three hours, bad",
    "@acme still waiting for my refund, horrible",
    "@acme flight cancelled, thanks for nothing",
]


@pytest.fixture
def env(slack, database_url) -> dict[str, str]:
    return make_env(slack, database_url, CARE_SPIKE_PER_MIN="5")


@pytest.fixture
def rt2(settings, clock) -> Iterator[Runtime]:
    """A second bot process on the same database (and the same Slack)."""
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def complain(desk: Desk, n: int, text: str | None = None, *, settle: bool = True, **author: str) -> None:
    """Customer number `n` (their own case) writes, through the signed webhook."""
    who = {"id": f"a{n}", "handle": f"cust{n}", "name": f"Customer {n}", **author}
    body = webhook_body(id=str(1000 + n), author=who, text=text or COMPLAINTS[n % len(COMPLAINTS)])
    assert post_webhook(desk.url, body).status_code == 202
    if settle:
        desk.settle()


def tick(desk: Desk) -> None:
    surge_tick(desk.rt)
    desk.settle()


def alerts(slack) -> list[Any]:
    return [m for m in slack.channel(CHANNEL) if "Surge" in m.text or "surge" in m.text]


def the_alert(slack) -> Any:
    found = alerts(slack)
    assert len(found) == 1, [m.text for m in found]
    return found[0]


def alert_text(slack) -> str:
    return json.dumps(the_alert(slack).blocks, ensure_ascii=False)


def updates_of(slack, ts: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.update") if c.params.get("ts") == ts]


def test_no_alert_under_the_threshold(desk: Desk, slack) -> None:
    for n in range(4):
        complain(desk, n)
    tick(desk)
    tick(desk)
    assert alerts(slack) == []
    assert len(slack.channel(CHANNEL)) == 4  # the four case messages, as always


def test_crossing_the_threshold_posts_one_alert_updated_in_place(desk: Desk, slack, clock) -> None:
    start = clock.now()
    for n in range(5):
        complain(desk, n)
    tick(desk)
    alert = the_alert(slack)
    assert alert.text.startswith(":rotating_light: Surge: 5 mentions in the last minute (peak 5 a minute)")
    shown = alert_text(slack)
    assert "*5* in the last minute (peak *5* a minute)" in shown
    assert f"{LEAD}: a surge has started." in shown
    assert "So far: 5 mentions · 5 new cases · 0 answered" in shown
    assert ":red_circle: 4 negative · :white_circle: 0 neutral · :large_green_circle: 1 positive" in shown
    assert "*Most common terms:* cancelled (5) · flight (5) · bag (2) · lost (2)" in shown
    assert "“flight cancelled” (5)" in shown and "“lost bag” (2)" in shown
    # the worst, each with its case's buttons, which the usual listeners act on
    buttons = [b for b in alert.blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in buttons] == [f"case_actions_{i}" for i in (1, 4, 3, 2)]
    assert [e["text"]["text"] for e in buttons[0]["elements"]][:2] == ["Claim", "Reply"]

    clock.set(start + timedelta(seconds=20))
    for n in range(5, 8):
        complain(desk, n)
    tick(desk)
    assert len(the_alert(slack).blocks) and alert.ts == the_alert(slack).ts  # the same message: no second alert
    [update] = updates_of(slack, alert.ts)
    shown = alert_text(slack)
    assert "*8* in the last minute (peak *8* a minute)" in shown
    assert "So far: 8 mentions · 8 new cases" in shown
    # CARE_ESCALATE_TO was mentioned once, in the post: never again in an update
    assert LEAD not in json.dumps(update.params) and LEAD not in shown
    mentioned = [
        c for c in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update") if "U0LEAD" in str(c.params)
    ]
    assert len(mentioned) == 1

    tick(desk)  # nothing changed: no call
    assert len(updates_of(slack, alert.ts)) == 1

    desk.click("case_claim", 4, user="U0BOB")  # from the alert's buttons
    assert desk.case(4).owner_id == "U0BOB"
    tick(desk)  # the alert shows who has it now
    assert len(updates_of(slack, alert.ts)) == 2
    assert "*Owner:* <@U0BOB>" in alert_text(slack)
    assert len(alerts(slack)) == 1


def test_the_alert_goes_ahead_of_the_waiting_case_messages_and_a_backlog_alone_starts_it(
    desk: Desk, slack, clock
) -> None:
    """Two mentions a minute, but Slack has taken none of their case messages yet: a backlog of five is a surge."""
    start = clock.now()
    for n in range(5):
        clock.set(start + timedelta(seconds=30 * n))
        complain(desk, n, settle=False)
    clock.set(start + timedelta(seconds=140))
    with desk.rt.read() as s:
        assert surge_service.reading(s, now=clock.now()) == surge_service.Reading(rate=2, backlog=5)
    tick(desk)
    first, *cases = slack.channel(CHANNEL)
    assert first.text.startswith(":rotating_light: Surge: 2 mentions in the last minute")
    assert "5 case messages waiting to be posted" in json.dumps(first.blocks)
    # the high ones keep their own messages; the normal one of the surge's first minute is in the alert's thread
    assert [m.text.split("]")[0] for m in cases] == ["[high"] * 4
    [batch] = slack.thread(CHANNEL, first.ts)
    assert "Customer 4" in json.dumps(batch.blocks) and "Open as case" in json.dumps(batch.blocks)


def test_the_end_says_so_with_totals_and_how_long_it_lasted(desk: Desk, slack, clock) -> None:
    for n in range(6):
        complain(desk, n)
    began = clock.now()  # (each case message posted moved the clock on by the channel's pace)
    tick(desk)
    alert = the_alert(slack)
    desk.click("case_reply", 1)
    desk.send_reply(desk.last_view(), "So sorry, we are rebooking you now.")
    quiet = began + timedelta(minutes=7)
    clock.set(quiet)  # the minute's mentions have long aged out and nothing waits
    tick(desk)
    clock.set(quiet + timedelta(minutes=2, seconds=50))
    tick(desk)
    assert "The surge is over" not in alert_text(slack)
    clock.set(quiet + timedelta(minutes=3))
    tick(desk)
    final = the_alert(slack)
    assert final.ts == alert.ts
    assert final.text == (
        ":white_check_mark: The surge is over: it lasted 7 min, "
        "6 mentions, 6 new cases, 1 answered so far; peak 6 a minute."
    )
    assert "*The surge is over.* It lasted 7 min (" in alert_text(slack)
    assert "So far:" not in alert_text(slack)  # the live figures give way to the totals
    calls = len(slack.calls_to("chat.update"))
    clock.set(quiet + timedelta(minutes=30))
    tick(desk)
    assert len(slack.calls_to("chat.update")) == calls  # over is over: the final word stays


def test_two_processes_ticking_at_once_start_one_surge(desk: Desk, rt, rt2, slack, clock) -> None:
    for n in range(5):
        complain(desk, n)
    together(*[lambda r=r: surge_tick(r) for r in (rt, rt2, rt, rt2)])
    together(rt.deliverer.drain, rt2.deliverer.drain)
    alert = the_alert(slack)
    clock.advance(seconds=15)
    complain(desk, 6)
    together(*[lambda r=r: surge_tick(r) for r in (rt, rt2, rt, rt2)])
    together(rt.deliverer.drain, rt2.deliverer.drain)
    assert len(alerts(slack)) == 1 and len(updates_of(slack, alert.ts)) == 1
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Surge)) == 1
        kinds = s.scalars(select(OutboxItem.kind).where(OutboxItem.kind.in_(surge_service.KINDS))).all()
        assert sorted(kinds) == [surge_service.POST, surge_service.UPDATE]


def test_an_alert_slack_took_just_before_a_crash_is_found_not_posted_again(
    desk: Desk, slack, clock, monkeypatch
) -> None:
    for n in range(5):
        complain(desk, n)
    surge_tick(desk.rt)
    real = surge_service.record_alert

    def crash(*args: Any, **kwargs: Any) -> None:  # the process dies right after Slack accepted the alert
        monkeypatch.setattr(surge_service, "record_alert", real)
        raise RuntimeError("process died")

    monkeypatch.setattr(surge_service, "record_alert", crash)
    with pytest.raises(RuntimeError):
        desk.rt.deliverer.run_once(outbox.SLACK)
    assert len(alerts(slack)) == 1
    clock.advance(seconds=outbox.LEASE_SECONDS + 1)  # the dead worker's lease runs out
    desk.rt.deliverer.drain()
    alert = the_alert(slack)  # found by its metadata in the channel's history, so posted once
    assert len(slack.calls_to("conversations.history")) == 1
    with desk.rt.sessions() as s:
        assert s.scalars(select(Surge.slack_ts)).one() == alert.ts  # and its updates go to it
    clock.advance(seconds=5)
    complain(desk, 9)
    tick(desk)
    assert len(alerts(slack)) == 1 and len(updates_of(slack, alert.ts)) == 1


HOSTILE = (
    "<!channel> *URGENT* <https://evil.example|click to verify> &amp; <@U0ALICE> ~gone~ `rm -rf` "
    + "&<>" * 600
    + " flight cancelled"
)


def test_hostile_customer_text_in_the_worst_examples_stays_inert_and_fits(desk: Desk, slack) -> None:
    for n in range(5):
        complain(desk, n, HOSTILE + " terrible awful" * (n + 1), name="<!here> *Boss* " + "&" * 100, handle="<@U0BOB>")
    tick(desk)
    alert = the_alert(slack)
    for call in slack.calls_to("chat.postMessage"):
        if "Surge" in str(call.params.get("text")):
            text, blocks = call.params["text"], call.params["blocks"]
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            assert message_problems(text, blocks) == []
            assert "refused" not in json.dumps(blocks)  # Slack took it as built, not the plain form
            for part in payload_texts(text, blocks):
                assert live_sequences(part, staff={"U0LEAD"}) == [], part[:300]
    shown = alert_text(slack)
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown and "<!here>" not in shown
    assert "\u2217URGENT\u2217" in shown  # their *bold* is shown as typed, not as ours
    assert len([b for b in alert.blocks if b["type"] == "actions"]) == 5


# -- a surge in the figures (item 4): /care stats, the Home tab and the digest name it --------------------
ASKED = itertools.count(1)
ON = re.compile(
    r":rotating_light: \*A surge is on\* since <!date\^(\d+)\^\{date_short_pretty\} at \{time\}\|[^>]+> \((\d+ min)\): "
    r"so far (.+?)(?: · <(https://[^|>]+)\|the alert>)?$"
)
OVER = re.compile(
    r":rotating_light: \*Surge\* <!date\^(\d+)\^[^>]+> to <!date\^(\d+)\^[^>]+> \((\d+ min)\): (.+?)"
    r"(?: · <(https://[^|>]+)\|the alert>)?$"
)


def stats(desk: Desk, slack, period: str = "today", user: str = "U0ALICE") -> str:
    """`/care stats <period>` as Slack sends it: the text of the private answer."""
    before = len(slack.responses)
    asked = slack.response_url(f"s{next(ASKED)}")
    answer = post_command(desk.url, text=f"stats {period}", user=user, response_url=asked)
    assert answer.status_code == 200
    desk.listeners.wait_idle()
    assert len(slack.responses) == before + 1
    return all_text(slack.responses[-1]["blocks"])


def home(desk: Desk, slack, user: str = "U0ALICE") -> str:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": "1.0"}
    assert post_event(desk.url, event).status_code == 200
    desk.listeners.wait_idle()
    view = slack.home_view(user)
    assert view is not None
    return all_text(view["blocks"])


def surge_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith(":rotating_light:")]


def test_stats_the_home_tab_and_the_digest_name_the_surge(desk: Desk, slack, clock) -> None:
    for n in range(6):
        complain(desk, n)
    assert surge_lines(stats(desk, slack)) == []  # not yet: no tick has judged it
    began = clock.now()  # (each case message posted moved the clock on by the channel's pace)
    tick(desk)
    alert = the_alert(slack)
    desk.click("case_reply", 1)
    desk.send_reply(desk.last_view(), "So sorry, we are rebooking you now.")
    clock.set(began + timedelta(minutes=4))

    # while it lasts: the stats name it with its figures so far, and the Home tab heads with it
    [line] = surge_lines(stats(desk, slack))
    on = ON.match(line)
    assert on, line
    assert int(on.group(1)) == int(began.timestamp())  # Slack shows the moment in each reader's own zone
    assert on.group(2) == "4 min"
    assert on.group(3) == "6 mentions, 6 new cases, 1 answered; peak 6 a minute"
    assert on.group(4) == desk.rt.thread_url("C0CARE", alert.ts)  # a link to the alert, whose thread gathers
    shown = home(desk, slack)
    assert surge_lines(shown) == [line]
    assert shown.index(":rotating_light:") < shown.index("*Your open cases")  # at the top, where it is seen

    # someone outside the team sees the figures but no link into the care channel
    outsider = home(desk, slack, user="U0OUTSIDER")
    [theirs] = surge_lines(outsider)
    assert ON.match(theirs) and ON.match(theirs).group(4) is None  # type: ignore[union-attr]
    assert "6 mentions, 6 new cases, 1 answered" in theirs

    # it ends after three quiet minutes; from then on it is named with its span, and the Home tab drops it
    quiet = began + timedelta(minutes=7)
    clock.set(quiet)
    tick(desk)
    clock.set(quiet + timedelta(minutes=3))
    tick(desk)
    assert the_alert(slack).text.startswith(":white_check_mark: The surge is over")
    [line] = surge_lines(stats(desk, slack, "7d"))
    over = OVER.match(line)
    assert over, line
    assert over.group(3) == "7 min"
    assert over.group(4) == "6 mentions, 6 new cases, 1 answered; peak 6 a minute"
    assert surge_lines(home(desk, slack)) == []

    # the next morning's digest is about the day it happened, and names it the same way
    tz = desk.rt.settings.timezone
    day = began.astimezone(tz).date()
    later = clock.now() + timedelta(days=1)
    with desk.rt.read() as s:
        made = digest.build(s, day=day, now=later, policy=desk.rt.settings.sla, tz=tz)
    fallback, blocks = digest_messages(made, link_for=desk.rt.thread_url, tz=tz)[0]
    [line] = surge_lines(all_text(blocks))
    assert OVER.match(line) and "6 mentions, 6 new cases, 1 answered" in line
    assert fallback.endswith(", 1 surge in mentions")
    # a day without one says nothing of surges
    with desk.rt.read() as s:
        calm = digest.build(s, day=day - timedelta(days=2), now=later, policy=desk.rt.settings.sla, tz=tz)
    assert not any(surge_lines(all_text(b)) for _, b in digest_messages(calm, link_for=desk.rt.thread_url, tz=tz))
