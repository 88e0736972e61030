"""The generic webhook's private messages, through the app over real HTTP: a post with `"visibility": "private"`
is the customer's DM. It opens a case shown as private or joins the author's open case, marked :lock: in the
thread; a private reply goes to CARE_GENERIC_REPLY_URL with `visibility: private`; any other visibility is
refused, naming the field, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from bot.models import Case, Mention
from bot.services import cases
from tests.blocks.slack_rules import live_sequences, message_problems
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL
from tests.support.webhooks import post_webhook, webhook_body

JANE_DM = {"platform": "acmechat", "author": {"id": "42", "handle": "jane_doe", "name": "Jane Doe"}, "url": None}


def send(desk: Desk, **body: Any) -> dict[str, Any]:
    response = post_webhook(desk.url, {k: v for k, v in webhook_body(**body).items() if v is not None})
    assert response.status_code == 202, response.text
    desk.settle()
    return dict(response.json())


def test_a_private_message_opens_a_case_shown_as_private_and_the_next_joins_its_thread(
    app_url, rt, slack, listeners
) -> None:
    desk = Desk(app_url, rt, slack, listeners)
    first = send(desk, **JANE_DM, id="dm-1", visibility="private", text="Hi, my booking AC123 was cancelled <!here>")
    again = send(desk, **JANE_DM, id="dm-1", visibility="private", text="Hi, my booking AC123 was cancelled <!here>")
    later = send(desk, **JANE_DM, id="dm-2", visibility="private", text="Any news? I fly on Friday")

    assert first["case_id"] == again["case_id"] == later["case_id"] and again["duplicate"]
    shown = all_text(desk.parent.blocks)
    assert ":lock: *Private message*" in shown and ":lock: in DM · last private message" in shown
    assert desk.thread_texts() == [":lock: Private message from *Jane*:\n> Any news? I fly on Friday"]
    for message in [desk.parent, *slack.thread(CHANNEL, desk.parent.ts)]:
        assert message_problems(message.text, message.blocks) == []
        assert live_sequences(message.text + json.dumps(message.blocks)) == []

    desk.reply_privately(first["case_id"], "Hi Jane, I've rebooked you on Friday's 9:40. – Alice")
    desk.settle()
    [relayed] = slack.replies
    assert relayed.json == {
        "in_reply_to": "dm-2",
        "platform": "acmechat",
        "text": "Hi Jane, I've rebooked you on Friday's 9:40. – Alice",
        "visibility": "private",
    }
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to Jane:")


def test_a_public_post_and_a_private_message_of_one_customer_share_a_case(app_url, rt, slack, listeners) -> None:
    desk = Desk(app_url, rt, slack, listeners)
    public = send(desk, **{**JANE_DM, "url": "https://acmechat.example/p/1"}, id="post-1", text="Refund please")
    private = send(desk, **JANE_DM, id="dm-1", visibility="private", text="Here is my order number: 5521")
    assert public["case_id"] == private["case_id"]
    shown = all_text(desk.parent.blocks)
    assert "Private message" not in shown and ":lock: in DM · last private message" in shown
    assert desk.thread_texts() == [":lock: Private message from *Jane*:\n> Here is my order number: 5521"]


def test_a_visibility_other_than_public_or_private_is_refused_and_nothing_is_stored(
    app_url, rt, slack, listeners
) -> None:
    for wrong in ("secret", "", "PRIVATE", True, None, ["private"]):
        body = webhook_body(id="dm-9", visibility=wrong)
        response = post_webhook(app_url, body)
        assert response.status_code == 422, (wrong, response.text)
        assert response.json()["field"] == "visibility"
        assert "public" in response.json()["error"] and "private" in response.json()["error"]
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(Mention)) == 0
    public = post_webhook(app_url, webhook_body(id="post-9", visibility="public"))
    assert public.status_code == 202 and not public.json()["duplicate"]


def test_a_returning_customers_new_case_names_their_earlier_one_with_its_thread(app_url, rt, slack, listeners) -> None:
    desk = Desk(app_url, rt, slack, listeners)
    first = send(desk, id="post-1", text="My bag never arrived")
    with rt.unit() as session:
        cases.resolve(
            session, case_id=first["case_id"], user_id="U0ALICE", outcome="walked_away", comment=None, now=rt.now()
        )
    desk.settle()
    second = send(desk, id="post-2", text="Again! Another bag lost")
    assert second["case_id"] != first["case_id"]

    old, new = slack.channel(CHANNEL)
    assert "Returning customer" not in all_text(old.blocks)
    [line] = [b["elements"][0]["text"] for b in new.blocks if b["type"] == "context" and "Returning" in json.dumps(b)]
    link = rt.thread_url(CHANNEL, old.ts)
    assert link and line == (
        f":leftwards_arrow_with_hook: *Returning customer:* 1 earlier case · the last, #{first['case_id']}: "
        f"Resolved (Customer walked away) · <{link}|Open its thread>"
    )
    assert message_problems(new.text, new.blocks) == []
