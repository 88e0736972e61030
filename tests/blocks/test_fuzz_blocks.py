"""Whatever a customer sends (any name, handle, text or URL the webhooks accept: long, many lines, emoji,
every Slack control sequence), every builder's output fits Slack's documented limits after escaping, no
`<!…>`, `<@…>`, `<#…>` or `<http…|…>` of theirs is live in it, and their whole post is shown.

Checked against tests/blocks/slack_rules.py, written from Slack's reference apart from bot/blocks/limits.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import sla
from bot.blocks import case as case_blocks
from bot.blocks import digest as digest_blocks
from bot.blocks import figures, home, limits, modals
from bot.blocks.links import thread_url
from bot.blocks.mrkdwn import inert
from bot.models import Case, CaseEvent, Mention
from bot.services.digest import Breach, Digest, Praise
from bot.services.queues import Queue, case_line
from bot.services.replies import NO_PUBLIC_POST, PRIVATE, PUBLIC, ReplyWays
from bot.services.stats import Attainment, Figures, Period, PriorityCounts, ResponseTimes, SentimentTrend, Stats
from tests.blocks.slack_rules import dump, live_sequences, message_problems, texts, view_problems

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STAFF = {"U0ALICE", "U0BOB", "U0BOSS"}
CONTROL = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0EVIL>",
    "<@U0ALICE>",  # even a real teammate's id: a customer's text must not ping them
    "<#C0EVIL>",
    "<!subteam^S0EVIL>",
    "<!date^1^{date}|x>",
    "<https://evil.example|click here>",
    "<mailto:a@evil.example|mail>",
    "<https://example.com/a|View post>",
    "&",
    "&amp;",
    "&lt;!here&gt;",
    "*bold*",
    "_x_",
    "~x~",
    "`code`",
    "```block```",
    "> ",
    "\n",
    "\r\n",
    "😀",
    "👩‍👩‍👧",
    "\u200b",
    "<",
    ">",
    "|",
]
pieces = st.one_of(st.sampled_from(CONTROL), st.text(max_size=40))
short_text = st.lists(pieces, max_size=12).map("".join)
long_text = st.builds(
    lambda unit, n, tail: (unit * n)[:40_000] + tail,
    st.sampled_from(["a\n", "&", "😀", "<!channel>\n", "x", "*_~` ", "& <@U0EVIL>\n\n", "word " * 20 + "\n"]),
    st.integers(min_value=1, max_value=40_000),
    short_text,
)
post_text = st.one_of(short_text, long_text)
name = st.one_of(st.none(), st.lists(pieces, max_size=10).map(lambda p: "".join(p)[:256] or "N"), st.just("&" * 256))
handle = st.one_of(st.lists(pieces, min_size=1, max_size=8).map(lambda p: "".join(p)[:128] or "h"), st.just("&" * 128))
url_path = st.text(alphabet="abc/?=&%-_.~#0123456789", max_size=2000)
url = st.one_of(
    st.none(),
    url_path.map(lambda p: ("https://example.com/" + p)[:2048]),
    st.sampled_from(["https://evil.example|click", "javascript:alert(1)", "https://x.example/<!here>", "http://a b"]),
)

# every control sequence at once, in the name, the handle and the text (always tried, whatever hypothesis draws)
ALL = "".join(CONTROL)
EVERY = {"author_name": ALL[:256], "author_handle": ALL[:128], "text": ALL * 3, "post_url": "https://example.com/a&b"}

FUZZ = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def make_case(author_name: str | None, author_handle: str, text: str, post_url: str | None, **extra: Any) -> Case:
    case = Case(
        id=7,
        platform="twitter",
        connector="generic",
        author_id="1",
        author_handle=author_handle,
        author_name=author_name,
        status="open",
        priority="high",
        slack_channel="C0CARE",
        slack_ts="1795000001.000001",
        created_at=NOW - timedelta(hours=3),
        updated_at=NOW,
        **extra,
    )
    case.mentions = [
        Mention(
            id=1,
            platform="twitter",
            external_id="1",
            author_id="1",
            author_handle=author_handle,
            author_name=author_name,
            text=text,
            url=post_url,
            posted_at=NOW,
            received_at=NOW,
            sentiment=-0.5,
            extra={"stars": 1},
        )
    ]
    case.reminders = []
    return case


def assert_message_ok(text: str, blocks: Any) -> None:
    problems = message_problems(text, blocks)
    assert not problems, (problems, dump(blocks))
    for rendered in [text, *texts(blocks or [])]:
        live = live_sequences(rendered, STAFF)
        assert not live, (live, rendered[:500])


def assert_view_ok(view: dict[str, Any]) -> None:
    problems = view_problems(view)
    assert not problems, (problems, dump(view))
    for rendered in texts(view.get("blocks", [])):
        live = live_sequences(rendered, STAFF)
        assert not live, (live, rendered[:500])


QUOTED = re.compile(r"^> ?", re.MULTILINE)


def shown_post(messages: list[tuple[str, Any]]) -> str:
    """The customer's words as the case message and its continuations show them, without quote marks or
    whitespace (a long line is wrapped into several quote lines)."""
    quoted = []
    for n, (_, blocks) in enumerate(messages):
        sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        for text in sections[1:2] if n == 0 else sections:  # the case message: its second section is the post
            quoted += [line for line in text.splitlines() if line.startswith(">")]
    return re.sub(r"\s", "", QUOTED.sub("", "\n".join(quoted)))


@FUZZ
@given(author_name=name, author_handle=handle, text=post_text, post_url=url)
@example(**EVERY)
def test_the_case_message_and_its_continuations_fit_show_everything_and_ping_nobody(
    author_name: str | None, author_handle: str, text: str, post_url: str | None
) -> None:
    case = make_case(author_name, author_handle, text, post_url)
    messages = [case_blocks.parent_message(case), *case_blocks.post_continuations(case)]
    for fallback, blocks in messages:
        assert_message_ok(fallback, blocks)
        assert_message_ok(*limits.minimal(fallback, blocks, "invalid_blocks"))  # the lane's plain form, if refused
    assert shown_post(messages) == re.sub(r"\s", "", inert(text))


def event(kind: str, text_sent: str | None = None, **detail: Any) -> CaseEvent:
    return CaseEvent(id=1, case_id=7, at=NOW, actor="U0ALICE", kind=kind, text_sent=text_sent, detail=detail)


@FUZZ
@given(author_name=name, author_handle=handle, text=post_text, other=post_text, post_url=url, staff_text=short_text)
@example(**EVERY, other=ALL, staff_text=ALL)
def test_every_thread_note_fits_and_pings_nobody(
    author_name: str | None, author_handle: str, text: str, other: str, post_url: str | None, staff_text: str
) -> None:
    case = make_case(author_name, author_handle, text, post_url)
    again = Mention(id=2, text=other, url=post_url, extra={"stars": 2})
    events = [
        (event("mention_added", mention_id=2), again),
        (event("mention_edited", previous_text=text, previous_stars=1, mention_id=2), again),
        (event("mention_deleted"), None),
        (event("replied", other, note=staff_text), None),
        (event("moved_to_dm", other), None),
        (event("private_message_sent", other), None),
        (event("private_unavailable", reason=staff_text), None),
        (event("send_failed", purpose="reply", error=staff_text, text=other, private_withheld=True), None),
        (event("escalated", targets=["U0BOSS", "S0ESC"]), None),
        (event("ignored", reason="troll", comment=staff_text), None),
        (event("resolved", outcome="solved", comment=staff_text), None),
        (event("follow_up_set", due=NOW.isoformat(), in_seconds=3600), None),
        (event("closing_reply_sent", other), None),
    ]
    for note_event, mention in events:
        for fallback, blocks in case_blocks.thread_note_messages(case, note_event, mention):
            assert_message_ok(fallback, blocks)


@FUZZ
@given(author_name=name, author_handle=handle, text=post_text, post_url=url)
@example(**EVERY)
def test_reminders_and_direct_messages_fit_and_ping_nobody(
    author_name: str | None, author_handle: str, text: str, post_url: str | None
) -> None:
    case = make_case(author_name, author_handle, text, post_url)
    link = thread_url("https://acme.slack.com/", "C0CARE", case.slack_ts)
    for clock in (sla.FIRST_RESPONSE, sla.RESOLUTION, sla.OFFLINE, sla.FOLLOW_UP):
        for stage in (sla.NEAR, sla.BREACH, sla.ESCALATION):
            facts = {"clock": clock, "stage": stage, "limit": 3600, "waited": 7200, "remaining": 60}
            assert_message_ok(*case_blocks.reminder_message(case, {**facts, "targets": ["U0BOSS", "S0ESC"]}))
    assert_message_ok(*case_blocks.escalation_dm(case, sla.FIRST_RESPONSE, timedelta(hours=1), link))
    assert_message_ok(*case_blocks.follow_up_dm(case, "U0BOB", link))


@FUZZ
@given(author_name=name, author_handle=handle, text=post_text, post_url=url, draft=post_text)
@example(**EVERY, draft=ALL)
def test_modals_fit_whatever_the_post_and_the_draft(
    author_name: str | None, author_handle: str, text: str, post_url: str | None, draft: str
) -> None:
    case = make_case(author_name, author_handle, text, post_url, moved_offline_at=NOW)
    rules = {PUBLIC: modals.Limit(280, note="X counts links as 23."), PRIVATE: modals.Limit(10000)}
    for ways in (ReplyWays(None, None, PUBLIC), ReplyWays(NO_PUBLIC_POST, draft, PRIVATE)):
        assert_view_ok(modals.reply_modal(case, ways=ways, limits_by_way=rules, draft=draft, warning=None))
    reply = modals.reply_modal(case, ways=ReplyWays(None, None, PUBLIC), limits_by_way=rules, draft=draft, warning=None)
    said = reply["blocks"][0]["text"]["text"]
    whole = re.sub(r"\s", "", QUOTED.sub("", "\n".join(line for line in said.splitlines() if line.startswith(">"))))
    assert said.endswith("_The full post is in the case thread._") or whole == re.sub(r"\s", "", inert(text))
    assert_view_ok(modals.resolve_modal(case, closing=draft, limit=280))


def zero_figures() -> Figures:
    return Figures(PriorityCounts(), PriorityCounts(), PriorityCounts(), ResponseTimes(0, None, None), Attainment(0, 0))


@FUZZ
@given(
    people=st.lists(st.tuples(name, handle, post_text, url), min_size=1, max_size=4),
    count=st.integers(min_value=1, max_value=60),
)
@example(people=[(EVERY["author_name"], EVERY["author_handle"], EVERY["text"], EVERY["post_url"])], count=60)
def test_lists_the_home_tab_and_the_digest_fit_and_ping_nobody(
    people: list[tuple[str | None, str, str, str | None]], count: int
) -> None:
    cases = [make_case(*person) for person in people]
    lines = [case_line(cases[n % len(cases)]) for n in range(count)]
    link = lambda channel, ts: thread_url("https://acme.slack.com/", channel, ts)  # noqa: E731
    assert_message_ok(*figures.mine_message(lines, link=link, now=NOW))

    queue = Queue(tuple(lines), {"high": count})
    period = Period("today", NOW.date(), NOW.date(), NOW - timedelta(hours=9), NOW)
    today = Stats(period, zero_figures(), (), (), SentimentTrend((), None, None))
    assert_view_ok(home.home_view(mine=queue, unclaimed=queue, today=today, link=link, now=NOW, tz=ZoneInfo("UTC")))

    report = Digest(
        day=date(2026, 11, 22),
        now=NOW,
        yesterday=zero_figures(),
        week=zero_figures(),
        backlog=count,
        week_backlog=1.0,
        sentiment=None,
        week_sentiment=None,
        breaches=tuple(Breach(line, NOW, timedelta(hours=2), False) for line in lines),
        oldest_open=tuple(lines[:5]),
        praise=tuple(Praise(line, p[2][:280], 0.9, p[3]) for line, p in zip(lines, people, strict=False)),
        daily=(),
        posts=count,
    )
    for fallback, blocks in digest_blocks.digest_messages(report, link_for=link, tz=ZoneInfo("UTC")):
        assert_message_ok(fallback, blocks)
