"""Every accepted post reaches Slack, in full and once: a post longer than the case message continues in its
thread, a headline of escaped names and a long URL still fits, a worker that dies between parts posts no
part twice, and a message Slack still refuses is shown plainly with a note instead of being dropped.

Each payload that reached the fake Slack is checked against Slack's documented limits
(tests/blocks/slack_rules.py), as Slack itself would check it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import OutboxItem
from bot.services import outbox
from tests.blocks.slack_rules import live_sequences, message_problems, texts, view_problems
from tests.support.env import CHANNEL
from tests.support.webhooks import post_webhook, webhook_body

STAFF = {"U0ALICE", "U0BOB", "U0LEAD"}


def complaint(app_url: str, n: int = 1, **overrides: Any) -> int:
    body = webhook_body(id=f"17900000000000{n:05d}", **overrides)
    response = post_webhook(app_url, body)
    assert response.status_code == 202, response.text
    return int(response.json()["case_id"])


def everything_posted(slack: Any) -> list[Any]:
    with slack._lock:
        return [m for messages in slack.state.messages.values() for m in messages]


def assert_within_limits(slack: Any) -> None:
    for message in everything_posted(slack):
        assert not message_problems(message.text, message.blocks), message_problems(message.text, message.blocks)
        for rendered in [message.text, *texts(message.blocks or [])]:
            assert not live_sequences(rendered, STAFF), live_sequences(rendered, STAFF)


def quoted_lines(messages: list[Any]) -> list[str]:
    """The customer's words as shown: every quote line of the case message's post section and of the thread
    messages that continue it, in order."""
    lines: list[str] = []
    for n, message in enumerate(messages):
        sections = [b["text"]["text"] for b in message.blocks or [] if b["type"] == "section"]
        for text in sections[1:2] if n == 0 else sections:
            lines += [line[2:] for line in text.splitlines() if line.startswith("> ")]
    return lines


def shown_in_full(slack: Any) -> list[str]:
    [parent] = slack.channel(CHANNEL)
    return quoted_lines([parent, *slack.thread(CHANNEL, parent.ts)])


def test_a_post_of_5000_short_lines_reaches_slack_in_full(app_url, rt, slack) -> None:
    """Finding 1: "a\\n" × 5,000 got 202 and never appeared (2,900 characters clipped before "> " was added)."""
    complaint(app_url, text="a\n" * 5000)
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    continued = len(slack.thread(CHANNEL, parent.ts))
    assert f"The post continues in this thread ({continued} messages)." in parent.blocks[1]["text"]["text"]
    assert shown_in_full(slack) == ["a"] * 5000
    assert_within_limits(slack)
    with rt.sessions() as s:
        [item] = s.scalars(select(OutboxItem).where(OutboxItem.kind == "post_parent")).all()
        posted = [parent.ts] + [m.ts for m in slack.thread(CHANNEL, parent.ts)]
        assert item.state == outbox.DONE and item.result["parts"] == len(posted)
        assert item.result["part_ts"] == posted  # what an erasure updates


def test_a_post_of_40000_ampersands_is_shown_whole_however_long_it_gets_escaped(app_url, rt, slack) -> None:
    complaint(app_url, text="&" * 40_000)  # 200,000 characters once escaped
    rt.deliverer.drain()
    assert "".join(shown_in_full(slack)) == "&amp;" * 40_000
    assert_within_limits(slack)


def test_a_headline_of_escaped_names_and_a_2kb_url_fits(app_url, rt, slack) -> None:
    """Finding 1: a name of 256 "&", a handle of 128 "&" and a 2 kB URL made a 3,970-character headline."""
    url = "https://example.com/" + "p" * 2000
    complaint(app_url, author={"id": "42", "handle": "&" * 128, "name": "&" * 256}, url=url, text="Where is my refund?")
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    headline = parent.blocks[0]["text"]["text"]
    assert f"<{url}|View post>" in headline and headline.startswith(":bird: X · *&amp;&amp;")
    assert quoted_lines([parent]) == ["Where is my refund?"]
    assert_within_limits(slack)


def test_a_long_second_post_is_split_into_thread_messages_in_order(app_url, rt, slack) -> None:
    complaint(app_url, text="Hello")
    words = [f"line {n} & <!channel>" for n in range(1500)]  # within the webhook's limits
    complaint(app_url, 2, text="\n".join(words))  # the same author: joins the open case's thread
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    thread = slack.thread(CHANNEL, parent.ts)
    assert len(thread) > 1 and thread[0].text.startswith(":speech_balloon:")
    shown = [line[2:] for m in thread for t in texts(m.blocks or []) for line in t.splitlines() if line[:2] == "> "]
    assert shown == [w.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for w in words]
    assert_within_limits(slack)


class Crash(BaseException):
    """The worker process dies: not an error any lane code handles."""


class DiesAfterPost:
    """Slack takes the `nth` chat.postMessage, then the worker dies before it can record that."""

    def __init__(self, client: Any, nth: int) -> None:
        self._client, self._left = client, nth

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 (slack_sdk's name)
        response = self._client.chat_postMessage(**kwargs)
        self._left -= 1
        if self._left == 0:
            raise Crash
        return response


@pytest.mark.parametrize("dies_after", [1, 2, 3])
def test_a_worker_dying_between_parts_posts_no_part_twice(app_url, rt, slack, clock, dies_after: int) -> None:
    complaint(app_url, text="&" * 5000)  # 25,000 characters escaped: the case message and three continuations
    lane = rt.deliverer.slack
    real = lane._slack
    lane._slack = DiesAfterPost(real, dies_after)
    with pytest.raises(Crash):
        rt.deliverer.drain()
    lane._slack = real
    assert len(everything_posted(slack)) == dies_after
    clock.advance(outbox.LEASE_SECONDS + 1)  # its lease runs out; a worker takes the item up again
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    thread = slack.thread(CHANNEL, parent.ts)
    assert len(thread) == 3
    parts = [m.metadata["event_payload"].get("part", 0) for m in [parent, *thread]]
    assert parts == [0, 1, 2, 3]  # each part once, in order
    with rt.sessions() as s:
        [item] = s.scalars(select(OutboxItem).where(OutboxItem.kind == "post_parent")).all()
        assert item.result["part_ts"] == [m.ts for m in [parent, *thread]]
    assert "".join(shown_in_full(slack)) == "&amp;" * 5000


def test_a_message_slack_refuses_is_shown_plainly_with_a_note(app_url, rt, slack) -> None:
    slack.fail("chat.postMessage", error="invalid_blocks")
    complaint(app_url, text="My order <!channel> never came")
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    shown = "\n".join(texts(parent.blocks))
    assert "Slack refused this message as built (invalid_blocks), so it is shown plainly." in shown
    assert "My order &lt;!channel&gt; never came" in shown
    assert [e["text"]["text"] for e in parent.blocks[-1]["elements"]][:2] == ["Claim", "Reply"]  # still actionable
    assert_within_limits(slack)
    with rt.sessions() as s:
        assert s.scalars(select(OutboxItem.state)).all() == [outbox.DONE]


def test_refused_twice_it_is_posted_as_text_and_notes_still_follow(app_url, rt, slack) -> None:
    slack.fail("chat.postMessage", error="msg_too_long", times=2)
    complaint(app_url, text="Still waiting")
    complaint(app_url, 2, text="Hello?")
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    assert parent.blocks is None and parent.text.startswith(":warning: Slack refused this message as built")
    assert "Still waiting" in parent.text
    [note] = slack.thread(CHANNEL, parent.ts)
    assert "Hello?" in note.text
    assert_within_limits(slack)


def test_refused_even_as_text_the_item_is_given_up(app_url, rt, slack) -> None:
    slack.fail("chat.postMessage", error="invalid_arguments", times=3)
    complaint(app_url)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []
    with rt.sessions() as s:
        [item] = s.scalars(select(OutboxItem)).all()
        assert item.state == outbox.FAILED and "invalid_arguments" in (item.last_error or "")


HOSTILE = "<!channel> <!here> <@U0BOSS> <#C0ALL> <!subteam^S0ALL> <https://evil.example|click here> *now* & `x`"


def test_a_hostile_customer_pings_nobody_anywhere(app_url, rt, slack) -> None:
    """Finding 4: the notification `text` carried the raw control sequences; now nothing of theirs is live."""
    author = {"id": "66", "handle": "<!here>_x_", "name": "<!channel> *Eve* <@U0BOSS>"}
    complaint(app_url, author=author, text=HOSTILE)
    complaint(app_url, 2, author=author, text=HOSTILE + "\nagain")
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    assert re.search(r"&lt;!channel&gt; ∗Eve∗ &lt;@U0BOSS&gt;", parent.text)
    assert "∗now∗ &amp; ˋxˋ" in parent.blocks[1]["text"]["text"]
    assert_within_limits(slack)


def test_the_reply_modal_and_the_home_tab_fit_a_hostile_long_post(app_url, rt, slack, listeners) -> None:
    from tests.support.desk import Desk
    from tests.support.slack_requests import post_event

    author = {"id": "66", "handle": "&" * 128, "name": "<!channel> " + "&" * 245}
    case_id = complaint(app_url, author=author, text=(HOSTILE + "\n") * 300)
    desk = Desk(app_url, rt, slack, listeners)
    desk.settle()
    desk.click("case_reply", case_id)
    views = [desk.last_view()]
    answer = post_event(app_url, {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "event_ts": "1.0"})
    assert answer.status_code == 200, answer.text
    listeners.wait_idle()
    home = slack.home_view("U0ALICE")
    assert home is not None
    views.append(home)
    for view in views:
        assert not view_problems(view), view_problems(view)
        for rendered in texts(view["blocks"]):
            assert not live_sequences(rendered, STAFF), live_sequences(rendered, STAFF)
    assert any("The full post is in the case thread." in t for t in texts(views[0]["blocks"]))
