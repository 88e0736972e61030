"""Follow-through: the reminder after moving to DM, the public closing reply, and follow-up promises."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.services import followups
from tests.handlers.composer import move_to_dm
from tests.support.desk import ReminderDesk
from tests.support.env import make_env
from tests.support.slack_requests import block_action, post_interaction, radio_value, text_value

CLOSING = (
    "Hi Jane, thanks for sorting this out with us by direct message. "
    "If anything else comes up, we're here. Bob from the care team"
)


@pytest.fixture
def env(slack, database_url) -> dict[str, str]:
    # the resolution clock is kept out of the way so only what is tested here speaks
    return make_env(slack, database_url, CARE_SLA_OFFLINE="4h", CARE_SLA_RESOLUTION="7d")


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> ReminderDesk:
    return ReminderDesk(app_url, rt, slack, listeners)


def input_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def resolve_values(outcome: str, *, closing: str | None = None, confirm: bool = False) -> dict[str, Any]:
    values = radio_value(outcome)
    values["closing"] = {"text": {"type": "plain_text_input", "value": closing}}
    selected = [{"value": "post", "text": {"type": "plain_text", "text": "post"}}] if confirm else []
    values["closing_confirm"] = {"confirm": {"type": "checkboxes", "selected_options": selected}}
    return values


def follow_up_values(choice: str | None, custom: str | None = None) -> dict[str, Any]:
    selected = {"value": choice, "text": {"type": "plain_text", "text": choice}} if choice else None
    return {
        "follow_up": {"choice": {"type": "static_select", "selected_option": selected}},
        "follow_up_custom": {"duration": {"type": "plain_text_input", "value": custom}},
    }


def pick(desk: ReminderDesk, value: str, user: str = "U0BOB") -> None:
    """Choose from the follow-up menu under the move-to-DM note, as Slack sends a static_select."""
    payload = block_action("case_follow_up_pick", "", user=user)
    payload["actions"] = [
        {
            "action_id": "case_follow_up_pick",
            "block_id": "follow_up_pick_1",
            "type": "static_select",
            "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
            "action_ts": f"{time.time():.6f}",
        }
    ]
    assert post_interaction(desk.url, payload).status_code == 200
    desk.settle()


# -- moved to DM, still open ------------------------------------------------------------------------
def test_a_case_moved_to_dm_and_left_open_gets_one_reminder(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    desk.at(239, start)
    assert desk.reminder_texts() == []
    desk.at(240, start)
    expected = (
        ":lock: <@U0BOB> *Follow through:* this case moved to DM 4 h ago and is still open. "
        "Finish with Jane privately, then *Resolve* it (you can post a public closing reply)."
    )
    assert desk.reminder_texts() == [expected]
    desk.at(24 * 60, start, sweeps=3)
    assert desk.reminder_texts() == [expected]


def test_resolving_in_time_means_no_offline_reminder(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    desk.at(60, start)
    desk.click("case_resolve", case_id, user="U0BOB")
    desk.submit(desk.last_view(), resolve_values("resolved"), user="U0BOB")
    desk.at(24 * 60, start)
    assert desk.reminder_texts() == []


# -- the public closing reply -----------------------------------------------------------------------
def test_resolve_after_moving_to_dm_offers_a_prefilled_closing_reply(desk: ReminderDesk, slack) -> None:
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    desk.click("case_resolve", case_id, user="U0BOB")
    view = desk.last_view()
    inputs = input_blocks(view)
    assert inputs["closing"]["element"]["initial_value"] == CLOSING
    assert "up to 280 characters" in inputs["closing"]["label"]["text"]
    assert inputs["closing_confirm"]["element"]["options"][0]["text"]["text"] == "Yes, post this reply publicly on X"

    assert desk.submit(view, resolve_values("moved_offline", closing=CLOSING, confirm=True), user="U0BOB") == {}
    assert desk.case(case_id).status == "resolved"
    public = slack.replies[-1].json
    assert public == {
        "in_reply_to": "1790000000000000001",
        "platform": "twitter",
        "text": CLOSING,
        "visibility": "public",
    }
    assert desk.thread_texts()[-1] == f":speech_balloon: <@U0BOB> posted a public closing reply to Jane:\n> {CLOSING}"


def test_the_closing_reply_is_sent_only_when_ticked(desk: ReminderDesk, slack) -> None:
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    before = len(slack.replies)
    desk.click("case_resolve", case_id, user="U0BOB")
    desk.submit(desk.last_view(), resolve_values("resolved", closing=CLOSING, confirm=False), user="U0BOB")
    assert desk.case(case_id).status == "resolved"
    assert len(slack.replies) == before  # nothing reached the customer
    assert "resolved this case" in desk.thread_texts()[-1]


def test_a_closing_reply_that_does_not_fit_is_refused_in_the_modal(desk: ReminderDesk, slack) -> None:
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    desk.click("case_resolve", case_id, user="U0BOB")
    answer = desk.submit(desk.last_view(), resolve_values("resolved", closing="x" * 300, confirm=True), user="U0BOB")
    assert answer["response_action"] == "errors" and "the limit here is 280" in answer["errors"]["closing"]
    answer = desk.submit(desk.last_view(), resolve_values("resolved", closing="  ", confirm=True), user="U0BOB")
    assert answer["errors"] == {"closing": "Write a reply before sending."}
    assert desk.case(case_id).status == "open"


def test_no_closing_reply_is_offered_for_a_case_answered_in_public(desk: ReminderDesk) -> None:
    case_id = desk.new_case()
    desk.click("case_resolve", case_id)
    assert set(input_blocks(desk.last_view())) == {"choice", "comment"}


def test_closing_template_setting(slack, database_url) -> None:
    env = make_env(slack, database_url, CARE_CLOSING_TEMPLATE="Glad it's sorted, {customer}! ({agent})")
    assert load_settings(env).closing_template == "Glad it's sorted, {customer}! ({agent})"
    with pytest.raises(
        ConfigError,
        match=r"CARE_CLOSING_TEMPLATE uses unknown placeholder \{contact\}: "
        r"only \{customer\} and \{agent\} are available",
    ):
        load_settings(make_env(slack, database_url, CARE_CLOSING_TEMPLATE="Write to us {contact}"))


# -- follow-up promises -----------------------------------------------------------------------------
def test_reply_with_a_follow_up_reminds_the_owner_in_the_thread_and_by_dm_once(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.click("case_reply", case_id, user="U0BOB")
    view = desk.last_view()
    assert input_blocks(view)["follow_up"]["optional"] is True
    values = {
        **text_value("reply", "text", "Hi Jane, I'll check with payments and come back to you within 4 hours. – Bob"),
        **follow_up_values("4h"),
    }
    assert desk.submit(view, values, user="U0BOB") == {}
    due = int((start + timedelta(hours=4)).timestamp())
    assert any(
        t.startswith(f":calendar: <@U0BOB> will follow up with Jane by <!date^{due}^") and t.endswith("(in 4 h).")
        for t in desk.thread_texts()
    )
    assert f"follow-up due <!date^{due}^" in desk.parent_text()

    desk.at(239, start)
    assert desk.reminder_texts() == [] and desk.dms("U0BOB") == []
    desk.at(240, start, sweeps=3)
    assert desk.reminder_texts() == [
        ":calendar: <@U0BOB> *Follow-up due:* <@U0BOB> promised to follow up with Jane now."
    ]
    link = f"https://standin.slack.com/archives/C0CARE/p{desk.parent.ts.replace('.', '')}"
    assert desk.dms("U0BOB") == [
        (
            ":calendar: Follow-up due on case #1 (:bird: X · Jane Doe): <@U0BOB> promised to "
            f"get back to Jane now. <{link}|Open the thread>"
        )
    ]
    assert "follow-up due" not in desk.parent_text()
    desk.at(600, start, sweeps=2)
    assert len(desk.reminders()) == 1 and len(desk.dms("U0BOB")) == 1


def test_a_bad_follow_up_is_refused_inline_and_nothing_is_sent(desk: ReminderDesk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_reply", case_id)
    view = desk.last_view()
    reply_text = text_value("reply", "text", "Hi Jane, on it. – Alice")
    answer = desk.submit(view, {**reply_text, **follow_up_values("custom", "soon")})
    assert answer == {
        "response_action": "errors",
        "errors": {"follow_up_custom": "Write a duration like 90s, 30m, 4h or 2d."},
    }
    answer = desk.submit(view, {**reply_text, **follow_up_values("4h", "90m")})
    assert answer["errors"] == {"follow_up_custom": "Choose “Custom…” to use your own duration, or empty this field."}
    assert slack.replies == []
    assert desk.submit(view, {**reply_text, **follow_up_values(None)}) == {}  # no follow-up is fine
    assert len(slack.replies) == 1 and desk.case(case_id).follow_up_at is None


def test_move_to_dm_has_a_one_click_follow_up_menu_under_its_note(desk: ReminderDesk, clock, slack) -> None:
    case_id = desk.new_case()
    move_to_dm(desk, case_id, user="U0BOB")
    note = next(m for m in slack.thread("C0CARE", desk.parent.ts) if m.text.startswith(":lock:"))
    menu = next(b for b in note.blocks if b["type"] == "actions")["elements"][0]
    assert menu["type"] == "static_select" and menu["placeholder"]["text"] == "Follow up in…"
    assert [o["text"]["text"] for o in menu["options"]] == [
        "In 1 hour",
        "In 4 hours",
        "Tomorrow at 09:00",
        "In 3 days",
        "Custom…",
    ]
    start = clock.now()  # (the stand-in's pacing moves the manual clock by a second per post)
    pick(desk, menu["options"][0]["value"])
    assert desk.case(case_id).follow_up_at == start + timedelta(hours=1)
    assert desk.thread_texts()[-1].startswith(":calendar: <@U0BOB> will follow up with Jane by")

    pick(desk, f"{case_id}:custom")  # Custom… opens the Follow up modal
    assert desk.last_view()["callback_id"] == "follow_up_modal"

    desk.at(60, start)
    assert desk.reminder_texts() == [
        ":calendar: <@U0BOB> *Follow-up due:* <@U0BOB> promised to follow up with Jane now."
    ]
    assert len(desk.dms("U0BOB")) == 1


def test_follow_up_button_sets_and_clears_a_promise(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.click("case_follow_up", case_id)
    view = desk.last_view()
    assert view["callback_id"] == "follow_up_modal" and "No follow-up is set" in json.dumps(view)
    answer = desk.submit(view, follow_up_values(None))
    assert answer["errors"] == {"follow_up": "Pick when to follow up."}
    assert desk.submit(view, follow_up_values("custom", "90m")) == {}
    assert desk.case(case_id).follow_up_at == start + timedelta(minutes=90)
    assert desk.case(case_id).follow_up_by == "U0ALICE"

    desk.click("case_follow_up", case_id, user="U0BOB")
    view = desk.last_view()
    assert "Clear the follow-up" in json.dumps(view) and "by <@U0ALICE>" in json.dumps(view)
    assert desk.submit(view, follow_up_values("clear"), user="U0BOB") == {}
    assert desk.thread_texts()[-1] == ":calendar: <@U0BOB> cleared the follow-up."
    assert desk.case(case_id).follow_up_at is None
    desk.at(120, start)
    assert [t for t in desk.reminder_texts() if "Follow-up" in t] == []


def test_a_follow_up_on_an_unowned_case_goes_to_the_escalation_targets(desk: ReminderDesk, clock, slack) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(50, start)  # the first-response nudge has been and gone
    desk.click("case_follow_up", case_id)
    desk.submit(desk.last_view(), follow_up_values("1h"))
    desk.at(110, start)
    assert desk.reminder_texts()[-1] == (
        ":calendar: <@U0LEAD> <!subteam^S0MANAGERS> *Follow-up due:* <@U0ALICE> promised to follow up with Jane now."
    )
    assert len(desk.dms("U0LEAD")) == 1  # a user group cannot be messaged directly; it is mentioned above
    assert [c.params["users"] for c in slack.calls_to("conversations.open")] == ["U0LEAD"]


def test_resolving_drops_the_promise(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.click("case_follow_up", case_id)
    desk.submit(desk.last_view(), follow_up_values("1h"))
    desk.click("case_resolve", case_id)
    desk.submit(desk.last_view(), radio_value("resolved"))
    desk.click("case_reopen", case_id)
    desk.at(120, start)
    assert [t for t in desk.reminder_texts() if "Follow-up" in t] == []


def test_follow_up_choices() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert followups.due_from_choice("1h", None, now=now, tz=berlin) == now + timedelta(hours=1)
    assert followups.due_from_choice("3d", "", now=now, tz=berlin) == now + timedelta(days=3)
    assert followups.due_from_choice("tomorrow", None, now=now, tz=berlin) == datetime(
        2026, 11, 24, 9, 0, tzinfo=berlin
    )
    assert followups.due_from_choice(None, " 2d ", now=now, tz=berlin) == now + timedelta(days=2)
    assert followups.due_from_choice(None, None, now=now, tz=berlin) is None
    with pytest.raises(followups.FollowUpInvalid) as bad:
        followups.due_from_choice("custom", "0m", now=now, tz=berlin)
    assert bad.value.field == "custom"
    with pytest.raises(followups.FollowUpInvalid):
        followups.due_from_choice("fortnight", None, now=now, tz=berlin)
