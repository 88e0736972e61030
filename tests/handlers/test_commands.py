"""`/care` over signed HTTP, as Slack sends it; answers read from what reached the fake Slack.

The data set is tests/support/stats_dataset.py (Monday 23 November 2026, 15:00 in Berlin).
"""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.models import DigestMarker, OutboxItem
from tests.support import stats_dataset
from tests.support.blocks import all_text
from tests.support.env import make_env
from tests.support.slack_requests import post_command
from tests.support.stats_dataset import ALICE, BOB, NOW

SENT = itertools.count(1)
USAGE_LINES = ("`/care stats [today|7d|30d]`", "`/care mine`", "`/care digest`", "`/care help`")


@pytest.fixture
def env(slack, database_url):
    """Alice and Bob are on the team (the care channel's members); Bob is also a manager."""
    return make_env(slack, database_url, CARE_MANAGERS=BOB, **stats_dataset.ENV)


@pytest.fixture
def ids(rt, clock):
    clock.set(NOW)
    with session_scope(rt.sessions) as s:
        return stats_dataset.build(s)


def command(app_url: str, slack, text: str, user: str = ALICE):
    """Send `/care <text>`; return the acknowledgement and the seconds it took."""
    started = time.monotonic()
    answer = post_command(app_url, text=text, user=user, response_url=slack.response_url(f"{user}-{next(SENT)}"))
    assert answer.status_code == 200, answer.text
    return answer, time.monotonic() - started


def responded(slack, listeners) -> dict:
    listeners.wait_idle()
    assert len(slack.responses) == 1, slack.responses
    return slack.responses[0]


def test_stats_answers_privately_with_the_figures_of_today(app_url, slack, listeners, ids) -> None:
    answer, _ = command(app_url, slack, "stats")
    assert answer.content == b""  # acknowledged at once; the figures follow through response_url
    reply = responded(slack, listeners)
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert reply["blocks"][0]["text"]["text"] == "Care stats · Today · Mon 23 Nov"
    shown = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in reply["blocks"][1]["fields"]}
    assert shown == {
        "*New*": "6 (urgent 1 · high 1 · normal 3 · low 1)",
        "*Resolved*": "2 (high 1 · normal 1)",
        "*Open now*": "5 (urgent 1 · normal 3 · low 1)",
        "*First response*": "median 30 min · 90th pct 1 h 18 min (3 answered)",
        "*SLA (first response)*": "50% met (2 of 4)",
    }
    text = all_text(reply["blocks"])
    assert ":bird: X: 3 new · 2 resolved · 1 open · median first response 1 h · SLA 50% met (1 of 2)" in text
    assert f"<@{ALICE}>: 2 new · 1 resolved · 1 open · median first response 1 h · SLA 50% met (1 of 2)" in text
    assert f"<@{BOB}>: 1 new · 1 resolved · 1 open · median first response 10 min · SLA 100% met (1 of 1)" in text
    assert "*Sentiment:* -0.38 on average, *worsening* against -0.10 yesterday" in text
    assert slack.calls_to("chat.postEphemeral") == []


def test_stats_of_a_desks_first_day_says_there_is_no_earlier_period(app_url, rt, clock, slack, listeners) -> None:
    """Nothing came in before today: the sentiment line says so, instead of "unknown against — yesterday"."""
    clock.set(NOW)
    with session_scope(rt.sessions) as s:
        stats_dataset.add_case(
            s,
            "A",
            platform="twitter",
            priority="normal",
            created=stats_dataset.local(23, 10),
            scores=[(stats_dataset.local(23, 10), -0.23)],
        )
    command(app_url, slack, "stats")
    text = all_text(responded(slack, listeners)["blocks"])
    assert "*Sentiment:* -0.23 on average; no earlier period to compare." in text
    assert "unknown" not in text and "against" not in text


@pytest.mark.parametrize(
    "period, title, new",
    [("7d", "Last 7 days · Tue 17 Nov – Mon 23 Nov", "8 "), ("30d", "Last 30 days · Sun 25 Oct – Mon 23 Nov", "9 ")],
)
def test_stats_for_seven_and_thirty_days(app_url, slack, listeners, ids, period, title, new) -> None:
    command(app_url, slack, f"stats {period}")
    reply = responded(slack, listeners)
    assert reply["blocks"][0]["text"]["text"] == f"Care stats · {title}"
    assert reply["blocks"][1]["fields"][0]["text"].startswith(f"*New*\n{new}")
    if period == "7d":
        assert "*First response*\nmedian 30 min · 90th pct 1 d 15 h (5 answered)" in all_text(reply["blocks"])


def test_mine_lists_the_askers_open_cases_with_thread_links(app_url, slack, listeners, ids) -> None:
    command(app_url, slack, "mine", user=ALICE)
    reply = responded(slack, listeners)
    assert reply["response_type"] == "ephemeral"
    text = reply["blocks"][0]["text"]["text"]
    assert text.startswith("*Your open cases (1)*\n")
    assert f"<https://standin.slack.com/archives/C0CARE/p1795000001000100|Case #{ids['A']}>" in text
    assert "*Customer A (@cust_a)*" in text and "Post 1 by customer A" in text
    assert f"Case #{ids['B']}" not in text  # resolved


def test_mine_with_nothing_open_says_so(app_url, slack, listeners, ids) -> None:
    slack.add_user("U0NOBODY", "Noa Body")  # on the team (in the care channel), with no case
    command(app_url, slack, "mine", user="U0NOBODY")
    assert responded(slack, listeners)["text"].startswith("You have no open cases.")


def test_digest_is_acknowledged_at_once_and_sent_by_dm_through_the_outbox(app_url, rt, slack, listeners, ids) -> None:
    answer, _ = command(app_url, slack, "digest", user=BOB)
    assert answer.content == b""  # acknowledged at once; the answer follows through response_url
    said = responded(slack, listeners)
    assert said["response_type"] == "ephemeral" and said["text"] == (
        "Your digest is on its way: it arrives in your direct messages with Care Desk in a moment."
    )
    with rt.sessions() as s:
        queued = s.scalars(select(OutboxItem).where(OutboxItem.kind == "digest")).all()
        assert [i.payload for i in queued] == [{"user": BOB, "day": "2026-11-22"}]  # yesterday
        assert s.scalars(select(DigestMarker)).all() == []  # on demand: the daily digest still comes
    rt.deliverer.drain()
    posted = slack.dm(BOB)
    assert posted[0].blocks[0]["text"]["text"] == "Care digest · Sun 22 Nov"
    assert posted[1].files and posted[1].files[0]["name"] == "care-digest-2026-11-22.png"


def test_digest_on_a_desk_that_started_today_says_when_the_first_one_comes(
    app_url, rt, slack, listeners, clock
) -> None:
    """The desk (the `rt` fixture) started at the manual clock's first moment: Mon 23 Nov 09:00 UTC, 10:00 in Berlin."""
    clock.advance(hours=5)
    answer, _ = command(app_url, slack, "digest", user=BOB)
    assert answer.content == b""
    said = responded(slack, listeners)
    assert said["response_type"] == "ephemeral" and said["text"] == (
        "No digest yet: the desk started on Mon 23 Nov at 10:00, so the first digest covers Tue 24 Nov and "
        "reaches managers on Wed 25 Nov at 09:00. `/care stats` shows today so far."
    )
    with rt.sessions() as s:
        assert s.scalars(select(OutboxItem).where(OutboxItem.kind == "digest")).all() == []


@pytest.mark.parametrize(
    "text, first_line",
    [
        ("", "*/care* — the social care desk"),
        ("help", "*/care* — the social care desk"),
        ("HELP me", "*/care* — the social care desk"),
        ("escalate now", "I don't know `/care escalate`."),
        ("<!channel>", "I don't know `/care &lt;!channel&gt;`."),
        ("stats weekly", "I don't know the period `weekly`: use `today`, `7d` or `30d`."),
        ("stats 7d 30d", "I don't know the period `7d 30d`: use `today`, `7d` or `30d`."),
    ],
)
def test_help_unknown_subcommands_and_bad_periods_show_usage(app_url, slack, listeners, text, first_line) -> None:
    answer, _ = command(app_url, slack, text)
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].split("\n")[0] == first_line
    for line in USAGE_LINES:
        assert line in body["text"]
    assert "<#C0CARE>" in body["text"]
    listeners.wait_idle()
    assert slack.responses == []


@pytest.mark.realtime
def test_every_subcommand_is_acknowledged_fast_while_slack_is_slow(app_url, rt, slack, listeners, ids) -> None:
    command(app_url, slack, "help")  # Bolt's own auth.test on a process's first request is not ours to measure
    slack.slow("response_url", 2.0)
    slack.slow("auth.test", 2.0)  # thread links need the workspace URL once
    timings = {text: command(app_url, slack, text)[1] for text in ("stats", "stats 30d", "mine", "digest", "help")}
    assert max(timings.values()) < 1.0, timings  # Slack gives up after 3 s
    listeners.wait_idle(timeout=30)
    assert len(slack.responses) == 4  # stats, stats 30d, mine and digest were answered after their acks
