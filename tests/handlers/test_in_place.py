"""A click shows on its case message at once, through the click's response_url (bot/outbox/echo.py): the refresh
is sent that way once, in the case's order, and a worker sends it by chat.update only when Slack did not take it.
Driven over HTTP as Slack sends clicks (with the response_url of the message clicked), read from the fake Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import OutboxItem
from bot.services import cases, outbox
from tests.support.desk import Desk
from tests.support.env import CHANNEL
from tests.support.slack_requests import block_action, post_interaction


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def click_on(desk: Desk, action: str, case_id: int, ts: str, response_url: str, user: str = "U0ALICE") -> None:
    """A click on a button of message `ts`, as Slack sends it: that message's ts and its response_url."""
    payload: dict[str, Any] = {
        **block_action(action, str(case_id), user=user, message_ts=ts),
        "response_url": response_url,
    }
    assert post_interaction(desk.url, payload).status_code == 200
    desk.listeners.wait_idle()  # the listener's work is done; no outbox worker has run


def refreshes(desk: Desk, case_id: int) -> list[tuple[str, dict[str, Any]]]:
    with desk.rt.read() as s:
        rows = s.execute(
            select(OutboxItem.state, OutboxItem.result).where(
                OutboxItem.case_id == case_id, OutboxItem.kind == "update_parent"
            )
        ).all()
    return [(state, dict(result or {})) for state, result in rows]


def test_a_claim_shows_on_its_message_through_the_response_url_before_any_worker_runs(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    parent = desk.parent
    url = slack.action_response_url(CHANNEL, parent.ts)
    click_on(desk, "case_claim", case_id, parent.ts, url)
    assert "<@U0ALICE>" in desk.parent_text()  # shown in place at once
    [answer] = [r for r in slack.responses if r["url"].startswith("/actions/")]
    assert answer["replace_original"] is True and answer["text"] == desk.parent.text
    assert refreshes(desk, case_id) == [("done", {"ts": parent.ts, "via": "response_url"})]
    desk.settle()  # the workers: the thread note, and no second update of the message
    assert slack.calls_to("chat.update") == []
    assert any("claimed" in text for text in desk.thread_texts())
    assert desk.parent.edits == 1


def test_when_slack_does_not_take_the_response_url_a_worker_sends_the_update_at_once(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    parent = desk.parent
    dead = slack.action_response_url(CHANNEL, "9999.0001")  # Slack answers 404: no such message
    click_on(desk, "case_claim", case_id, parent.ts, dead)
    assert "<@U0ALICE>" not in desk.parent_text()
    [(state, _)] = refreshes(desk, case_id)
    assert state == "pending"
    desk.settle()  # due now, not after the grace the response_url had
    [update] = slack.calls_to("chat.update")
    assert update.params["ts"] == parent.ts and "<@U0ALICE>" in desk.parent_text()
    assert refreshes(desk, case_id) == [("done", {"ts": parent.ts})]


def test_a_click_on_another_message_is_not_answered_in_place(desk: Desk, slack) -> None:
    """The case's buttons also sit on a spike alert's examples: that message must not become the case's."""
    case_id = desk.new_case()
    parent_ts = desk.parent.ts
    elsewhere = slack.seed_message(CHANNEL, "a spike alert with this case among its examples")
    url = slack.action_response_url(CHANNEL, elsewhere.ts)
    click_on(desk, "case_claim", case_id, elsewhere.ts, url)
    assert not [r for r in slack.responses if r["url"].startswith("/actions/")]
    assert [m.text for m in slack.history(CHANNEL) if m.ts == elsewhere.ts] == [elsewhere.text]
    desk.settle()
    assert [c.params["ts"] for c in slack.calls_to("chat.update")] == [parent_ts]
    [parent] = [m for m in slack.history(CHANNEL) if m.ts == parent_ts]
    assert "<@U0ALICE>" in json.dumps(parent.blocks)


def test_a_double_click_is_shown_once(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    parent = desk.parent
    for _ in range(2):
        click_on(desk, "case_claim", case_id, parent.ts, slack.action_response_url(CHANNEL, parent.ts))
    desk.settle()
    assert len([r for r in slack.responses if r["url"].startswith("/actions/")]) == 1
    assert slack.calls_to("chat.update") == [] and desk.parent.edits == 1
    assert json.dumps(desk.parent.blocks).count("<@U0ALICE>") >= 1


def test_if_the_listener_dies_before_showing_it_a_worker_sends_the_update_after_the_grace(
    desk: Desk, slack, clock
) -> None:
    """The refresh waits a few seconds for the listener's response_url; a process that died in between leaves
    it to any worker, which sends it by chat.update once the grace is over."""
    case_id = desk.new_case()
    parent = desk.parent
    with desk.rt.unit() as s:  # the click's unit of work, committed; then the process dies before the echo
        assert outbox.answer_in_place(s, case_id=case_id, channel=CHANNEL, ts=parent.ts)
        cases.claim(s, case_id=case_id, user_id="U0ALICE", now=clock.now())
    desk.settle()
    assert slack.calls_to("chat.update") == []  # still within the grace
    clock.advance(outbox.ECHO_GRACE.total_seconds())
    desk.settle()
    [update] = slack.calls_to("chat.update")
    assert update.params["ts"] == parent.ts and "<@U0ALICE>" in desk.parent_text()


def test_a_returning_customers_case_shown_in_place_still_names_their_earlier_case(desk: Desk, slack) -> None:
    """The message a click shows at once is the one a worker would send: the returning-customer line stays."""
    first = desk.new_case(id="post-1")
    with desk.rt.unit() as session:
        cases.resolve(session, case_id=first, user_id="U0ALICE", outcome="walked_away", comment=None, now=desk.rt.now())
    desk.settle()
    case_id = desk.new_case(id="post-2", text="Again! Another bag lost")
    parent = slack.channel(CHANNEL)[-1]
    assert "Returning customer" in json.dumps(parent.blocks)
    click_on(desk, "case_claim", case_id, parent.ts, slack.action_response_url(CHANNEL, parent.ts))
    shown = json.dumps(slack.channel(CHANNEL)[-1].blocks)
    assert "<@U0ALICE>" in shown and "*Returning customer:* 1 earlier case" in shown
    assert refreshes(desk, case_id) == [("done", {"ts": parent.ts, "via": "response_url"})]
