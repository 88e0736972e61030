"""Private messages in Slack: a customer's DM is marked :lock: in its thread note and on the case message of a case
it opened; the case message says the case is in DM, when the customer last wrote privately, and names their earlier
cases. Customer text stays inert and every message within Slack's limits, however hostile the customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.case import parent_message, reminder_text, thread_note_messages
from bot.models import Case, CaseEvent, Mention
from bot.services.customers import EarlierCases
from bot.sla import DUE, OFFLINE
from tests.blocks.slack_rules import live_sequences, message_problems
from tests.support.blocks import all_text

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U0BOSS> <https://evil.example|click here> & *bold*"


def dm(text: str, *, private: bool = True, name: str = "Jane Doe") -> Mention:
    return Mention(
        id=11,
        platform="facebook",
        external_id="m_1",
        author_id="2411",
        author_handle="2411",
        author_name=name,
        text=text,
        url=None,
        posted_at=NOW,
        received_at=NOW,
        sentiment=-0.4,
        extra={"dm": True} if private else {},
        private=private,
    )


def case_of(*mentions: Mention, name: str = "Jane Doe") -> Case:
    case = Case(
        id=7,
        platform="facebook",
        connector="facebook",
        author_id="2411",
        author_handle="2411",
        author_name=name,
        status="open",
        priority="high",
        slack_channel="C0CARE",
        created_at=NOW,
        updated_at=NOW,
    )
    case.mentions = list(mentions)
    case.reminders = []
    return case


def link_for(channel: str, ts: str | None) -> str | None:
    return f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}" if ts else None


def test_a_case_opened_by_a_private_message_says_so_and_shows_when_they_last_wrote_privately() -> None:
    case = case_of(dm("Where is my refund? Booking AC123"))
    case.last_private_at = NOW
    text, blocks = parent_message(case)
    shown = all_text(blocks)
    assert "Facebook · :lock: *Private message* · *Jane Doe*" in shown
    assert ":lock: in DM · last private message <!date^" in shown
    assert "View post" not in shown  # a DM has no public post to open
    assert text.startswith("[high]") and "Facebook (private message) · Jane Doe: Where is my refund?" in text
    assert message_problems(text, blocks) == []


def test_a_public_case_the_customer_then_wrote_to_privately_is_in_dm_but_not_a_private_case() -> None:
    public = dm("My order never arrived", private=False)
    public.url = "https://www.facebook.com/1/posts/2?comment_id=3"
    case = case_of(public, dm("Here is my order number"))
    case.moved_offline_at, case.last_private_at = NOW, NOW + timedelta(minutes=5)
    _, blocks = parent_message(case)
    shown = all_text(blocks)
    assert "Private message" not in shown and "View post" in shown
    assert ":lock: in DM · last private message" in shown and "moved to DM" not in shown
    case.last_private_at = None  # moved, but the customer has not written in the DM yet
    assert ":lock: moved to DM" in all_text(parent_message(case)[1])


def test_the_thread_note_of_a_private_message_is_marked_private_and_stays_inert() -> None:
    message = dm(HOSTILE, name="<!here> Eve")
    case = case_of(dm("first"), message, name="<!here> Eve")
    event = CaseEvent(id=3, case_id=7, at=NOW, actor="customer", kind="mention_added", detail={"mention_id": 11})
    [(text, blocks)] = thread_note_messages(case, event, message)
    assert text.startswith(":lock: Private message from *&lt;!here&gt;*:\n>")
    assert live_sequences(text) == []
    assert "&lt;https://evil.example|click here&gt; &amp;" in text
    assert message_problems(text, blocks) == []


def test_a_long_private_message_is_split_into_notes_within_slacks_limits() -> None:
    message = dm("word & <b> " * 3000)
    case = case_of(dm("first"), message)
    event = CaseEvent(id=3, case_id=7, at=NOW, actor="customer", kind="mention_added", detail={"mention_id": 11})
    notes = thread_note_messages(case, event, message)
    assert len(notes) > 1 and notes[0][0].startswith(":lock: Private message from *Jane*")
    for text, blocks in notes:
        assert message_problems(text, blocks) == [] and live_sequences(json.dumps(blocks)) == []


def test_a_returning_customer_is_named_with_their_last_case_and_its_thread() -> None:
    case = case_of(dm("again?", private=False))
    earlier = EarlierCases(
        count=2, last_id=3, last_status="resolved", last_outcome="refund", last_channel="C0CARE", last_ts="1.000200"
    )
    _, blocks = parent_message(case, earlier, link_for)
    [line] = [b["elements"][0]["text"] for b in blocks if b["type"] == "context" and "Returning" in json.dumps(b)]
    assert line.startswith(":leftwards_arrow_with_hook: *Returning customer:* 2 earlier cases · the last, #3: Resolved")
    assert line.endswith("<https://acme.slack.com/archives/C0CARE/p1000200|Open its thread>")
    one = EarlierCases(
        count=1, last_id=3, last_status="ignored", last_outcome="spam", last_channel="C0CARE", last_ts=None
    )
    shown = all_text(parent_message(case, one, link_for)[1])
    assert "1 earlier case · the last, #3: Ignored (Spam" in shown and "Open its thread" not in shown
    assert "Returning" not in all_text(parent_message(case)[1])  # a first-time customer


def test_the_follow_through_reminder_says_when_the_customer_last_wrote() -> None:
    case = case_of(dm("first", private=False))
    case.moved_offline_at = NOW
    facts = {"clock": OFFLINE, "stage": DUE, "limit": 86400.0, "waited": 86400.0, "remaining": 0.0}
    moved = reminder_text(case, {**facts, "clock_start": NOW.isoformat()})
    assert "this case moved to DM 1 d ago and is still open" in moved
    later = reminder_text(case, {**facts, "clock_start": (NOW + timedelta(hours=3)).isoformat()})
    assert "Jane last wrote 1 d ago and this case (in DM) is still open" in later
