"""Private messages on Facebook (Messenger) and Instagram: the `messages` webhook field, over real HTTP.

A customer's message to the Page or the Instagram account (tests/fixtures/<platform>/message*.json, Meta's
documented `entry[].messaging[]` shape) joins their open case or opens one, marked private, within the one
delivery; the brand's own messages (echoes) never become anything; receipts and reactions are skipped. A private
reply to a case in DM goes through the Send API (`recipient.id`, `messaging_type: RESPONSE`) and is refused in
words staff understand once the 24-hour window has closed.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Case, Mention
from connectors.meta import FacebookConnector, InstagramConnector
from tests.fakes import fixture_bytes
from tests.fakes.meta import IG_ACCOUNT_ID, PAGE_ID, PAGE_TOKEN, fixture
from tests.support.blocks import all_text

PSID, IGSID = "2411998877665544", "6543210987654321"
FB_MID = fixture("facebook", "message")["entry"][0]["messaging"][0]["message"]["mid"]
IG_MID = fixture("instagram", "message")["entry"][0]["messaging"][0]["message"]["mid"]


def dated(delivery: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A delivery fixture as if sent at `at` (Meta's millisecond timestamps)."""
    body = copy.deepcopy(delivery)
    for entry in body["entry"]:
        entry["time"] = int(at.timestamp() * 1000)
        for event in entry.get("messaging", []):
            event["timestamp"] = int(at.timestamp() * 1000) - 200
    return body


def stored_messages(desk: Any) -> list[tuple[str, bool, str]]:
    with desk.rt.sessions() as s:
        return [(m.external_id, m.private, m.text) for m in s.scalars(select(Mention).order_by(Mention.id))]


# -- parsing: Meta's documented shapes ------------------------------------------------------------------
@pytest.fixture
def facebook(settings) -> FacebookConnector:
    return FacebookConnector(settings.platforms.meta, client=None)  # type: ignore[arg-type]  # parsing only


@pytest.fixture
def instagram(settings) -> InstagramConnector:
    return InstagramConnector(settings.platforms.meta, client=None)  # type: ignore[arg-type]


def test_a_messenger_message_is_a_private_mention_of_its_sender(facebook) -> None:
    [message] = facebook.parse(fixture_bytes("facebook", "message"))
    assert message.private and message.external_id == FB_MID
    assert (message.author.id, message.author.handle, message.author.name) == (PSID, PSID, None)
    assert message.text.startswith("Hi, it's Jane from the comments. My order number is 5521")
    assert message.posted_at == datetime.fromtimestamp(1795424999.871, UTC)
    assert message.extra == {"dm": True} and message.url is None


def test_an_attachment_without_text_is_shown_as_what_it_is(facebook) -> None:
    [message] = facebook.parse(fixture_bytes("facebook", "message_attachment"))
    assert message.private and message.text == "[image]"  # the CDN URL expires: not kept
    both = dated(fixture("facebook", "message_attachment"), datetime.now(UTC))
    both["entry"][0]["messaging"][0]["message"]["text"] = "Here is the receipt"
    [message] = facebook.parse(json_bytes(both))
    assert message.text == "Here is the receipt [image]"


def test_the_pages_own_messages_receipts_and_reactions_are_never_mentions(facebook, instagram) -> None:
    assert facebook.parse(fixture_bytes("facebook", "message_echo")) == []
    assert facebook.parse(fixture_bytes("facebook", "message_events")) == []
    assert instagram.parse(fixture_bytes("instagram", "message_echo")) == []
    # sent by the account itself without the echo flag (e.g. from the Page inbox, as some apps deliver it)
    own = fixture("facebook", "message")
    own["entry"][0]["messaging"][0]["sender"]["id"] = PAGE_ID
    assert facebook.parse(json_bytes(own)) == []


def test_an_instagram_message_is_private_and_unsending_it_deletes_it(instagram) -> None:
    [message] = instagram.parse(fixture_bytes("instagram", "message"))
    assert message.private and (message.external_id, message.author.id) == (IG_MID, IGSID)
    [deleted] = instagram.parse(fixture_bytes("instagram", "message_deleted"))
    assert (deleted.platform, deleted.external_id) == ("instagram", IG_MID)  # a MentionDeleted: noted, erased


def test_a_messenger_edit_replaces_the_text(facebook) -> None:
    edit = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1795425300000,
                "messaging": [
                    {
                        "sender": {"id": PSID},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 1795425299000,
                        "message_edit": {"mid": FB_MID, "text": "My order number is 5512, sorry", "num_edit": 1},
                    }
                ],
            }
        ],
    }
    [edited] = facebook.parse(json_bytes(edit))
    assert (edited.external_id, edited.text) == (FB_MID, "My order number is 5512, sorry")


def test_the_24_hour_window_is_said_before_anyone_writes(facebook) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert facebook.private_message_problem(now - timedelta(hours=23), now, dm=True) is None
    problem = facebook.private_message_problem(now - timedelta(hours=30), now, dm=True)
    assert problem == (
        "Facebook accepts a message only within 24 hours of the customer's last message, and theirs was "
        "30 hours ago: answer publicly, or wait until they write again"
    )
    assert facebook.private_message_problem(now - timedelta(days=3), now) is None  # a comment: 7 days


# -- the desk: in the thread within one delivery, and answered privately -------------------------------------
def test_a_dm_after_a_comment_joins_the_case_thread_marked_private(desk, slack) -> None:
    case_id = desk.comment("facebook")
    assert desk.deliver("facebook", dated(fixture("facebook", "message"), datetime.now(UTC))) == {
        "received": 1,
        "stored": 1,
    }
    # Meta's PSID is not the id it gives a commenter: the DM opens its own case, marked private
    with desk.rt.sessions() as s:
        dm_case = s.scalars(select(Case).where(Case.author_id == PSID)).one()
    assert dm_case.id != case_id and dm_case.last_private_at is not None
    assert desk.deliver("facebook", fixture_bytes("facebook", "message_echo")) == {"received": 0, "stored": 0}
    assert desk.deliver("facebook", fixture_bytes("facebook", "message_events")) == {"received": 0, "stored": 0}
    again = dated(fixture("facebook", "message_attachment"), datetime.now(UTC))
    desk.deliver("facebook", again)

    parents = slack.channel("C0CARE")
    assert len(parents) == 2
    shown = all_text(parents[1].blocks)
    assert ":lock: *Private message*" in shown and "Hi, it's Jane from the comments" in shown
    assert [m.text for m in slack.thread("C0CARE", parents[1].ts)] == [
        ":lock: Private message from *@2411998877665544*:\n> [image]"
    ]
    assert [(p, text[:10]) for _, p, text in stored_messages(desk)][1:] == [(True, "Hi, it's J"), (True, "[image]")]


def test_a_private_reply_to_a_messenger_case_goes_through_the_send_api(desk, graph) -> None:
    desk.deliver("facebook", dated(fixture("facebook", "message"), datetime.now(UTC)))
    with desk.rt.sessions() as s:
        case_id = s.scalars(select(Case.id)).one()
    desk.reply_privately(case_id, "Hi Jane, order 5521 leaves our depot today. – Alice")
    desk.settle()

    assert graph.messages_sent(PAGE_ID) == [
        {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": "Hi Jane, order 5521 leaves our depot today. – Alice"},
            "access_token": PAGE_TOKEN,
        }
    ]
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to @2411998877665544:")


def test_a_private_reply_after_the_window_closed_is_reported_not_lost(desk, graph) -> None:
    desk.deliver("instagram", dated(fixture("instagram", "message"), datetime.now(UTC)))
    with desk.rt.sessions() as s:
        case_id = s.scalars(select(Case.id)).one()
    graph.close_window(IGSID)
    desk.reply_privately(case_id, "Hi, following up on order 8841. – Bob")
    desk.settle()
    [sent] = graph.messages_sent(IG_ACCOUNT_ID)
    assert sent["recipient"] == {"id": IGSID} and sent["messaging_type"] == "RESPONSE"
    note = desk.thread_texts()[-1]
    assert note.startswith(":warning: <@U0ALICE>'s private reply to @6543210987654321 was *not sent*: ")
    assert note.endswith("The draft is kept: click *Reply* to try again.\n> Hi, following up on order 8841. – Bob")
    assert desk.case(case_id).draft_text == "Hi, following up on order 8841. – Bob"
    assert "Instagram accepts a message only within 24 hours of the customer's last message" in note


def test_an_instagram_dm_joins_the_open_case_of_the_commenter(desk, slack) -> None:
    case_id = desk.comment("instagram", "comment")  # from.id is the commenter's Instagram-scoped id
    desk.deliver("instagram", dated(fixture("instagram", "message"), datetime.now(UTC)))
    desk.deliver("instagram", fixture_bytes("instagram", "message_echo"))
    with desk.rt.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.author_handle == "jane.doe"  # the DM knows only the id: the handle stays
        assert [m.private for m in case.mentions] == [False, True]
    assert desk.thread_texts() == [
        ":lock: Private message from *@jane.doe*:\n> Hi! My refund for order 8841 still hasn't arrived, can you check?"
    ]
    assert "in DM · last private message" in all_text(desk.parent.blocks)


def json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()
