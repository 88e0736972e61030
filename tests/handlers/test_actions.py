"""Every button's whole flow, driven over HTTP as Slack drives it, read back from the fake Slack."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.errors import UserError
from bot.models import CaseEvent
from handlers.errors import report
from tests.handlers.composer import move_to_dm
from tests.support.desk import Desk
from tests.support.env import CHANNEL
from tests.support.slack_requests import (
    block_action,
    post_interaction,
    radio_value,
    text_value,
)

BUTTONS = ["Claim", "Reply", "Move to DM", "Escalate", "Ignore", "Resolve", "Follow up"]


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def test_complaint_appears_with_its_buttons_and_its_facts(desk: Desk) -> None:
    desk.new_case()
    assert desk.button_labels() == BUTTONS
    text = desk.parent_text()
    for fact in (
        "X",
        "Jane Doe",
        "@jane_doe",
        "refund is three weeks late",
        "https://x.com/jane_doe/status/",
        "Priority",
        "needs a reply: ",  # why it has its priority, in words: the post's own words quoted
        "'refund'",
        "tone negative",
        "Status:* Open",
        "unclaimed",
    ):
        assert fact in text


def test_claim_sets_owner_updates_message_and_notes_thread(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_claim", case_id)
    assert "<@U0ALICE>" in desk.parent_text() and "unclaimed" not in desk.parent_text()
    assert desk.parent.edits >= 1
    assert desk.thread_texts() == [":raising_hand: <@U0ALICE> claimed this case."]


def test_claiming_someone_elses_case_offers_a_take_over_when_no_managers_are_set(desk: Desk, slack) -> None:
    """With CARE_MANAGERS unset the team holds the managers' rights; with managers set, only they take over
    (tests/handlers/test_access.py)."""
    case_id = desk.new_case()
    desk.click("case_claim", case_id, user="U0ALICE")
    desk.click("case_claim", case_id, user="U0BOB")
    assert desk.case(case_id).owner_id == "U0ALICE"
    [opened] = slack.state.views
    assert opened["view"]["callback_id"] == "take_over_modal" and "<@U0ALICE>" in json.dumps(opened["view"])


def test_reply_modal_states_limit_marks_drafting_and_sends_exact_text(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id, user="U0BOB")
    view = desk.last_view()
    assert view["callback_id"] == "reply_modal"
    label = next(b for b in view["blocks"] if b.get("block_id") == "reply")["label"]["text"]
    assert "public up to 280 characters" in label
    assert "<@U0BOB> is drafting a reply" in desk.parent_text()

    reply = "Hi Jane, I'm so sorry about the wait. I've chased your refund and will update you today. – Bob"
    desk.submit(view, text_value("reply", "text", reply), user="U0BOB")
    assert [p.json for p in slack.replies] == [
        {"in_reply_to": "1790000000000000001", "platform": "twitter", "text": reply, "visibility": "public"}
    ]
    assert desk.thread_texts()[-1] == f":leftwards_arrow_with_hook: <@U0BOB> replied publicly to Jane:\n> {reply}"
    assert "drafting" not in desk.parent_text()
    case = desk.case(case_id)
    assert case.owner_id == "U0BOB" and case.first_response_at is not None and case.draft_text is None
    with desk.rt.sessions() as s:
        sent = s.scalars(select(CaseEvent).where(CaseEvent.kind == "replied")).one()
        assert sent.text_sent == reply and sent.actor == "U0BOB"


def test_reply_modal_rejects_empty_and_overlong_text_inline(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id)
    view = desk.last_view()
    answer = desk.submit(view, text_value("reply", "text", "   "))
    assert answer == {"response_action": "errors", "errors": {"reply": "Write a reply before sending."}}
    answer = desk.submit(view, text_value("reply", "text", "x" * 281))
    assert answer["response_action"] == "errors"
    assert "281 characters; the limit here is 280" in answer["errors"]["reply"]
    # X counts a link as 23 characters, so a long URL still fits (the coach asks once about the link on X)
    fits = "Hi Jane, " + "a" * 230 + " https://example.com/" + "p" * 100 + " – Alice"
    held = desk.submit(view, text_value("reply", "text", fits))
    assert held["response_action"] == "update" and "A link on X" in json.dumps(held["view"]["blocks"])
    assert desk.submit(held["view"], text_value("reply", "text", fits)) == {}
    assert slack.replies[-1].json["text"] == fits


def test_failed_reply_says_so_in_thread_and_keeps_the_draft(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    slack.fail_replies(400)
    desk.click("case_reply", case_id)
    reply = "Hi Jane, so sorry, I'm chasing it now and will update you today. – Alice"
    desk.submit(desk.last_view(), text_value("reply", "text", reply))
    note = desk.thread_texts()[-1]
    assert "was *not sent*" in note and "HTTP 400" in note and "draft is kept" in note and reply in note
    assert slack.replies == []
    assert desk.case(case_id).draft_text == reply
    desk.click("case_reply", case_id)  # the next Reply starts from what was typed
    element = next(b for b in desk.last_view()["blocks"] if b.get("block_id") == "reply")["element"]
    assert element["initial_value"] == reply


def test_reply_retries_a_platform_outage_before_giving_up(desk: Desk, slack, clock) -> None:
    case_id = desk.new_case()
    slack.fail_replies(503)
    desk.click("case_reply", case_id)
    desk.submit(desk.last_view(), text_value("reply", "text", "Hi Jane, on it. – Alice"))
    assert slack.replies == []  # first try failed; a retry is due in a second
    clock.advance(2)
    desk.settle()
    assert [p.json["text"] for p in slack.replies] == ["Hi Jane, on it. – Alice"]
    assert slack.replies[0].headers["x-care-delivery"].startswith("care-")
    assert "replied publicly" in desk.thread_texts()[-1]


def test_closing_the_reply_modal_keeps_what_was_typed(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id)
    desk.submit(desk.last_view(), text_value("reply", "text", "Half-written answer"), kind="view_closed")
    assert desk.case(case_id).draft_text == "Half-written answer"
    assert "drafting" not in desk.parent_text()


def test_second_person_opening_reply_is_warned(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id, user="U0ALICE")
    desk.click("case_reply", case_id, user="U0BOB")
    assert "<@U0ALICE> is drafting a reply to this customer right now" in json.dumps(desk.last_view())


def test_move_to_dm_sends_public_and_private_messages_with_first_names(desk: Desk, slack) -> None:
    """Confirmed as proposed (tests/handlers/test_reply_composer.py has the preview, edits and the coach)."""
    case_id = desk.new_case()
    assert move_to_dm(desk, case_id, user="U0BOB") == {}
    sent = [p.json for p in slack.replies]
    assert [m["visibility"] for m in sent] == ["public", "private"]
    assert sent[0]["text"].startswith("Hi Jane, I'm Bob from the care team.")
    assert "I've sent you a DM, and you'll hear back from me within the hour." in sent[0]["text"]
    assert sent[1]["text"].startswith("Hi Jane, it's Bob")
    assert "booking reference" in sent[1]["text"] and "tell me a little more" not in sent[1]["text"]
    assert all(m["in_reply_to"] == "1790000000000000001" for m in sent)
    notes = desk.thread_texts()
    assert notes[-2].startswith(":lock: <@U0BOB> moved the conversation offline. Sent publicly:\n> Hi Jane")
    assert notes[-1].startswith(":envelope: <@U0BOB> sent Jane a private message:")
    assert "moved to DM" in desk.parent_text()


def test_escalate_marks_urgent_and_mentions_escalation_targets(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_escalate", case_id)
    assert desk.case(case_id).priority == "urgent"
    assert "Urgent" in desk.parent_text()
    assert desk.thread_texts()[-1] == (
        ":rotating_light: <@U0ALICE> escalated this case (now urgent): <@U0LEAD> <!subteam^S0MANAGERS>"
    )


def test_ignore_asks_for_a_reason_and_sends_nothing(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_ignore", case_id)
    view = desk.last_view()
    assert view["callback_id"] == "ignore_modal"
    assert desk.submit(view, radio_value(None))["response_action"] == "errors"
    assert desk.case(case_id).status == "open"
    desk.submit(view, radio_value("troll"))
    assert desk.case(case_id).status == "ignored"
    assert "ignored this case: *Troll*" in desk.thread_texts()[-1]
    assert slack.replies == []
    assert desk.button_labels() == ["Reopen"]


def test_resolve_asks_for_outcome_and_reopen_brings_buttons_back(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_resolve", case_id)
    view = desk.last_view()
    assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == ["resolved", "moved_offline", "walked_away"]
    desk.submit(view, radio_value("walked_away"))
    assert desk.case(case_id).status == "resolved" and desk.case(case_id).outcome == "walked_away"
    assert desk.button_labels() == ["Reopen"]
    assert "Customer walked away" in desk.thread_texts()[-1]
    desk.click("case_reopen", case_id, user="U0BOB")
    assert desk.case(case_id).status == "open"
    assert desk.button_labels() == BUTTONS
    assert desk.thread_texts()[-1] == ":arrows_counterclockwise: <@U0BOB> reopened this case."


def test_actions_on_a_closed_case_explain_instead_of_failing(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_resolve", case_id)
    desk.submit(desk.last_view(), radio_value("resolved"))
    desk.click("case_claim", case_id)
    assert "reopen it first" in slack.state.ephemeral[-1]["text"]


def test_staff_chatter_in_the_thread_never_reaches_the_customer(desk: Desk, slack, app_url) -> None:
    import time

    import httpx

    from tests.support.slack_requests import signed_headers

    desk.new_case()
    event = {
        "token": "x",
        "team_id": "T0STANDIN",
        "api_app_id": "A0CARE",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "user": "U0ALICE",
            "text": "Anyone know this customer?",
            "channel": CHANNEL,
            "ts": "1795000999.000100",
            "thread_ts": desk.parent.ts,
        },
    }
    body = json.dumps(event)
    response = httpx.post(
        f"{app_url}/slack/events", content=body, headers=signed_headers(body, content_type="application/json")
    )
    assert response.status_code == 200
    desk.settle()
    assert slack.replies == []


def test_unsigned_or_stale_slack_requests_are_rejected(desk: Desk, app_url) -> None:
    import time

    case_id = desk.new_case()
    response = post_interaction(app_url, block_action("case_claim", str(case_id)), secret="wrong")
    assert response.status_code == 401
    response = post_interaction(app_url, block_action("case_claim", str(case_id)), timestamp=int(time.time()) - 600)
    assert response.status_code == 401
    desk.settle()
    assert desk.case(case_id).owner_id is None


def test_modal_that_fails_to_open_clears_drafting_and_tells_the_user(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    slack.fail("views.open", error="expired_trigger_id")
    desk.click("case_reply", case_id)
    assert "drafting" not in desk.parent_text()
    assert slack.state.ephemeral[-1]["text"].startswith("Sorry, that didn't work")


def test_a_url_that_could_forge_slack_markup_is_not_linked() -> None:
    from bot.blocks.mrkdwn import link

    assert link("https://x.com/a/1", "View post") == " · <https://x.com/a/1|View post>"
    assert link("https://evil.example/|<!channel>", "View post") == ""
    assert link("javascript:alert(1)", "View post") == ""


@pytest.mark.parametrize("metadata", ["nonsense", "[]", '{"case_id": null}', '{"case_id": "x"}', '{"other": 1}'])
def test_a_modal_whose_metadata_names_no_case_is_answered_inline_and_changes_nothing(
    desk: Desk, slack, metadata: str, caplog
) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id, user="U0BOB")
    view = {**desk.last_view(), "private_metadata": metadata}
    answer = desk.submit(view, text_value("reply", "text", "Hi Jane, sorry about the wait. – Bob"), user="U0BOB")
    assert answer["response_action"] == "errors"
    assert list(answer["errors"].values()) == [
        "This form no longer matches a case. Please open it again from the case message."
    ]
    assert slack.replies == [] and "Traceback" not in caplog.text


def test_the_error_path_survives_an_odd_body_and_answers_no_one_it_cannot_name(rt, slack) -> None:
    report(rt, {"user": "U0VICTIM", "channel": ["C0ELSEWHERE"], "container": "x"}, UserError("nope"))
    assert slack.calls_to("chat.postEphemeral") == []
    report(rt, {"user": {"id": "U0BOB"}, "channel": "C0ELSEWHERE", "user_id": 5}, UserError("nope"))
    [told] = slack.calls_to("chat.postEphemeral")
    assert told.params["user"] == "U0BOB" and told.params["channel"] == "C0CARE"
