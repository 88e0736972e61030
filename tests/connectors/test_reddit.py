"""The Reddit connector against a fake Reddit over real HTTP (Reddit's documented shapes, tests/fixtures/reddit/):
OAuth, keyword polling with a cursor that survives restarts and deletions, edits and deletions, replies,
private messages, rate limits, `--check`, and the whole path through the served app to the fake Slack."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings, load_settings, platform_settings
from bot.errors import AuthError, PermanentError, RateLimited, TransientError
from bot.models import Mention, PollCursor
from bot.runtime import Runtime, build_runtime
from bot.tools.connectors_check import report
from connectors.base import InboundMention, MentionDeleted, MentionEdited, Outbound
from connectors.reddit import RedditConnector, keyword_pattern
from tests.fakes.platform_standin import Reply
from tests.fakes.reddit import FakeReddit, fixture
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env

KEYWORDS = "acme, acme air"
SUBS = "acme,r/AcmeAir"


class Ticker:
    """A monotonic clock the test moves (token lifetimes, rate-limit windows)."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def reddit_env(reddit: FakeReddit, **overrides: str) -> dict[str, str]:
    env = {
        "REDDIT_API_URL": reddit.url,
        "REDDIT_AUTH_URL": reddit.url,
        "REDDIT_CLIENT_ID": reddit.client_id,
        "REDDIT_CLIENT_SECRET": reddit.client_secret,
        "REDDIT_USERNAME": reddit.username,
        "REDDIT_PASSWORD": reddit.password,
        "REDDIT_SUBREDDITS": SUBS,
        "REDDIT_KEYWORDS": KEYWORDS,
    }
    env.update(overrides)
    return env


def make(reddit: FakeReddit, http: httpx.Client, ticker: Ticker | None = None, **overrides: str) -> RedditConnector:
    settings = platform_settings(reddit_env(reddit, **overrides)).reddit
    return RedditConnector(settings, http, monotonic=ticker or Ticker())


def mentions_of(changes: Any) -> list[InboundMention]:
    return [c for c in changes if isinstance(c, InboundMention)]


# -- polling -------------------------------------------------------------------------------------------
def test_matching_posts_and_comments_become_mentions_oldest_first(reddit, http):
    post = reddit.add_post(author="some_user", title="Acme app keeps crashing", selftext="Since the update…")
    reddit.add_post(author="gardener", title="Best tomatoes for acmeville?")  # not a whole word
    comment = reddit.add_comment(author="jane_doe", body="ACME support never answers. Two weeks!", on=post)
    reddit.add_comment(author="acmecare", body="Acme here, sorry!", on=post)  # our own account
    reddit.add_post(author="bob", title="Flying acme   AIR tomorrow", subreddit="AcmeAir")
    reddit.add_comment(author="nobody", body="unrelated chatter", on=post, subreddit="other")

    result = make(reddit, http).poll(None)

    found = mentions_of(result.changes)
    assert [m.external_id for m in found] == [post, comment, found[2].external_id]
    first, second, third = found
    assert first.platform == "reddit" and first.author.id == "t2_some_user" and first.author.handle == "some_user"
    assert first.author.name is None and first.author.first_name == "some_user"
    assert first.text == "Acme app keeps crashing\n\nSince the update…"
    assert first.url == f"https://www.reddit.com/r/acme/comments/{post[3:]}/acme_app_keeps_crashing/"
    assert first.posted_at == datetime.fromtimestamp(reddit.things[post]["data"]["created_utc"], UTC)
    assert second.text == "ACME support never answers. Two weeks!" and second.extra["kind"] == "comment"
    assert third.author.handle == "bob" and third.extra["subreddit"] == "AcmeAir"

    paths = {r.path for r in reddit.listing_requests()}
    assert paths == {"/r/acme+AcmeAir/new", "/r/acme+AcmeAir/comments"}
    listing = reddit.listing_requests()[0]
    assert listing.query["limit"] == "100" and listing.headers["authorization"].startswith("bearer ")
    assert listing.headers["user-agent"] == f"python:care-bot:0.1.0 (by /u/{reddit.username})"


def test_the_token_request_is_the_script_app_password_grant(reddit, http):
    make(reddit, http, REDDIT_USER_AGENT="python:acme-care:v2 (by /u/AcmeCare)").poll(None)
    (token,) = reddit.token_requests()
    basic = base64.b64decode(token.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == f"{reddit.client_id}:{reddit.client_secret}"
    assert token.form == {
        "grant_type": "password",
        "username": "AcmeCare",
        "password": "hunter2",
        "scope": "identity read submit privatemessages history",
    }
    assert token.headers["user-agent"] == "python:acme-care:v2 (by /u/AcmeCare)"


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("acme", True),
        ("I hate Acme's app", True),
        ("#ACME fail", True),
        ("u/acme help", True),
        ("acme-air is late", True),
        ("acmeville", False),
        ("subacme", False),
        ("flew ACME\nAir today", True),
        ("acmeair", False),
        ("", False),
    ],
)
def test_keywords_match_whole_words_case_insensitively(text, hit):
    assert bool(keyword_pattern(["acme", "acme air"]).search(text)) is hit
    assert bool(keyword_pattern(["Acme Air"]).search("flew acme  air")) is True
    assert keyword_pattern([]).search("acme") is None


def test_the_first_poll_brings_in_the_newest_matches_whatever_their_age(reddit, http):
    """Turning the connector on shows what is being said now (even in a quiet subreddit), not its history."""
    old = reddit.add_post(title="Acme lost my bag last year", created=time.time() - 300 * 86400)
    posts = [
        reddit.add_post(title=f"Acme lost my bag, day {n}", created=time.time() - (30 - n) * 60) for n in range(25)
    ]
    connector = make(reddit, http)
    first = connector.poll(None)
    assert [m.external_id for m in mentions_of(first.changes)] == posts[-20:]
    assert old not in [m.external_id for m in mentions_of(first.changes)]
    assert mentions_of(connector.poll(first.cursor).changes) == []  # the skipped history never arrives later


def test_many_new_items_are_read_page_by_page_and_nothing_is_returned_twice(reddit, http):
    connector = make(reddit, http)
    first = connector.poll(None)
    names = [reddit.add_comment(body=f"acme problem number {n}") for n in range(250)]
    before = len(reddit.listing_requests())
    second = connector.poll(first.cursor)
    assert [m.external_id for m in mentions_of(second.changes)] == names  # oldest first, all of them
    comment_pages = [r for r in reddit.listing_requests()[before:] if r.path.endswith("/comments")]
    assert [r.query.get("after") is None for r in comment_pages] == [True, False, False]
    later = reddit.add_post(title="acme again")
    third = connector.poll(second.cursor)
    assert [m.external_id for m in mentions_of(third.changes)] == [later]
    assert mentions_of(connector.poll(third.cursor).changes) == []


def test_a_deleted_newest_item_does_not_break_the_cursor(reddit, http):
    connector = make(reddit, http)
    reddit.add_post(title="acme one")
    newest = reddit.add_post(title="acme two")
    first = connector.poll(None)
    reddit.purge(newest)  # gone from the listing: a before=<fullname> cursor would now see nothing
    after = reddit.add_post(title="acme three")
    assert [m.external_id for m in mentions_of(connector.poll(first.cursor).changes)] == [after]


def test_an_item_listed_late_is_still_caught_once(reddit, http):
    connector = make(reddit, http)
    late = reddit.add_comment(body="acme charged me twice")
    reddit.purge(late)  # Reddit's listing does not show it yet
    shown = reddit.add_comment(body="acme is down")
    first = connector.poll(None)
    assert [m.external_id for m in mentions_of(first.changes)] == [shown]
    reddit.hidden.discard(late)
    second = connector.poll(first.cursor)
    assert [m.external_id for m in mentions_of(second.changes)] == [late]
    assert mentions_of(connector.poll(second.cursor).changes) == []


def test_an_unreadable_cursor_starts_again_from_the_last_day(reddit, http, caplog):
    post = reddit.add_post(title="acme broke")
    assert [m.external_id for m in mentions_of(make(reddit, http).poll("t3_garbage").changes)] == [post]
    assert "cursor is unreadable" in caplog.text


def test_edits_and_deletions_of_held_posts_are_reported_once(reddit, http):
    connector = make(reddit, http)
    post = reddit.add_post(title="acme app crashes", selftext="on login")
    comment = reddit.add_comment(body="acme never answered", on=post)
    state = connector.poll(None).cursor
    reddit.edit(comment, "acme never answered. EDIT: still nothing after 3 days")
    reddit.remove(post)
    result = connector.poll(state)
    edited = [c for c in result.changes if isinstance(c, MentionEdited)]
    deleted = [c for c in result.changes if isinstance(c, MentionDeleted)]
    assert [(e.external_id, e.text) for e in edited] == [
        (comment, "acme never answered. EDIT: still nothing after 3 days")
    ]
    assert edited[0].edited_at == datetime.fromtimestamp(reddit.things[comment]["data"]["edited"], UTC)
    assert [d.external_id for d in deleted] == [post]
    again = connector.poll(result.cursor)
    assert again.changes == []  # each edit and deletion once
    reddit.delete(comment)
    assert [type(c).__name__ for c in connector.poll(again.cursor).changes] == ["MentionDeleted"]
    info = reddit.standin.requests_to("GET", "/api/info")[-1]
    assert set(info.query["id"].split(",")) == {comment}


def test_deleted_authors_are_never_ingested(reddit, http):
    gone = reddit.add_comment(body="acme is the worst")
    reddit.delete(gone)
    assert make(reddit, http).poll(None).changes == []


# -- authentication --------------------------------------------------------------------------------------
def test_the_token_is_cached_and_renewed_before_it_expires(reddit, http):
    ticker = Ticker()
    connector = make(reddit, http, ticker)
    state = connector.poll(None).cursor
    connector.poll(state)
    assert len(reddit.token_requests()) == 1
    ticker.value += reddit.token_lifetime - 30  # inside the renewal margin
    connector.poll(state)
    assert len(reddit.token_requests()) == 2


def test_a_refused_token_is_renewed_once(reddit, http):
    connector = make(reddit, http)
    assert connector.check() == "authenticated as u/AcmeCare"
    reddit.expire_tokens()  # Reddit revoked it early
    assert connector.check() == "authenticated as u/AcmeCare"
    assert len(reddit.token_requests()) == 2
    reddit.standin.fail("GET", "/api/v1/me", Reply(401, {"message": "Unauthorized", "error": 401}), times=2)
    with pytest.raises(AuthError, match="HTTP 401"):
        connector.check()
    assert len(reddit.token_requests()) == 3  # one renewal, then it gives up


def test_check_reports_a_wrong_password_and_wrong_app_credentials_clearly(reddit, http):
    with pytest.raises(AuthError) as wrong_password:
        make(reddit, http, REDDIT_PASSWORD="not-it").check()
    assert "invalid_grant" in str(wrong_password.value) and "REDDIT_PASSWORD" in str(wrong_password.value)
    assert "not-it" not in str(wrong_password.value)
    with pytest.raises(AuthError) as wrong_app:
        make(reddit, http, REDDIT_CLIENT_SECRET="nope").check()
    assert "REDDIT_CLIENT_SECRET" in str(wrong_app.value) and "Unauthorized" in str(wrong_app.value)


def test_care_bot_connectors_check_tells_working_from_misconfigured(reddit, http):
    lines: list[str] = []
    assert report(platform_settings(reddit_env(reddit)), check=True, out=lines.append, client=http) == 0
    (reddit_line,) = [line for line in lines if line.startswith("Reddit")]
    assert "enabled" in reddit_line and "polls every 60s" in reddit_line
    assert "check: OK, authenticated as u/AcmeCare" in reddit_line
    lines.clear()
    bad = platform_settings(reddit_env(reddit, REDDIT_PASSWORD="wrong"))
    assert report(bad, check=True, out=lines.append, client=http) == 1
    assert "check: FAILED, Reddit refused the login of u/AcmeCare: invalid_grant" in next(
        line for line in lines if line.startswith("Reddit")
    )
    lines.clear()
    report(platform_settings({"REDDIT_CLIENT_ID": "x"}), check=True, out=lines.append, client=http)
    assert (
        "disabled  (missing REDDIT_CLIENT_SECRET, REDDIT_USERNAME, REDDIT_PASSWORD, REDDIT_SUBREDDITS, "
        "REDDIT_KEYWORDS)" in next(line for line in lines if line.startswith("Reddit"))
    )


# -- rate limits and outages -----------------------------------------------------------------------------
def test_an_exhausted_window_is_waited_out_without_calling_reddit(reddit, http):
    ticker = Ticker()
    connector = make(reddit, http, ticker)
    reddit.rate_remaining, reddit.rate_reset = 7, 42  # the token call is free; two listings and the inbox are not
    state = connector.poll(None).cursor
    calls = len(reddit.standin.requests)
    with pytest.raises(RateLimited) as limited:
        connector.poll(state)  # 4 left, below the polling reserve: no call made
    assert limited.value.retry_after == 42 and len(reddit.standin.requests) == calls
    connector.send(
        Outbound(
            platform="reddit",
            in_reply_to=reddit.add_post(title="x"),
            author_id="t2_x",
            text="Staff replies may still use the last few requests.",
        )
    )
    ticker.value += 42
    reddit.rate_remaining, reddit.rate_reset = 996, 600  # a new window
    connector.poll(state)


def test_a_429_waits_for_x_ratelimit_reset(reddit, http):
    connector = make(reddit, http)
    connector.check()
    reddit.standin.fail(
        "GET",
        r"/r/.*",
        Reply(
            429,
            {"message": "Too Many Requests", "error": 429},
            {"x-ratelimit-remaining": "0", "x-ratelimit-used": "1000", "x-ratelimit-reset": "73"},
        ),
    )
    with pytest.raises(RateLimited) as limited:
        connector.poll(None)
    assert limited.value.retry_after == 73


def test_outages_are_transient_and_a_non_listing_is_not_trusted(reddit, http):
    connector = make(reddit, http)
    reddit.standin.fail("GET", r"/r/.*", Reply(503, "<html>all our servers are busy</html>"))
    with pytest.raises(TransientError, match="HTTP 503"):
        connector.poll(None)
    reddit.standin.fail("GET", r"/r/.*", Reply(200, {"kind": "Listing"}))
    with pytest.raises(TransientError, match="not a Listing"):
        connector.poll(None)
    reddit.standin.fail("GET", r"/r/.*", Reply(404, {"message": "Not Found", "error": 404}))
    with pytest.raises(PermanentError, match="reading /r/acme\\+AcmeAir/new.*Not Found"):
        connector.poll(None)


# -- answering -----------------------------------------------------------------------------------------
def test_reply_is_a_comment_on_the_answered_thing(reddit, http):
    post = reddit.add_post(title="acme?")
    sent = make(reddit, http).send(
        Outbound(platform="reddit", in_reply_to=post, author_id="t2_some_user", text="Hi, **sorry** about this.")
    )
    assert reddit.comments_posted() == [{"api_type": "json", "thing_id": post, "text": "Hi, **sorry** about this."}]
    assert sent.external_id and sent.external_id.startswith("t1_")
    assert reddit.things[sent.external_id]["data"]["author"] == "AcmeCare"


def test_reddit_refusals_carry_reddits_own_words(reddit, http):
    connector = make(reddit, http)
    post = reddit.add_post(title="acme?")
    reddit.locked.add(post)
    with pytest.raises(PermanentError, match="Comments are locked"):
        connector.send(Outbound(platform="reddit", in_reply_to=post, author_id="t2_x", text="Hi"))
    reddit.standin.fail("POST", "/api/comment", Reply(200, fixture("comment_ratelimit")))
    with pytest.raises(RateLimited, match="Take a break") as limited:
        connector.send(Outbound(platform="reddit", in_reply_to=post, author_id="t2_x", text="Hi"))
    assert limited.value.retry_after == 300
    with pytest.raises(PermanentError, match="not a Reddit post or comment"):
        connector.send(Outbound(platform="reddit", in_reply_to="1790000000000000001", author_id="t2_x", text="Hi"))


def test_private_message_goes_to_the_author_by_name(reddit, http):
    comment = reddit.add_comment(author="jane_doe", body="acme??")
    connector = make(reddit, http)
    connector.send(
        Outbound(
            platform="reddit",
            in_reply_to=comment,
            author_id="t2_jane_doe",
            text="Hi Jane",
            visibility="private",
            context={"author": "jane_doe", "subreddit": "acme"},
            purpose="private_message",
        )
    )
    assert reddit.messages == [
        {"to": "jane_doe", "subject": "About your comment in r/acme", "text": "Hi Jane", "api_type": "json"}
    ]
    with pytest.raises(PermanentError, match="that user doesn't exist"):
        connector.send(
            Outbound(
                platform="reddit",
                in_reply_to=comment,
                author_id="t2_ghost",
                text="Hi",
                visibility="private",
                context={"author": "ghost"},
            )
        )
    assert connector.can_message_privately("reddit")


def test_a_reply_whose_answer_was_lost_is_not_posted_twice(reddit, http):
    comment = reddit.add_comment(author="jane_doe", body="acme??")
    connector = make(reddit, http)
    reply = Outbound(
        platform="reddit",
        in_reply_to=comment,
        author_id="t2_jane_doe",
        text="Hi Jane, on it.",
        idempotency_key="care-7",
    )
    reddit.lose_answers = 1  # Reddit posts it, but the answer never reaches us
    with pytest.raises(TransientError, match="HTTP 504"):
        connector.send(reply)
    again = connector.send(reply)  # the outbox retries the same item
    mine = [t["data"]["name"] for t in reddit.things.values() if t["data"]["author"] == "AcmeCare"]
    assert len(mine) == 1 and again.external_id == mine[0]
    assert again.note == "Reddit had already taken this reply; it was not posted twice."
    other = Outbound(
        platform="reddit",
        in_reply_to=comment,
        author_id="t2_jane_doe",
        text="Hi Jane, on it.",
        idempotency_key="care-8",
    )  # a new send (not a retry) is posted, even with the same words
    assert connector.send(other).note is None


def test_a_private_message_whose_answer_was_lost_is_not_sent_twice(reddit, http):
    comment = reddit.add_comment(author="jane_doe", body="acme??")
    connector = make(reddit, http)
    message = Outbound(
        platform="reddit",
        in_reply_to=comment,
        author_id="t2_jane_doe",
        text="Hi Jane",
        visibility="private",
        context={"author": "jane_doe"},
        idempotency_key="care-9",
    )
    reddit.lose_answers = 1
    with pytest.raises(TransientError):
        connector.send(message)
    assert connector.send(message).note == "Reddit had already taken this message; it was not sent twice."
    assert len(reddit.messages) == 1


# -- through the served app: Reddit → Slack → Reddit ------------------------------------------------------
@pytest.fixture
def env(slack, database_url, reddit) -> dict[str, str]:
    return make_env(slack, database_url, **reddit_env(reddit))


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def poll(rt: Runtime) -> int | None:
    assert rt.poller is not None
    stored = rt.poller.poll_once("reddit")
    rt.deliverer.drain()
    return stored


def only_case_id(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalars(select(Mention.case_id)).one())


def test_a_reddit_comment_becomes_a_case_and_the_reply_is_a_comment_under_it(desk, rt, reddit, slack):
    post = reddit.add_post(author="some_user", title="Acme app keeps crashing")
    comment = reddit.add_comment(author="jane_doe", body="Acme support never answers. Two weeks for a refund!", on=post)
    assert poll(rt) == 2
    parents = slack.channel(CHANNEL)
    assert len(parents) == 2
    text = json.dumps(parents[1].blocks)
    for fact in (
        "Reddit",
        "@jane_doe",
        "Acme support never answers. Two weeks for a refund!",
        f"https://www.reddit.com/r/acme/comments/{post[3:]}/thread/{comment[3:]}/",
        "Case #2",
    ):
        assert fact in text

    reply = "Hi jane_doe, I'm Alice from Acme. I'm sorry about the wait: I've chased your refund today."
    desk.click("case_reply", 2)
    view = desk.last_view()
    assert "10000 characters" in json.dumps(view)
    desk.send_reply(view, reply)
    assert reddit.comments_posted() == [{"api_type": "json", "thing_id": comment, "text": reply}]
    thread = [m.text for m in slack.thread(CHANNEL, parents[1].ts)]
    assert thread[-1] == f":leftwards_arrow_with_hook: <@U0ALICE> replied publicly to @jane_doe:\n> {reply}"

    assert poll_after_pace(rt) == 0  # our own reply (it names Acme) shows up in the listing: never a case
    assert len(slack.channel(CHANNEL)) == 2


def poll_after_pace(rt: Runtime) -> int | None:
    assert isinstance(rt.clock, ManualClock)
    rt.clock.advance(60)
    return poll(rt)


def test_move_to_dm_comments_publicly_and_sends_a_private_message(desk, rt, reddit, slack):
    comment = reddit.add_comment(author="jane_doe", body="acme lost my parcel")
    poll(rt)
    desk.move_to_dm(only_case_id(rt), user="U0BOB")
    (public,) = reddit.comments_posted()
    assert public["thing_id"] == comment and public["text"].startswith("Hi jane_doe, I'm Bob from the care team.")
    assert reddit.messages == [
        {
            "to": "jane_doe",
            "subject": "About your comment in r/acme",
            "api_type": "json",
            "text": reddit.messages[0]["text"],
        }
    ]
    assert reddit.messages[0]["text"].startswith("Hi jane_doe, it's Bob")
    thread = [m.text for m in slack.thread(CHANNEL, slack.channel(CHANNEL)[0].ts)]
    assert any(t.startswith(":lock: <@U0BOB> moved the conversation offline") for t in thread)
    assert any(t.startswith(":envelope: <@U0BOB> sent @jane_doe a private message") for t in thread)


def test_a_refused_reply_is_reported_in_the_thread_and_the_draft_kept(desk, rt, reddit, slack):
    post = reddit.add_post(author="some_user", title="acme, why?")
    reddit.locked.add(post)
    poll(rt)
    case_id = only_case_id(rt)
    desk.click("case_reply", case_id)
    desk.send_reply(desk.last_view(), "Hi, we're on it.")
    note = desk.thread_texts()[-1]
    assert "was *not sent*" in note and "Comments are locked. (THREAD_LOCKED)" in note and "draft is kept" in note
    assert desk.case(case_id).draft_text == "Hi, we're on it."


def test_a_reddit_outage_is_retried_before_the_reply_goes_out(desk, rt, reddit, clock):
    comment = reddit.add_comment(author="jane_doe", body="acme app is down")
    poll(rt)
    reddit.standin.fail("POST", "/api/comment", Reply(502, "<html>Bad Gateway</html>"))
    desk.click("case_reply", only_case_id(rt))
    desk.send_reply(desk.last_view(), "Hi, looking now.")
    assert len(reddit.comments_posted()) == 1  # answered 502: nothing posted yet, a retry is due
    clock.advance(2)
    desk.settle()
    assert [c["thing_id"] for c in reddit.comments_posted()] == [comment, comment]
    assert [t["data"]["parent_id"] for t in reddit.things.values() if t["data"]["author"] == "AcmeCare"] == [comment]
    assert "replied publicly" in desk.thread_texts()[-1]


def test_edits_and_deletions_are_noted_in_the_thread(desk, rt, reddit, slack):
    comment = reddit.add_comment(author="jane_doe", body="acme charged me twice")
    poll(rt)
    reddit.edit(comment, "acme charged me twice. EDIT: three times now")
    assert poll_after_pace(rt) == 1
    rt.deliverer.drain()
    assert desk.thread_texts()[0].startswith(
        ":pencil2: *@jane_doe* edited their post. Now:\n> acme charged me twice. EDIT"
    )
    reddit.delete(comment)
    assert poll_after_pace(rt) == 1
    assert poll_after_pace(rt) == 0
    rt.deliverer.drain()
    thread = desk.thread_texts()
    assert thread[0] == "[removed on request]"  # the customer took the words back: the note quoting them goes too
    assert thread[1].startswith(":wastebasket: *@jane_doe*'s post was deleted on :large_orange_circle: Reddit")
    assert "(deleted on the platform)" in desk.parent_text() and "charged me" not in desk.parent_text()


@pytest.fixture
def second_rt(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


def test_polling_resumes_after_a_restart_with_no_duplicate_and_no_gap(rt, second_rt, reddit, slack, clock):
    first = [reddit.add_comment(author=f"customer{n}", body=f"acme problem {n}") for n in range(3)]
    assert poll(rt) == 3
    rt.close()  # the process stops; more arrive meanwhile, and the newest of before is deleted
    reddit.purge(first[-1])
    later = [reddit.add_post(author=f"poster{n}", title=f"acme outage {n}") for n in range(2)]
    later.append(reddit.add_comment(author="latecomer", body="acme?!"))
    assert second_rt.poller is not None
    assert second_rt.poller.poll_once("reddit") is None  # the pace holds across the restart
    clock.advance(60)
    assert poll(second_rt) == 3
    with second_rt.sessions() as s:
        held = sorted(s.scalars(select(Mention.external_id)))
        assert held == sorted(first + later)
        assert s.scalar(select(func.count()).select_from(Mention)) == 6
        row = s.get(PollCursor, "reddit")
        assert row is not None and json.loads(row.cursor or "{}")["comments"]["since"] > 0
    assert len(slack.channel(CHANNEL)) == 6


def test_polls_no_more_often_than_configured(reddit, slack, database_url, clock):
    settings = load_settings(make_env(slack, database_url, **reddit_env(reddit, REDDIT_POLL_SECONDS="300")))
    runtime = build_runtime(settings, clock=clock, sleep=clock.advance)
    try:
        assert runtime.poller is not None
        assert runtime.poller.poll_once("reddit") == 0
        for _ in range(4):
            clock.advance(60)
            assert runtime.poller.poll_once("reddit") is None
        clock.advance(60)
        assert runtime.poller.poll_once("reddit") == 0
        assert len([r for r in reddit.listing_requests() if r.path.endswith("/new")]) == 2
    finally:
        runtime.close()


def next_poll_at(rt: Runtime) -> datetime:
    with rt.sessions() as s:
        row = s.get(PollCursor, "reddit")
        assert row is not None
        return row.next_poll_at.replace(tzinfo=UTC)


def test_a_reddit_outage_during_a_poll_loses_nothing(rt, reddit, slack, clock):
    comment = reddit.add_comment(author="jane_doe", body="acme is down again")
    reddit.standin.fail("GET", r"/r/.*/comments", Reply(503, "<html>Our CDN was unable to reach our servers</html>"))
    assert poll(rt) is None
    assert next_poll_at(rt) == clock.now() + timedelta(seconds=60)  # backs off; the cursor has not moved
    clock.advance(60)
    assert poll(rt) == 1
    with rt.sessions() as s:
        assert list(s.scalars(select(Mention.external_id))) == [comment]
    assert len(slack.channel(CHANNEL)) == 1


def test_a_429_makes_the_poller_wait_for_x_ratelimit_reset(rt, reddit, clock):
    reddit.rate_remaining, reddit.rate_reset = 0, 420
    assert poll(rt) is None
    assert next_poll_at(rt) == clock.now() + timedelta(seconds=420)
    clock.advance(60)
    assert poll(rt) is None  # not due: nothing asked of Reddit
    assert len(reddit.listing_requests()) == 1
