"""Answering privately from the Reply modal on Facebook and Instagram, over real HTTP.

The modal offers *public* or *private* where Meta would take a private message now, says why where it would not
(the 24 hours after the customer's last message, the 7 days and one private reply of a comment), and sends
through the API that fits: into the customer's conversation (Send API, `recipient.id`) when they wrote to us,
else as the comment's private reply (`recipient.comment_id`). The thread quotes what was sent, marked private.
"""

from __future__ import annotations

import json
from typing import Any

from bot.models import Case
from tests.fakes import fixture_bytes
from tests.fakes.meta import IG_ACCOUNT_ID, PAGE_ID, PAGE_TOKEN
from tests.support.blocks import all_text

PSID, IGSID = "2411998877665544", "6543210987654321"
COMMENT_ID = "5551234567_8887776665"
REPLY_PATH, MESSAGES_PATH = rf"{COMMENT_ID}/comments", rf"{PAGE_ID}/messages"
WINDOW_CLOSED = (
    "Facebook accepts a message only within 24 hours of the customer's last message, and theirs was 25 hours ago: "
    "answer publicly, or wait until they write again"
)


def open_reply(desk: Any, case_id: int) -> dict[str, Any]:
    desk.click("case_reply", case_id)
    view = desk.last_view()
    assert view["callback_id"] == "reply_modal"
    return view


def choice(view: dict[str, Any]) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == "send_as"), None)


def reply_label(view: dict[str, Any]) -> str:
    return str(next(b for b in view["blocks"] if b.get("block_id") == "reply")["label"]["text"])


def messenger_case(desk: Any) -> int:
    desk.deliver("facebook", fixture_bytes("facebook", "message"))
    with desk.rt.sessions() as s:
        case = s.query(Case).one()
        assert [m.private for m in case.mentions] == [True]
        return case.id


def test_a_comment_offers_public_or_private_and_the_private_one_is_the_comments_private_reply(desk, graph) -> None:
    case_id = desk.comment()
    view = open_reply(desk, case_id)
    offered = choice(view)
    assert offered is not None and offered["label"]["text"] == "Send as"
    assert [o["value"] for o in offered["element"]["options"]] == ["public", "private"]
    assert offered["element"]["initial_option"]["value"] == "public"  # the customer wrote publicly
    assert reply_label(view) == "Your reply (public up to 8000 characters, private up to 2000)"

    text = "Hi Jane, I've found order 5521: it ships today and I'll confirm here by 5pm. – Alice"
    assert desk.send_reply(view, text, send_as="private") == {}
    assert graph.calls("POST", REPLY_PATH) == []  # nothing public
    assert graph.calls("POST", MESSAGES_PATH) == [
        {"recipient": {"comment_id": COMMENT_ID}, "message": {"text": text}, "access_token": PAGE_TOKEN}
    ]
    assert desk.thread_texts()[-1] == f":lock: <@U0ALICE> replied privately to Jane:\n> {text}"
    case = desk.case(case_id)
    assert case.first_response_at is not None and case.awaiting_reply_since is None  # a response like any other

    # Meta takes one private reply per comment: the next Reply says so, and offers the public reply only
    again = open_reply(desk, case_id)
    assert choice(again) is None and reply_label(again) == "Public reply (up to 8000 characters)"
    assert (
        ":lock: Only a public reply is possible: Facebook takes one private message per comment, and this comment "
        "has had its one: once they answer it, you can write to them privately again."
    ) in all_text(again["blocks"])
    assert json.loads(again["private_metadata"])["send_as"] == "public"


def test_a_private_reply_where_meta_would_refuse_it_is_answered_in_the_modal(desk, graph, clock) -> None:
    """A modal opened while private was possible, submitted after the comment's 7 days: an inline error on the
    choice, nothing sent, and the text still in the modal."""
    case_id = desk.comment()
    view = open_reply(desk, case_id)
    clock.advance(days=8)
    text = "Hi Jane, so sorry: order 5521 ships today and I'll confirm by 5pm. – Alice"
    answer = desk.send_reply(view, text, send_as="private")
    assert answer == {
        "response_action": "errors",
        "errors": {
            "send_as": "Facebook accepts a private reply only within 7 days of a comment, "
            "and this comment is 8 days old."
        },
    }
    assert graph.calls("POST", MESSAGES_PATH) == [] and graph.calls("POST", REPLY_PATH) == []
    assert desk.send_reply(view, text, send_as="public") == {}  # the public way is still open
    assert [c["message"] for c in graph.calls("POST", REPLY_PATH)] == [text]


def test_a_messenger_conversation_is_answered_privately_only(desk, graph, slack) -> None:
    case_id = messenger_case(desk)
    assert "Move to DM" not in desk.button_labels()  # it is a private conversation already
    view = open_reply(desk, case_id)
    assert choice(view) is None
    assert ":lock: They wrote to us privately: your reply goes to them privately on Facebook." in all_text(
        view["blocks"]
    )
    assert reply_label(view) == "Private message (up to 2000 characters)"
    post = next(b["text"]["text"] for b in view["blocks"] if b["type"] == "section" and " wrote" in b["text"]["text"])
    assert post.startswith(f"*@{PSID}* wrote :lock: privately:\n> Hi, it's Jane")
    start = next(b for b in view["blocks"] if b.get("block_id") == "reply")["element"]["initial_value"]
    assert start.startswith("Hi there,") and PSID not in start  # Meta names a sender by a number only

    text = "Hi there, thanks for the order number: 5521 leaves our depot today; I'll message you by 5pm. – Alice"
    assert desk.send_reply(view, text) == {}
    assert graph.messages_sent(PAGE_ID) == [
        {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": text},
            "access_token": PAGE_TOKEN,
        }
    ]
    assert desk.thread_texts()[-1] == f":lock: <@U0ALICE> replied privately to @{PSID}:\n> {text}"
    assert desk.case(case_id).first_response_at is not None

    # a Move to DM button from an older message: refused in a sentence, nothing sent
    desk.click("case_move_to_dm", case_id)
    assert "already private" in slack.state.ephemeral[-1]["text"]
    assert len(graph.calls("POST", MESSAGES_PATH)) == 1


def test_after_24_hours_the_modal_says_why_nothing_can_go_and_keeps_the_draft(desk, graph, clock) -> None:
    case_id = messenger_case(desk)
    clock.advance(hours=25, minutes=10)  # their message came at 09:10
    view = open_reply(desk, case_id)
    assert choice(view) is None
    assert f":warning: They wrote to us privately, and no private message can go now: {WINDOW_CLOSED}." in all_text(
        view["blocks"]
    )
    text = "Hi, sorry for the wait: 5521 ships today. – Alice"
    assert desk.send_reply(view, text) == {"response_action": "errors", "errors": {"reply": WINDOW_CLOSED + "."}}
    assert graph.calls("POST", MESSAGES_PATH) == []
    desk.submit(view, {"reply": {"text": {"type": "plain_text_input", "value": text}}}, kind="view_closed")
    assert desk.case(case_id).draft_text == text  # closing the modal keeps what was written


def test_a_commenter_who_then_writes_privately_is_offered_private_first_into_their_conversation(desk, graph) -> None:
    case_id = desk.comment("instagram", "comment")
    desk.deliver("instagram", fixture_bytes("instagram", "message"))  # the same Instagram-scoped id
    view = open_reply(desk, case_id)
    offered = choice(view)
    assert offered is not None and offered["element"]["initial_option"]["value"] == "private"
    text = "Hi Jane, I've checked order 8841: the refund was sent today and shows within 3 days. – Alice"
    assert desk.send_reply(view, text) == {}
    [sent] = graph.messages_sent(IG_ACCOUNT_ID)  # into the conversation, not a private reply to the comment
    assert sent["recipient"] == {"id": IGSID} and sent["message"] == {"text": text}
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to @jane.doe:")

    # answering publicly still answers the comment, not the private message
    public = "Hi Jane, sorted by DM: thanks for your patience. – Alice"
    desk.click("case_reply", case_id)
    assert desk.send_reply(desk.last_view(), public, send_as="public") == {}
    [reply] = graph.calls("POST", r"\d+/replies")
    assert reply["message"] == public
