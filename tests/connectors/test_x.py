"""X contract tests: X's documented payloads, served over real HTTP by tests/fakes/x.py, through the whole app.

What is asserted is what a person would see: the case message in the fake Slack, the thread notes, and the
requests that reached X (endpoint, ids, text, token). Time moves only by the manual clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.config import platform_settings
from bot.errors import ConfigError
from bot.models import Case, Mention, PollCursor
from bot.runtime import Runtime, build_runtime
from bot.tools.connectors_check import report
from connectors import x
from connectors.base import InboundMention, MentionEdited, Outbound
from tests.fakes.platform_standin import Reply
from tests.fakes.x import APP_TOKEN, BRAND, JANE, MO, USER_TOKEN, FakeX, fixture
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env

MENTIONS = r"/2/users/[0-9]+/mentions"


def x_env(fake_x: FakeX, **overrides: str) -> dict[str, str]:
    return {
        "X_USER_ID": BRAND,
        "X_BEARER_TOKEN": APP_TOKEN,
        "X_USER_TOKEN": USER_TOKEN,
        "X_API_URL": fake_x.url,
        "X_POLL_SECONDS": "60",
        **overrides,
    }


@pytest.fixture
def x_overrides() -> dict[str, str]:
    """More settings for the app under test; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def env(slack, database_url, fake_x, x_overrides) -> dict[str, str]:  # overrides conftest: X is enabled
    return make_env(slack, database_url, **x_env(fake_x), **x_overrides)


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def poll(rt: Runtime) -> int | None:
    assert rt.poller is not None and rt.poller.names == ["x"]
    stored = rt.poller.poll_once("x")
    rt.deliverer.drain()
    return stored


def cursor(rt: Runtime) -> PollCursor:
    with rt.unit() as s:
        row = s.get(PollCursor, "x")
        assert row is not None
        s.expunge(row)
        return row


def mention_count(rt: Runtime) -> int:
    with rt.unit() as s:
        return int(s.scalar(select(func.count()).select_from(Mention)) or 0)


def only_case(rt: Runtime) -> int:
    with rt.unit() as s:
        return int(s.scalars(select(Case.id)).one())


def since_id(stored: str | None) -> str | None:
    """The mentions part of a stored poll cursor (plain, or JSON beside the DM cursor)."""
    return x.read_cursor(stored)[0]


def parents(slack) -> list[str]:
    return [json.dumps(m.blocks) for m in slack.channel(CHANNEL)]


@pytest.fixture
def connector(fake_x: FakeX) -> Iterator[Callable[..., x.XConnector]]:
    """Build the X connector straight from settings, for contract tests below the app."""
    with httpx.Client(timeout=5) as client:
        yield lambda **overrides: x.build(platform_settings(x_env(fake_x, **overrides)), client)


# -- reading mentions ------------------------------------------------------------------------------
def test_a_documented_mentions_page_becomes_cases_in_slack(rt, slack, fake_x):
    fake_x.serve_mentions(fixture("mentions_page"))
    assert poll(rt) == 2  # Jane and Mo; the brand's own reply is not a case
    found = parents(slack)  # the worse of the two first (same priority: by sentiment), so found by name
    jane = next(p for p in found if "@jane_doe" in p)
    mo = next(p for p in found if "@mo_k" in p)
    for fact in (
        ":bird: X",
        "*Jane Doe* (@jane_doe)",
        "https://x.com/jane_doe/status/2124442764702646273|View post",
        "3 weeks late &amp; nobody answers",
    ):  # X's "&amp;" is read as "&", then escaped once for Slack
        assert fact in jane
    assert "*Mo Khan* (@mo_k)" in mo and "now 6 hours" in mo and "&gt;:(" in mo
    assert "Hi Jane, we're looking" not in "".join(parents(slack))
    with rt.unit() as s:
        stored = {m.external_id: m for m in s.scalars(select(Mention))}
    # Mo's post was edited before we saw it: filed once, under the chain's first id, with the latest text
    assert set(stored) == {"2124442764702646273", "2124444022993846273"}
    assert (
        stored["2124442764702646273"].text.startswith("@AcmeAir my refund")
        and "&" in stored["2124442764702646273"].text
    )
    assert stored["2124444022993846273"].posted_at == datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    assert stored["2124442764702646273"].extra == {"conversation_id": "2124442764702646273"}
    assert since_id(cursor(rt).cursor) == "2124445784601526273"  # past our own post too, so it is not fetched again

    (request,) = fake_x.mention_requests()
    assert request.path == f"/2/users/{BRAND}/mentions"
    assert request.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert request.query["expansions"] == "author_id"
    assert {"created_at", "conversation_id", "edit_history_tweet_ids", "author_id"} <= set(
        request.query["tweet.fields"].split(",")
    )
    assert "username" in request.query["user.fields"].split(",")
    assert "since_id" not in request.query and request.query["max_results"] == str(x.FIRST_POLL_LIMIT)


def test_the_post_spellings_of_x_s_newer_spec_are_read_too():
    changes = x.parse_mentions([fixture("mentions_page_post_spelling")], brand_id=BRAND)
    mention, edited = changes  # the repost is skipped: the original is the post to answer
    assert isinstance(mention, InboundMention) and isinstance(edited, MentionEdited)
    assert mention.external_id == edited.external_id == "2124443519677366273"  # the edit chain's first id
    assert mention.text.endswith("I expect to be reimbursed.")  # the long post's full text (note_post)
    assert mention.url == "https://x.com/mo_k/status/2124444022993846273"
    assert mention.posted_at == datetime(2026, 11, 22, 10, 3, tzinfo=UTC)  # from the first id's snowflake
    assert edited.edited_at == datetime(2026, 11, 22, 10, 5, tzinfo=UTC)


def test_unknown_shapes_are_skipped_not_fatal(caplog):
    page = {"data": [{"text": "no id"}, "junk", {"id": "5", "author_id": "42"}], "includes": {"users": "junk"}}
    with caplog.at_level(logging.WARNING):
        assert x.parse_mentions([page, {}], brand_id=BRAND) == []
    assert "without a post id" in caplog.text


def test_every_page_since_the_cursor_is_read_oldest_first(fake_x, connector):
    first = fake_x.mention(JANE, "@AcmeAir first")
    ids = [fake_x.mention(JANE if n % 2 else MO, f"@AcmeAir complaint {n}") for n in range(230)]
    result = connector().poll(first)
    requests = fake_x.mention_requests()
    assert [r.query.get("pagination_token") is None for r in requests] == [True, False, False]
    assert all(r.query["since_id"] == first and r.query["max_results"] == "100" for r in requests)
    assert [c.external_id for c in result.changes] == ids  # all 230, oldest first, nothing twice
    assert since_id(result.cursor) == ids[-1]


def test_no_more_than_the_800_mentions_x_keeps_are_asked_for(fake_x, connector, caplog):
    start = fake_x.mention(JANE, "@AcmeAir before the flood")
    ids = [fake_x.mention(MO, f"@AcmeAir flood {n}", minutes=0.01) for n in range(850)]
    with caplog.at_level(logging.WARNING):
        result = connector().poll(start)
    assert len(fake_x.mention_requests()) == 8 and len(result.changes) == 800
    assert [c.external_id for c in result.changes] == ids[-800:] and since_id(result.cursor) == ids[-1]
    assert "800 most recent" in caplog.text


def test_no_news_keeps_the_cursor(fake_x, connector):
    assert since_id(connector().poll("2124442764702646273").cursor) == "2124442764702646273"
    assert connector().poll(None).cursor is None


def test_restart_resumes_from_since_id_with_no_duplicate_and_no_gap(rt, settings, clock, slack, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late, nobody answers")
    newest = fake_x.mention(MO, "@AcmeAir flight AC88 delayed 5 hours and no vouchers")
    assert poll(rt) == 2
    rt.close()  # the process stops; Jane writes again meanwhile
    late = fake_x.mention(JANE, "@AcmeAir hello?? still waiting on that refund")
    clock.advance(60)
    restarted = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    try:
        assert poll(restarted) == 1
        assert [r.query.get("since_id") for r in fake_x.mention_requests()] == [None, newest]
        assert len(slack.channel(CHANNEL)) == 2 and mention_count(restarted) == 3  # nothing twice
        jane_parent = next(m for m in slack.channel(CHANNEL) if "jane" in str(m.blocks).lower())
        assert "still waiting on that refund" in slack.thread(CHANNEL, jane_parent.ts)[-1].text  # no gap
        assert since_id(cursor(restarted).cursor) == late
    finally:
        restarted.close()


def test_polls_no_more_often_than_configured_even_across_a_restart(rt, settings, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir where is my bag")
    assert poll(rt) == 1
    assert rt.poller is not None and rt.poller.poll_once("x") is None  # not due: no second (billed) read
    restarted = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    try:
        assert restarted.poller is not None
        clock.advance(59)
        assert restarted.poller.poll_once("x") is None
        assert len(fake_x.mention_requests()) == 1
        clock.advance(1)
        assert restarted.poller.poll_once("x") == 0
        assert len(fake_x.mention_requests()) == 2
    finally:
        restarted.close()


def test_a_poll_rate_limit_waits_for_x_rate_limit_reset(rt, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir where is my bag")
    fake_x.rate_limit("GET", MENTIONS, reset_in=900)
    assert poll(rt) is None
    row = cursor(rt)
    wait = (row.next_poll_at - clock.now()).total_seconds()
    assert 895 <= wait <= 901 and "Rate limit exceeded" in (row.last_error or "")
    clock.advance(60)
    assert poll(rt) is None and len(fake_x.mention_requests()) == 1  # still waiting: no request
    clock.advance(842)
    assert poll(rt) == 1


def test_an_outage_is_retried_and_loses_nothing(rt, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir where is my bag")
    fake_x.standin.fail("GET", MENTIONS, Reply(503, {"title": "Service Unavailable", "status": 503}))
    assert poll(rt) is None and cursor(rt).cursor is None
    clock.advance(60)
    assert poll(rt) == 1


def test_an_edit_of_a_post_we_hold_updates_the_case(rt, slack, clock, fake_x):
    original = fake_x.mention(JANE, "@AcmeAir my refund is 3 weeks late")
    assert poll(rt) == 1
    fake_x.edit(original, "@AcmeAir my refund is 3 weeks late and nobody answers the phone")
    clock.advance(60)
    assert poll(rt) == 1
    (parent,) = slack.channel(CHANNEL)
    note = slack.thread(CHANNEL, parent.ts)[-1].text
    assert "edited their post" in note and "nobody answers the phone" in note and "3 weeks late" in note
    assert "(edited)" in json.dumps(parent.blocks) and mention_count(rt) == 1


def test_the_brands_own_posts_never_become_cases(rt, slack, fake_x):
    fake_x.mention(BRAND, "Thanks for flying with us! @AcmeAir crew says hi")
    assert poll(rt) == 0 and slack.channel(CHANNEL) == []
    assert cursor(rt).cursor is not None  # and it is not read again


# -- answering ---------------------------------------------------------------------------------------
def test_reply_posts_a_reply_to_the_customers_post(desk, rt, slack, fake_x):
    post_id = fake_x.mention(JANE, "@AcmeAir my refund is three weeks late, nobody answers")
    poll(rt)
    case_id = only_case(rt)
    desk.click("case_reply", case_id, user="U0BOB")
    view = desk.last_view()
    assert "280 characters" in json.dumps(view) and "X counts links as 23 and emoji/CJK as 2." in json.dumps(view)
    text = "Hi Jane, I'm Bob. I'm sorry about the wait; I've chased your refund and will update you today."
    desk.send_reply(view, text, user="U0BOB")
    (request,) = fake_x.post_requests()
    assert request.json == {"text": text, "reply": {"in_reply_to_tweet_id": post_id}}
    assert request.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert desk.thread_texts()[-1] == f":leftwards_arrow_with_hook: <@U0BOB> replied publicly to Jane:\n> {text}"
    (sent,) = fake_x.brand_posts()
    assert sent.text == text and sent.conversation_id == post_id
    case = desk.case(case_id)
    assert case.draft_text is None and case.first_response_at is not None


def test_move_to_dm_replies_publicly_link_free_and_sends_a_direct_message(desk, rt, fake_x):
    post_id = fake_x.mention(JANE, "@AcmeAir my refund is three weeks late, nobody answers")
    poll(rt)
    desk.move_to_dm(only_case(rt), user="U0BOB")
    (public,) = fake_x.post_requests()
    assert public.json["reply"] == {"in_reply_to_tweet_id": post_id}
    assert public.json["text"].startswith("Hi Jane, I'm Bob from the care team.")
    assert public.json["text"].endswith("I've sent you a DM, and you'll hear back from me within the hour.")
    (private,) = fake_x.dm_requests()
    assert private.path == f"/2/dm_conversations/with/{JANE}/messages"
    assert private.json == {"text": private.json["text"]} and private.json["text"].startswith("Hi Jane, it's Bob")
    assert "booking reference" in private.json["text"]
    assert private.headers["authorization"] == f"Bearer {USER_TOKEN}"
    notes = desk.thread_texts()
    assert notes[-2].startswith(":lock: <@U0BOB> moved the conversation offline. Sent publicly:\n> Hi Jane")
    assert notes[-1].startswith(":envelope: <@U0BOB> sent Jane a private message:")


CONTACT_TEMPLATE = "Hi {customer}, I'm {agent} from the care team. Could we continue {contact}?"


@pytest.mark.parametrize(
    "x_overrides",
    [{"CARE_CONTACT_ROUTE": "at https://acme.example/help", "CARE_MOVE_TO_DM_TEMPLATE": CONTACT_TEMPLATE}],
)
def test_a_contact_route_with_a_link_is_replaced_by_x_contact_route(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    desk.move_to_dm(only_case(rt), user="U0BOB")
    (public,) = fake_x.post_requests()
    assert "https://" not in public.json["text"] and public.json["text"].endswith("continue by direct message?")


LINKED_TEMPLATE = {"CARE_MOVE_TO_DM_TEMPLATE": "Hi {customer}, please fill in acme.com/claims and we'll call you."}


@pytest.mark.parametrize("x_overrides", [LINKED_TEMPLATE])
def test_a_move_to_dm_post_with_a_link_is_refused_and_explained(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    case_id = only_case(rt)
    desk.move_to_dm(case_id, user="U0BOB")
    assert fake_x.post_requests() == []
    note = next(t for t in desk.thread_texts() if "was *not sent*" in t)
    assert "move-to-DM message to Jane was *not sent*" in note and "$0.20 instead of $0.015" in note
    assert "X_ALLOW_LINKS=true" in note and "CARE_MOVE_TO_DM_TEMPLATE" in note
    assert desk.case(case_id).moved_offline_at is None  # staff can try again once the template is fixed


@pytest.mark.parametrize("x_overrides", [{**LINKED_TEMPLATE, "X_ALLOW_LINKS": "true"}])
def test_the_operator_can_allow_links_explicitly(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    desk.move_to_dm(only_case(rt), user="U0BOB")
    (public,) = fake_x.post_requests()
    assert "acme.com/claims" in public.json["text"]


def test_a_refused_reply_is_reported_in_the_thread_and_the_draft_kept(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    case_id = only_case(rt)
    fake_x.standin.fail("POST", r"/2/tweets", Reply(400, fixture("error_400_reply_target")))
    desk.click("case_reply", case_id)
    desk.send_reply(desk.last_view(), "Hi Jane, on it.")
    note = desk.thread_texts()[-1]
    assert "reply to Jane was *not sent*: X refused it (HTTP 400: The `reply.in_reply_to_tweet_id`" in note
    assert "draft is kept" in note and desk.case(case_id).draft_text == "Hi Jane, on it."
    assert fake_x.brand_posts() == []


def test_an_outage_while_replying_is_retried_and_posts_once(desk, rt, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    fake_x.standin.fail("POST", r"/2/tweets", Reply(503, {"title": "Service Unavailable", "status": 503}))
    desk.click("case_reply", only_case(rt))
    desk.send_reply(desk.last_view(), "Hi Jane, on it.")
    assert fake_x.brand_posts() == []
    clock.advance(2)
    desk.settle()
    assert [p.text for p in fake_x.brand_posts()] == ["Hi Jane, on it."]
    assert "replied publicly" in desk.thread_texts()[-1]


def test_a_reply_whose_answer_was_lost_is_not_posted_twice(desk, rt, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    fake_x.lose_next_answer()  # X posts it, but we see a 503
    desk.click("case_reply", only_case(rt))
    desk.send_reply(desk.last_view(), "Hi Jane, on it.")
    clock.advance(2)
    desk.settle()  # the retry meets X's "duplicate content" refusal: the first attempt got through
    assert len(fake_x.post_requests()) == 2 and [p.text for p in fake_x.brand_posts()] == ["Hi Jane, on it."]
    note = desk.thread_texts()[-1]
    assert "replied publicly" in note and "X had already taken this reply on an earlier attempt" in note


def test_a_send_rate_limit_waits_for_x_rate_limit_reset(desk, rt, clock, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    fake_x.rate_limit("POST", r"/2/tweets", reset_in=30)
    desk.click("case_reply", only_case(rt))
    desk.send_reply(desk.last_view(), "Hi Jane, on it.")
    clock.advance(25)
    desk.settle()
    assert fake_x.brand_posts() == [] and len(fake_x.post_requests()) == 1
    clock.advance(7)
    desk.settle()
    assert [p.text for p in fake_x.brand_posts()] == ["Hi Jane, on it."]


def test_a_refused_direct_message_is_explained(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    fake_x.standin.fail(
        "POST",
        r"/2/dm_conversations/with/[0-9]+/messages",
        Reply(
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "You are not permitted to send this Direct Message.",
            },
        ),
    )
    desk.move_to_dm(only_case(rt), user="U0BOB")
    note = desk.thread_texts()[-1]
    assert "private message to Jane was *not sent*" in note and "not permitted to send this Direct Message" in note
    assert "does not accept messages from this account" in note
    assert len(fake_x.brand_posts()) == 1  # the public half went out
    assert note.split("\n")[0].endswith("It is kept: click *Reply* and send it as a private message to try again.")
    kept = desk.case(only_case(rt)).draft_text
    assert kept is not None and kept.startswith("Hi Jane, it's Bob")  # what Bob confirmed, for the next try


DM_REFUSED = Reply(
    403,
    {
        "title": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "detail": "You are not permitted to send this Direct Message.",
    },
)


def test_a_mention_is_answered_by_direct_message_from_the_reply_modal(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    case_id = only_case(rt)
    desk.click("case_reply", case_id)
    view = desk.last_view()
    [offered] = [b for b in view["blocks"] if b.get("block_id") == "send_as"]
    assert [o["text"]["text"] for o in offered["element"]["options"]] == ["Public reply on X", "Private message on X"]
    label = next(b for b in view["blocks"] if b.get("block_id") == "reply")["label"]["text"]
    assert label == "Your reply (public up to 280 characters, private up to 10000)"

    # a link and 300 characters: both fine in a DM (the coach's "a link on X" is about public posts), and sent at once
    text = "Hi Jane, I'm so sorry. Your refund form is at https://acme.example/refund and I'll check it by 5pm. "
    text += "It has your booking filled in already, so it takes a minute. " * 3 + "– Alice"
    assert len(text) > 280
    submit = {
        "reply": {"text": {"type": "plain_text_input", "value": text}},
        "send_as": {"visibility": {"type": "radio_buttons", "selected_option": {"value": "private"}}},
    }
    assert desk.submit(view, submit) == {}
    [sent] = fake_x.dm_requests()
    assert sent.path == f"/2/dm_conversations/with/{JANE}/messages" and sent.json == {"text": text}
    assert fake_x.brand_posts() == []
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to Jane:\n> Hi Jane")

    # the same text as a public reply is over X's limit: refused in the modal, before anything is sent
    submit["send_as"]["visibility"]["selected_option"]["value"] = "public"
    desk.click("case_reply", case_id)
    answer = desk.submit(desk.last_view(), submit)
    assert answer["response_action"] == "errors" and "the limit here is 280" in answer["errors"]["reply"]


def test_a_private_reply_x_refuses_keeps_the_draft(desk, rt, fake_x):
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    poll(rt)
    fake_x.standin.fail("POST", r"/2/dm_conversations/with/[0-9]+/messages", DM_REFUSED)
    text = "Hi Jane, I've found your booking: the refund goes out today and I'll confirm by 5pm. – Alice"
    desk.reply_privately(only_case(rt), text)
    note = desk.thread_texts()[-1]
    assert note.startswith(":warning: <@U0ALICE>'s private reply to Jane was *not sent*: ")
    assert "does not accept messages from this account" in note and "The draft is kept" in note
    assert desk.case(only_case(rt)).draft_text == text
    desk.click("case_reply", only_case(rt))  # the next Reply starts from it
    assert (
        next(b for b in desk.last_view()["blocks"] if b.get("block_id") == "reply")["element"]["initial_value"] == text
    )


def test_an_overlong_automated_post_is_refused_before_spending_a_request(fake_x, connector):
    message = Outbound(platform="x", in_reply_to="1", author_id=JANE, text="a" * 281, purpose="move_to_dm")
    with pytest.raises(x.PermanentError, match="281 characters; the limit here is 280"):
        connector().send(message)
    assert fake_x.post_requests() == []


# -- contact route and links -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, link",
    [
        ("by direct message", False),
        ("by email at care@acme.example", False),
        ("by email at care@acme.com", False),
        ("at https://acme.example/help", True),
        ("at www.acme.example", True),
        ("at acme.com/help", True),
        ("e.g. at the desk", False),
        ("Acme.co.uk", True),
    ],
)
def test_what_counts_as_a_link_on_x(text, link):
    assert x.contains_link(text) is link


def test_contact_route_keeps_a_link_free_route_and_replaces_a_link(fake_x, connector):
    assert connector().contact_route("by email at care@acme.example") == "by email at care@acme.example"
    assert connector().contact_route("at https://acme.example/help") == "by direct message"
    assert connector(X_CONTACT_ROUTE="in a DM to @AcmeCare").contact_route("at acme.com/help") == "in a DM to @AcmeCare"
    assert connector(X_ALLOW_LINKS="yes").contact_route("at acme.com/help") == "at acme.com/help"


def test_x_allow_links_must_be_true_or_false():
    with pytest.raises(ConfigError, match="X_ALLOW_LINKS must be true or false"):
        platform_settings({"X_ALLOW_LINKS": "sometimes"})


def test_rate_limit_wait_reads_x_rate_limit_reset_as_epoch_seconds():
    response = httpx.Response(429, headers={"x-rate-limit-reset": "1700000900"})
    assert x.rate_limit_wait(response, now=1700000000.0) == 900
    assert x.rate_limit_wait(response, now=1700001000.0) == 1.0  # already past (clock skew): try shortly
    assert x.rate_limit_wait(httpx.Response(429, headers={"retry-after": "7"}), now=0) == 7
    assert x.rate_limit_wait(httpx.Response(429), now=0) is None  # the shared default wait applies


# -- care-bot connectors --check ---------------------------------------------------------------------
def check_line(fake_x: FakeX, **overrides: str) -> tuple[int, str]:
    lines: list[str] = []
    env: dict[str, Any] = {k: v for k, v in x_env(fake_x, **overrides).items() if v}
    status = report(platform_settings(env), check=True, out=lines.append)
    return status, next(line for line in lines if line.startswith("X (Twitter)"))


def test_check_says_who_we_are_with_good_tokens(fake_x):
    status, line = check_line(fake_x)
    assert status == 0 and "enabled   (polls every 60s)  check: OK, authenticated as @AcmeAir" in line
    assert [r.path for r in fake_x.standin.requests] == [f"/2/users/{BRAND}", "/2/users/me"]


def test_check_quotes_x_on_a_bad_token(fake_x):
    status, line = check_line(fake_x, X_BEARER_TOKEN="revoked")
    assert status == 1
    assert "check: FAILED, X_BEARER_TOKEN: X refused our credentials (HTTP 401: Unauthorized)" in line
    status, line = check_line(fake_x, X_USER_TOKEN="expired")
    assert status == 1 and "FAILED, X_USER_TOKEN: X refused our credentials (HTTP 401: Unauthorized)" in line


def test_check_says_posting_falls_back_to_the_bearer_token(fake_x):
    status, line = check_line(fake_x, X_USER_TOKEN="")  # an app-only bearer token cannot post
    assert status == 1 and "FAILED, X_BEARER_TOKEN (used for posting too, as X_USER_TOKEN is not set)" in line
    assert "Application-Only is forbidden" in line
    status, line = check_line(fake_x, X_USER_TOKEN="", X_BEARER_TOKEN=USER_TOKEN)  # a user token reads and posts
    assert status == 0 and line.endswith(
        "authenticated as @AcmeAir; X_USER_TOKEN is not set, so replies and direct messages use X_BEARER_TOKEN"
    )


def test_check_catches_a_wrong_account(fake_x):
    status, line = check_line(fake_x, X_USER_ID="9400000009")
    assert status == 1 and "FAILED, X could not find X_USER_ID 9400000009 (Could not find user with id" in line
    fake_x.add_user("9400000009", "AcmeAirSupport", "Acme Air Support")
    status, line = check_line(fake_x, X_USER_ID="9400000009")
    assert status == 1 and "X_USER_TOKEN belongs to @AcmeAir, not to X_USER_ID 9400000009 (@AcmeAirSupport)" in line
