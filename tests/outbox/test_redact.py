"""An erasure's redaction reaches Slack: the message's words are replaced in place, once; a message already
gone from Slack needs nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import OutboxItem
from bot.services import erasure, outbox
from tests.blocks.slack_rules import texts
from tests.support.env import CHANNEL
from tests.support.webhooks import post_webhook, webhook_body


def redact(rt, clock, case_id: int, ts: str) -> None:
    with rt.sessions.begin() as s:
        payload = {"channel": CHANNEL, "ts": ts}
        outbox.enqueue(s, lane=outbox.SLACK, kind=erasure.REDACT, case_id=case_id, payload=payload, now=clock.now())
    rt.deliverer.drain()


def test_a_redaction_replaces_the_message_words_in_place(app_url, rt, slack, clock) -> None:
    response = post_webhook(app_url, webhook_body(text="My name is Jane and my order 123 is late"))
    case_id = int(response.json()["case_id"])
    post_webhook(app_url, webhook_body(id="17900000000000000002", text="Jane again: still late"))
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    [note] = slack.thread(CHANNEL, parent.ts)
    redact(rt, clock, case_id, note.ts)
    [note] = slack.thread(CHANNEL, parent.ts)
    assert note.text == erasure.REMOVED and texts(note.blocks) == [erasure.REMOVED] and note.edits == 1
    assert "Jane again" not in str(slack.state.messages[CHANNEL])  # nowhere else either


def test_a_message_already_gone_is_skipped_not_retried(app_url, rt, slack, clock) -> None:
    case_id = int(post_webhook(app_url, webhook_body()).json()["case_id"])
    rt.deliverer.drain()
    redact(rt, clock, case_id, "1795000999.000999")
    with rt.sessions() as s:
        item = s.scalars(select(OutboxItem).where(OutboxItem.kind == erasure.REDACT)).one()
        assert item.state == outbox.DONE and item.result["skipped"] == "message not found"
    assert len(slack.calls_to("chat.update")) == 1
