"""Each staff action happens once: a submission, click or event Slack delivers again is acknowledged and
does nothing more, whether it is a double submit, Slack's retry or the same click arriving four times."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import db
from bot.models import CaseEvent, HandledDelivery
from bot.services import once
from tests.support.desk import Desk
from tests.support.slack_requests import (
    block_action,
    post_event,
    post_interaction,
    radio_value,
    text_value,
    view_payload,
)

REPLY = "Hi Jane, I'm so sorry about the wait. I've chased your refund and will update you today. – Alice"


@pytest.fixture
def env(slack, database_url):
    from tests.support.env import make_env

    return make_env(slack, database_url, CARE_MANAGERS="U0BOB")


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def deliver(desk: Desk, payload: dict, times: int, *, retry: bool = False, together: bool = False) -> list[dict]:
    """Send the same payload `times` times (the later ones as Slack's retries, or all at once); Slack's answers."""

    def send(n: int) -> dict:
        answer = post_interaction(desk.url, payload, retry=n if retry and n else None)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.content else {}

    if together:
        with ThreadPoolExecutor(max_workers=times) as pool:
            answers = list(pool.map(send, range(times)))
    else:
        answers = [send(n) for n in range(times)]
    desk.settle()
    return answers


def events(desk: Desk, kind: str) -> int:
    with desk.rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == kind)) or 0)


def reply_submission(desk: Desk, case_id: int, text: str = REPLY) -> dict:
    desk.click("case_reply", case_id)
    return view_payload("view_submission", desk.last_view(), text_value("reply", "text", text), view_id="V0REPLY1")


@pytest.mark.parametrize("retry", [False, True], ids=["double-submit", "slack-retry"])
def test_a_reply_submitted_twice_reaches_the_customer_once(desk: Desk, slack, retry: bool) -> None:
    case_id = desk.new_case()
    answers = deliver(desk, reply_submission(desk, case_id), 2, retry=retry)
    assert answers == [{}, {}]  # both close the modal
    assert [p.json["text"] for p in slack.replies] == [REPLY]
    replied = [t for t in desk.thread_texts() if "replied publicly" in t]
    assert replied == [f":leftwards_arrow_with_hook: <@U0ALICE> replied publicly to Jane:\n> {REPLY}"]
    assert events(desk, "replied") == 1


def test_a_reply_refused_inline_is_refused_again_and_the_corrected_one_is_sent(desk: Desk, slack) -> None:
    """After an inline error Slack keeps the view's id and hash: the same submit must show the error again
    (not close the modal silently), and the corrected submit must act."""
    case_id = desk.new_case()
    desk.click("case_reply", case_id)
    view = desk.last_view()
    too_long = view_payload("view_submission", view, text_value("reply", "text", "x" * 281), view_id="V0REPLY2")
    for answer in deliver(desk, too_long, 2):
        assert answer["response_action"] == "errors" and "the limit here is 280" in answer["errors"]["reply"]
    fixed = view_payload("view_submission", view, text_value("reply", "text", REPLY), view_id="V0REPLY2")
    assert deliver(desk, fixed, 2) == [{}, {}]
    assert [p.json["text"] for p in slack.replies] == [REPLY]


def test_a_coached_reply_is_held_however_often_it_arrives_and_sent_anyway_once(desk: Desk, slack) -> None:
    """The coach's "Send anyway" round trip under repeats: nothing goes out while the draft is held, and its
    confirmation, delivered twice, sends once."""
    case_id = desk.new_case()
    vague = "Hi Jane, we'll look into it. – Alice"
    held = deliver(desk, reply_submission(desk, case_id, vague), 2)
    assert [a["response_action"] for a in held] == ["update", "update"] and slack.replies == []
    confirm = view_payload("view_submission", held[0]["view"], text_value("reply", "text", vague), view_id="V0REPLY1")
    assert deliver(desk, confirm, 2) == [{}, {}]
    assert [p.json["text"] for p in slack.replies] == [vague]
    assert events(desk, "replied") == 1


def test_one_escalate_click_delivered_four_times_posts_one_note_and_one_ping(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    before = len(slack.calls_to("chat.postMessage"))
    deliver(desk, block_action("case_escalate", str(case_id)), 4, together=True)
    escalations = [t for t in desk.thread_texts() if "escalated this case" in t]
    assert escalations == [
        ":rotating_light: <@U0ALICE> escalated this case (now urgent): <@U0LEAD> <!subteam^S0MANAGERS>"
    ]
    assert len(slack.calls_to("chat.postMessage")) == before + 1  # the note is the only new message
    assert events(desk, "escalated") == 1


def test_two_clicks_are_two_actions(desk: Desk, clock) -> None:
    """A second click is a new action (its own action_ts): the key is the delivery, not the button."""
    case_id = desk.new_case()
    desk.click("case_escalate", case_id)
    clock.advance(16 * 60)  # past cases.ESCALATE_AGAIN_AFTER
    desk.click("case_escalate", case_id)
    assert events(desk, "escalated") == 2


def test_a_second_escalate_within_minutes_pings_nobody_and_says_so(desk: Desk, slack, clock) -> None:
    """A double click reaches us as two clicks (two action_ts): the escalation group is pinged once."""
    case_id = desk.new_case()
    desk.click("case_escalate", case_id)
    clock.advance(5 * 60)
    desk.click("case_escalate", case_id, user="U0BOB")
    assert events(desk, "escalated") == 1
    assert [t for t in desk.thread_texts() if "escalated this case" in t] == [
        ":rotating_light: <@U0ALICE> escalated this case (now urgent): <@U0LEAD> <!subteam^S0MANAGERS>"
    ]
    told = slack.state.ephemeral[-1]
    assert told["user"] == "U0BOB" and told["text"] == (
        "This case was escalated 5 min ago, so nobody was pinged again. "
        "Escalate again after 15 minutes if nobody has picked it up."
    )


@pytest.mark.parametrize(
    ("button", "values", "kind", "user"),
    [
        ("case_ignore", radio_value("troll"), "ignored", "U0ALICE"),
        ("case_resolve", radio_value("resolved"), "resolved", "U0ALICE"),
        ("case_follow_up", {"follow_up": {"choice": {"type": "static_select", "selected_option": {"value": "1h"}}}},
         "follow_up_set", "U0ALICE"),
        ("case_reassign", {"assignee": {"user": {"type": "users_select", "selected_user": "U0ALICE"}}},
         "reassigned", "U0BOB"),
    ],
)  # fmt: skip
def test_a_modal_submitted_four_times_acts_once(desk: Desk, button, values, kind, user) -> None:
    case_id = desk.new_case()
    desk.click(button, case_id, user=user)
    payload = view_payload("view_submission", desk.last_view(), values, user=user, view_id="V0MODAL1")
    answers = deliver(desk, payload, 4, retry=True)
    assert answers == [{}] * 4  # each copy closes the modal: no "already closed" shown for the repeats
    assert events(desk, kind) == 1
    assert len(desk.thread_texts()) == 1


def test_reopen_and_snooze_delivered_twice_act_once(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_resolve", case_id)
    desk.submit(desk.last_view(), radio_value("resolved"))
    deliver(desk, block_action("case_reopen", str(case_id)), 2, together=True)
    assert events(desk, "reopened") == 1
    deliver(desk, block_action("case_snooze", str(case_id)), 2, together=True)
    assert events(desk, "snoozed") == 1
    assert len(desk.thread_texts()) == 3  # resolved, reopened, snoozed


def test_an_event_delivered_again_with_the_same_event_id_is_handled_once(desk: Desk, slack) -> None:
    for _ in range(3):
        answer = post_event(desk.url, {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}, event_id="Ev0SAME")
        assert answer.status_code == 200
    desk.settle()
    assert len(slack.calls_to("views.publish")) == 1


def test_the_key_holds_across_replicas_and_old_keys_are_pruned(database_url: str, rt, clock) -> None:
    """Two processes on one database: the second claim of a key loses, whichever process makes it."""
    other = db.make_engine(database_url)
    try:
        key = once.key_of("view_submission", "U0ALICE", "V1", "h", {})
        with db.session_scope(rt.sessions) as first:
            assert once.claim(first, key=key, kind="view_submission", now=clock.now()) is True
        with db.session_scope(db.make_session_factory(other)) as second:
            assert once.claim(second, key=key, kind="view_submission", now=clock.now()) is False
        with db.session_scope(rt.sessions) as s:
            assert once.prune(s, before=clock.now()) == 0
            assert once.prune(s, before=clock.now() + timedelta(seconds=1)) == 1
        with rt.sessions() as s:
            assert s.scalars(select(HandledDelivery)).all() == []
    finally:
        other.dispose()
