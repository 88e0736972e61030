"""Reddit private messages against the fake Reddit over real HTTP (the inbox in Reddit's documented shape,
tests/fixtures/reddit/inbox.json): a customer's message becomes a private mention within one poll, whatever it
says; comment replies, the brand's own messages and modmail never do; each is marked read once stored, and only
then; a private reply to it goes by `POST /api/compose`; and through the served app it reaches the case thread,
marked private."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.models import Case
from bot.runtime import Runtime
from connectors.base import InboundMention, Outbound
from tests.connectors.test_reddit import make, reddit_env
from tests.fakes.platform_standin import Reply
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env


def private(changes: object) -> list[InboundMention]:
    return [c for c in changes if isinstance(c, InboundMention) and c.private]  # type: ignore[attr-defined]


def test_a_private_message_is_a_mention_whatever_it_says_and_replies_in_the_inbox_are_not(reddit, http) -> None:
    connector = make(reddit, http)
    message = reddit.send_message(author="jane_doe", subject="My refund", body="Order 5521, no refund yet.")
    reddit.reply_in_inbox(author="jane_doe", body="acme thanks, waiting for your message")  # t1: a comment reply
    reddit.send_message(author="AcmeCare", body="Our own message in a conversation")
    modmail = reddit.send_message(author="mod_team", body="r/acme modmail")
    reddit.inbox[modmail]["data"]["subreddit"] = "acme"
    admin = reddit.send_message(author="reddit", body="Welcome to Reddit")
    reddit.inbox[admin]["data"]["distinguished"] = "admin"

    [found] = private(connector.poll(None).changes)

    assert (found.platform, found.external_id, found.private) == ("reddit", message, True)
    assert (found.author.id, found.author.handle) == ("t2_jane_doe", "jane_doe")
    assert found.text == "My refund\n\nOrder 5521, no refund yet."  # the subject opens a conversation
    assert found.url == f"https://www.reddit.com/message/messages/{message[3:]}"
    assert found.extra == {
        "dm": True,
        "author": "jane_doe",
        "subject": "My refund",
        "kind": "message",
        "conversation": message,
    }
    assert found.posted_at == datetime.fromtimestamp(reddit.inbox[message]["data"]["created_utc"], UTC)
    inbox = reddit.inbox_requests()[0]
    assert inbox.query["limit"] == "100" and inbox.headers["authorization"].startswith("bearer ")


def test_a_message_is_marked_read_at_the_poll_after_the_one_that_stored_it(reddit, http) -> None:
    connector = make(reddit, http)
    first = reddit.send_message(body="Hello?")
    stored = connector.poll(None)
    assert [m.external_id for m in private(stored.changes)] == [first]
    assert reddit.read_requests() == [] and reddit.unread() == [first]  # not before it is stored

    # the store failed (the poll's cursor was not kept): the message comes again, still unread
    assert [m.external_id for m in private(connector.poll(None).changes)] == [first]
    assert reddit.read_requests() == []

    reply = reddit.send_message(body="Still waiting", reply_to=first)
    after = connector.poll(stored.cursor)  # the stored cursor lists it: marked read first
    assert reddit.read_requests() == [[first]]
    [again] = private(after.changes)
    assert again.external_id == reply and again.text == "Still waiting"  # a reply: no subject line
    assert again.extra["conversation"] == first and again.extra["subject"] == "re: My refund"
    assert reddit.unread() == [reply]
    connector.poll(after.cursor)
    assert reddit.read_requests() == [[first], [reply]] and reddit.unread() == []


def test_a_failed_mark_is_tried_again_and_never_fails_the_poll(reddit, http, caplog) -> None:
    connector = make(reddit, http)
    message = reddit.send_message(body="Hello?")
    stored = connector.poll(None)
    reddit.standin.fail("POST", "/api/read_message", Reply(503, "<html>Our CDN was unable to reach our servers</html>"))
    later = reddit.send_message(body="Anyone?")
    result = connector.poll(stored.cursor)
    assert [m.external_id for m in private(result.changes)] == [later]
    assert "could not mark 1 stored messages read" in caplog.text
    connector.poll(result.cursor)
    assert reddit.unread() == [] and reddit.read_requests()[-1] == [message, later]


def test_the_first_read_takes_only_unread_messages_and_nothing_comes_twice(reddit, http) -> None:
    old = reddit.send_message(body="An old conversation, dealt with", created=time.time() - 30 * 86400, unread=False)
    waiting = reddit.send_message(body="Please help, order 5521")
    connector = make(reddit, http)
    first = connector.poll(None)
    assert [m.external_id for m in private(first.changes)] == [waiting]
    second = connector.poll(first.cursor)
    assert private(second.changes) == [] and old not in json.loads(second.cursor or "{}")["mark"]
    # read by someone on reddit.com before our poll: still taken in (the inbox is read, not /message/unread)
    opened = reddit.send_message(body="Did you get my message?", unread=False)
    assert [m.external_id for m in private(connector.poll(second.cursor).changes)] == [opened]


def test_a_message_listed_late_within_the_overlap_is_still_caught(reddit, http) -> None:
    connector = make(reddit, http)
    reddit.send_message(body="first")
    state = connector.poll(None).cursor
    late = reddit.send_message(body="listed late", created=reddit.now - 120)  # older than the newest seen
    assert [m.external_id for m in private(connector.poll(state).changes)] == [late]


def test_a_cursor_from_before_private_messages_keeps_its_place_and_starts_reading_the_inbox(reddit, http) -> None:
    connector = make(reddit, http)
    reddit.add_comment(author="jane_doe", body="acme lost my parcel")
    stored = json.loads(connector.poll(None).cursor or "{}")
    older = json.dumps({k: v for k, v in stored.items() if k not in ("inbox", "mark")})  # as an older version kept it
    message = reddit.send_message(body="Here is my order number")
    result = connector.poll(older)
    assert [m.external_id for m in result.changes if isinstance(m, InboundMention)] == [message]
    assert json.loads(result.cursor or "{}")["mark"] == [message]


def test_a_private_reply_answers_in_the_conversation_by_compose(reddit, http) -> None:
    connector = make(reddit, http)
    reddit.send_message(body="Order 5521?")
    [found] = private(connector.poll(None).changes)
    sent = connector.send(
        Outbound(
            platform="reddit",
            in_reply_to=found.external_id,
            author_id=found.author.id,
            text="Hi Jane, your refund went out today. – Alice",
            visibility="private",
            context={**found.extra, "posted_at": found.posted_at.isoformat()},
        )
    )
    assert sent.note is None
    assert reddit.messages == [
        {
            "to": "jane_doe",
            "subject": "re: My refund",
            "text": "Hi Jane, your refund went out today. – Alice",
            "api_type": "json",
        }
    ]


# -- through the served app ------------------------------------------------------------------------------
@pytest.fixture
def env(slack, database_url, reddit) -> dict[str, str]:
    return make_env(slack, database_url, **reddit_env(reddit))


def poll(rt: Runtime) -> int | None:
    assert rt.poller is not None
    stored = rt.poller.poll_once("reddit")
    rt.deliverer.drain()
    return stored


def test_a_reddit_message_reaches_the_case_thread_marked_private_and_is_answered_privately(
    app_url, rt, slack, listeners, reddit, clock
) -> None:
    desk = Desk(app_url, rt, slack, listeners)
    reddit.add_comment(author="jane_doe", body="Acme lost my parcel, two weeks now")
    assert poll(rt) == 1
    first = reddit.send_message(author="jane_doe", subject="Parcel", body="Tracking number AC-5521 <!channel>")
    reddit.send_message(author="AcmeCare", body="Hi Jane, looking into it", reply_to=first)  # ours: ignored
    clock.advance(60)
    assert poll(rt) == 1

    [parent] = slack.channel(CHANNEL)
    assert [m.text for m in slack.thread(CHANNEL, parent.ts)] == [
        f":lock: Private message from *@jane_doe* · <https://www.reddit.com/message/messages/{first[3:]}|"
        "View conversation>:\n> Parcel\n> \n> Tracking number AC-5521 &lt;!channel&gt;"
    ]
    assert ":lock: in DM · last private message" in all_text(parent.blocks)
    clock.advance(60)
    poll(rt)
    assert first in reddit.read_requests()[-1]  # marked read once stored

    with rt.sessions() as s:
        case_id = s.scalars(select(Case.id)).one()
    desk.reply_privately(case_id, "Hi Jane, AC-5521 is at our depot and leaves today. – Alice")
    desk.settle()
    assert reddit.messages[-1] == {
        "to": "jane_doe",
        "subject": "re: Parcel",
        "text": "Hi Jane, AC-5521 is at our depot and leaves today. – Alice",
        "api_type": "json",
    }
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to @jane_doe:")
