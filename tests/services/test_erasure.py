"""Erasure: a customer asks to be forgotten, or deletes a post. Driven through the served app as Slack and the
webhook drive it, erased with the service, read back from the fake Slack and from every stored row."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.errors import UserError
from bot.models import Base, OutboxItem
from bot.services import cases, digest, erasure, ingest, outbox, replies
from connectors.base import MentionDeleted, MentionEdited, rule_for
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL
from tests.support.slack_requests import post_command, text_value

REPLY = "Hi Jane, I'm sorry about the wait. I've chased your refund and will update you today. – Bob"
JANE = ("Jane", "jane_doe", "refund", "three weeks late", "x.com/jane_doe")
SAM = {
    "id": "1790000000000000009",
    "author": {"id": "77", "handle": "sam_k", "name": "Sam Kim"},
    "url": "https://x.com/sam_k/status/1790000000000000009",
}


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def janes_case(desk: Desk) -> int:
    """Jane posts, posts again (a note in the thread quotes her), and Bob replies to her by name."""
    case_id = desk.new_case()
    desk.new_case(
        id="1790000000000000002",
        text="@acme hello?? still waiting on that refund, 22 days now",
        url="https://x.com/jane_doe/status/1790000000000000002",
    )
    desk.click("case_reply", case_id, user="U0BOB")
    desk.submit(desk.last_view(), text_value("reply", "text", REPLY), user="U0BOB")
    return case_id


def queue_reply(desk: Desk, case_id: int) -> None:
    """Bob's reply to Jane, queued for the platform as the Reply modal queues it."""
    with desk.rt.unit() as session:
        replies.submit_reply(
            session, case_id=case_id, user_id="U0BOB", text=REPLY, rule=rule_for("twitter"), now=desk.rt.now()
        )


def forget(desk: Desk, **who: Any) -> erasure.Erased:
    with desk.rt.unit() as session:
        erased = erasure.forget(session, platform="twitter", now=desk.rt.now(), **who)
    desk.settle()
    return erased


def stored(desk: Desk) -> str:
    """Every value of every row of every table, as one text: what an operator could read in the database."""
    with desk.rt.sessions() as session:
        rows = [dict(row._mapping) for table in Base.metadata.sorted_tables for row in session.execute(table.select())]
    return json.dumps(rows, default=str)


def case_message(desk: Desk, case_id: int) -> str:
    ts = desk.case(case_id).slack_ts
    [message] = [m for m in desk.slack.channel(CHANNEL) if m.ts == ts]
    return message.text + "\n" + all_text(message.blocks)


def stats(desk: Desk) -> list[dict[str, Any]]:
    """What `/care stats 7d` shows (read from the response Slack received)."""
    answered = len(desk.slack.responses)
    response = post_command(desk.url, text="stats 7d", user="U0ALICE", response_url=desk.slack.response_url("stats"))
    assert response.status_code == 200
    desk.listeners.wait_idle()
    assert len(desk.slack.responses) == answered + 1
    return list(desk.slack.responses[-1]["blocks"])


def test_forget_erases_the_customer_everywhere_and_the_case_message_says_so(desk: Desk) -> None:
    case_id = janes_case(desk)
    sam = desk.new_case(**SAM, text="@acme the lounge wifi is down again")
    before = stats(desk)
    for words in JANE:
        assert words in stored(desk)
    assert "Jane Doe" in case_message(desk, case_id)

    erased = forget(desk, author_id="42")

    assert erased == erasure.Erased(
        # events: the note quoting her second post, and the case's "received" with the priority reason quoting her
        cases=1,
        posts=2,
        events=2,
        drafts=0,
        outbox_payloads=1,
        sends_withdrawn=0,
        slack_updates=erased.slack_updates,
    )
    assert erased.slack_updates >= 3  # the case message, the note quoting her second post, the note quoting the reply
    everything = stored(desk)
    for words in JANE:
        assert words not in everything, words
    shown = case_message(desk, case_id)
    assert erasure.REMOVED in shown and "@[removed]" in shown
    for words in JANE:
        assert words not in shown, words
    # what is not hers stays: the counts, the other customer, the staff who acted
    assert stats(desk) == before
    assert "Sam Kim" in case_message(desk, sam) and "lounge wifi" in stored(desk)
    case = desk.case(case_id)
    assert (case.status, case.owner_id, case.priority) == ("open", "U0BOB", "high")
    assert case.first_response_at is not None and case.created_at is not None


def test_forgetting_twice_changes_nothing_the_second_time(desk: Desk) -> None:
    janes_case(desk)
    assert forget(desk, author_id="42").changed
    with desk.rt.sessions() as session:
        items = session.scalars(select(OutboxItem.id)).all()
    database = stored(desk)

    assert forget(desk, author_id="42") == erasure.Erased()
    assert forget(desk, handle="jane_doe") == erasure.Erased()
    with desk.rt.sessions() as session:
        assert session.scalars(select(OutboxItem.id)).all() == items
    assert stored(desk) == database


def test_forget_by_handle_finds_every_case_of_that_person(desk: Desk) -> None:
    first = desk.new_case()
    with desk.rt.unit() as session:  # closed: her next post opens a second case
        cases.resolve(session, case_id=first, user_id="U0BOB", outcome="resolved", comment=None, now=desk.rt.now())
    desk.new_case(id="1790000000000000003", text="@acme and now my bag is lost too")
    erased = forget(desk, handle="jane_doe")
    assert erased.cases == 2 and erased.posts == 2
    assert "jane_doe" not in stored(desk) and "bag is lost" not in stored(desk)


def test_a_reply_still_queued_for_the_customer_is_withdrawn(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    queue_reply(desk, case_id)  # not delivered yet: the tests' workers only run when drained
    erased = forget(desk, author_id="42")
    assert erased.sends_withdrawn == 1 and erased.drafts == 1
    assert slack.replies == []  # nothing reached Jane
    assert "Hi Jane" not in stored(desk)


def test_forget_changes_nothing_while_a_message_to_the_customer_is_being_sent(desk: Desk) -> None:
    queue_reply(desk, desk.new_case())
    with desk.rt.unit() as session:
        leased = outbox.lease_next(session, lane=outbox.PLATFORM, owner="worker-1", now=desk.rt.now())
        assert leased is not None  # a worker is sending it right now
    database = stored(desk)
    with pytest.raises(UserError, match="being sent right now"), desk.rt.unit() as session:
        erasure.forget(session, platform="twitter", author_id="42", now=desk.rt.now())
    assert stored(desk) == database
    # once the lease has run out (the worker died, or finished), the erasure goes through
    with desk.rt.unit() as session:
        later = desk.rt.now() + timedelta(seconds=outbox.LEASE_SECONDS + 1)
        assert erasure.forget(session, platform="twitter", author_id="42", now=later).cases == 1


def test_thread_notes_quoting_the_customer_are_replaced_in_slack(desk: Desk) -> None:
    case_id = janes_case(desk)
    forget(desk, author_id="42")
    thread = [m.text + "\n" + all_text(m.blocks) for m in desk.slack.thread(CHANNEL, desk.case(case_id).slack_ts)]
    assert any(erasure.REMOVED in note for note in thread)
    for words in JANE:
        assert not [note for note in thread if words in note], words


def test_the_rest_of_a_long_post_continued_in_the_thread_is_replaced_too(desk: Desk) -> None:
    long_post = "@acme " + "my bag never arrived and nobody answers the phone. " * 120 + "Signed, ZEBRATAIL"
    case_id = desk.new_case(text=long_post)
    everywhere = lambda: [m.text + "\n" + all_text(m.blocks) for m in desk.slack.state.messages[CHANNEL]]  # noqa: E731
    assert any("ZEBRATAIL" in message for message in everywhere())
    assert desk.slack.thread(CHANNEL, desk.case(case_id).slack_ts)  # it was continued in the thread
    forget(desk, author_id="42")
    assert not [message for message in everywhere() if "ZEBRATAIL" in message or "nobody answers" in message]


# -- a post deleted on the platform ------------------------------------------------------------------


def test_forget_mention_removes_a_deleted_posts_text_and_updates_the_case_message(desk: Desk) -> None:
    case_id = desk.new_case()
    with desk.rt.unit() as session:
        erased = erasure.forget_mention(
            session, platform="twitter", external_id="1790000000000000001", now=desk.rt.now()
        )
    desk.settle()
    assert erased.posts == 1 and erased.slack_updates == 1
    shown = case_message(desk, case_id)
    assert erasure.REMOVED in shown and "three weeks late" not in shown and "x.com/jane_doe" not in shown
    assert "Jane Doe" in shown  # she deleted a post, she did not ask to be forgotten
    assert "three weeks late" not in stored(desk)
    with desk.rt.unit() as session:  # again: nothing left to do
        assert not erasure.forget_mention(
            session, platform="twitter", external_id="1790000000000000001", now=desk.rt.now()
        ).changed
        assert not erasure.forget_mention(session, platform="twitter", external_id="unknown", now=desk.rt.now()).changed


def test_a_deletion_on_the_platform_removes_the_stored_text_and_updates_slack(desk: Desk) -> None:
    case_id = desk.new_case()
    with desk.rt.unit() as session:
        deleted = MentionDeleted("twitter", "1790000000000000001", deleted_at=desk.rt.now())
        assert ingest.apply_deletion(session, change=deleted, now=desk.rt.now())
    desk.settle()
    shown = case_message(desk, case_id)
    assert "deleted on the platform" in shown
    assert "three weeks late" not in shown and "three weeks late" not in stored(desk)


def test_a_forgotten_customers_praise_is_not_quoted_in_the_digest(desk: Desk) -> None:
    desk.new_case(text="@acme thank you so much, the crew were wonderful and kind!")
    day = desk.rt.now() - timedelta(days=1)
    with desk.rt.read() as session:
        before = digest.praise(session, start=day, end=desk.rt.now() + timedelta(days=1))
    assert [p.text for p in before] == ["@acme thank you so much, the crew were wonderful and kind!"]
    forget(desk, author_id="42")
    with desk.rt.read() as session:
        assert digest.praise(session, start=day, end=desk.rt.now() + timedelta(days=1)) == []


def test_a_late_edit_of_an_erased_post_does_not_bring_the_words_back(desk: Desk) -> None:
    desk.new_case()
    forget(desk, author_id="42")
    with desk.rt.unit() as session:
        edited = MentionEdited("twitter", "1790000000000000001", "@acme still three weeks late", desk.rt.now(), {})
        assert not ingest.apply_edit(session, change=edited, now=desk.rt.now())
    desk.settle()
    assert "three weeks late" not in stored(desk)
