"""The reply composer over signed HTTP, as Slack drives it: the Reply modal's start and context, saved replies put in
with views.update, the reply coach's advice and "Send anyway", Move to DM previewed and confirmed, `/care replies`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import CaseEvent, OutboxItem
from bot.services import playbook
from tests.fakes import FIXTURES
from tests.handlers.composer import as_shown, inputs, menu_block, move_to_dm, pick_saved_reply, reply_block
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import make_env
from tests.support.slack_requests import post_command, text_value

ACKNOWLEDGE = "Thanks for telling us about this. I'm looking into it now and will get back to you here within the hour."
APOLOGISE = (
    "I'm really sorry about this: it isn't what we want for you. I'm finding out what happened and will update you "
    "within the hour."
)
GOOD = "Hi Jane, I'm so sorry about the wait. I've chased your refund and will update you here today. – Bob"


@pytest.fixture
def reply_url() -> bool:
    return True


@pytest.fixture
def playbook_file() -> Path:
    # the shipped playbook, named explicitly: what these tests check is its saved replies and its coach
    return playbook.DEFAULT_FILE


@pytest.fixture
def env(slack, database_url, reply_url: bool, playbook_file: Path):
    env = make_env(slack, database_url, CARE_PLAYBOOK_FILE=str(playbook_file))
    if not reply_url:
        del env["CARE_GENERIC_REPLY_URL"]
    return env


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def open_reply(desk: Desk, case_id: int, user: str = "U0BOB") -> dict[str, Any]:
    desk.click("case_reply", case_id, user=user)
    view = desk.last_view()
    assert view["callback_id"] == "reply_modal"
    return view


def reply_text(view: dict[str, Any]) -> str:
    return str(inputs(view)[reply_block(view)]["element"].get("initial_value"))


def submit_reply(desk: Desk, view: dict[str, Any], text: str, user: str = "U0BOB") -> dict[str, Any]:
    return desk.submit(view, text_value(reply_block(view), "text", text), user=user)


# -- a better start ------------------------------------------------------------------------------------------------
def test_the_reply_modal_starts_with_greeting_and_sign_off_below_the_post_and_the_last_note(desk: Desk) -> None:
    case_id = desk.new_case(text="@acme <!channel> my refund & my *bags* are lost")
    desk.click("case_claim", case_id, user="U0ALICE")
    view = open_reply(desk, case_id)
    assert reply_text(view) == "Hi Jane,\n\n– Bob"
    kinds = [b["type"] for b in view["blocks"]]
    assert kinds[:3] == ["actions", "section", "context"] and kinds.index("input") > 2  # menu, post, note, input
    post = view["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt; my refund &amp; my ∗bags∗ are lost" in post and "<!channel>" not in post
    assert view["blocks"][2]["elements"][0]["text"] == (
        "*Last in the thread:* :raising_hand: <@U0ALICE> claimed this case."
    )
    menu = menu_block(view)["elements"]
    assert [o["text"]["text"] for o in menu[0]["options"]] == [
        "Acknowledge",
        "Apologise",
        "Move offline",
        "Thank for praise",
        "Closing",
        "Follow-up",
    ]
    assert menu[1]["initial_options"][0]["value"] == "keep"  # keeping what was written is the default
    assert json.loads(view["private_metadata"])["agent"] == "Bob"


def test_closing_the_modal_untouched_keeps_no_draft_but_a_written_one_is_kept(desk: Desk) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    desk.submit(view, as_shown(view), user="U0BOB", kind="view_closed")
    assert desk.case(case_id).draft_text is None
    view = open_reply(desk, case_id)
    assert reply_text(view) == "Hi Jane,\n\n– Bob"
    desk.submit(view, as_shown(view, reply="Hi Jane,\nhalf written\n– Bob"), user="U0BOB", kind="view_closed")
    assert desk.case(case_id).draft_text == "Hi Jane,\nhalf written\n– Bob"
    assert reply_text(open_reply(desk, case_id)) == "Hi Jane,\nhalf written\n– Bob"  # a waiting draft comes first


# -- saved replies -------------------------------------------------------------------------------------------------
def updated_view(slack, n: int = -1) -> dict[str, Any]:
    call = slack.calls_to("views.update")[n]
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_choosing_a_saved_reply_fills_the_modal_with_views_update(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    pick_saved_reply(desk, view, "acknowledge", text="Hi Jane,\n\n– Bob", user="U0BOB", view_hash="1795000000.h1")
    [call] = slack.calls_to("views.update")
    assert call.params["view_id"] == "V0REPLY" and call.params["hash"] == "1795000000.h1"  # no race with another update
    filled = updated_view(slack)
    # nothing was written yet, so the saved reply goes between greeting and sign-off
    assert reply_text(filled) == f"Hi Jane,\n{ACKNOWLEDGE}\n– Bob"
    assert reply_block(filled) != "reply"  # a new block id, so Slack shows the new text
    assert filled["submit"]["text"] == "Send" and filled["callback_id"] == "reply_modal"

    # sent as filled: through the same submission, whatever the input's block id now is
    assert submit_reply(desk, filled, reply_text(filled)) == {}
    assert [p.json["text"] for p in slack.replies] == [f"Hi Jane,\n{ACKNOWLEDGE}\n– Bob"]


def test_a_saved_reply_keeps_what_was_written_when_asked_and_replaces_it_when_not(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    written = "Hi Jane,\nSo sorry about the wait!\n– Bob"
    pick_saved_reply(desk, view, "apologise", text=written, keep=True, user="U0BOB")
    kept = updated_view(slack)
    assert reply_text(kept) == f"Hi Jane,\nSo sorry about the wait!\n{APOLOGISE}\n– Bob"
    assert menu_block(kept)["elements"][1]["initial_options"][0]["value"] == "keep"

    pick_saved_reply(desk, view, "apologise", text=written, keep=False, user="U0BOB")
    replaced = updated_view(slack)
    assert reply_text(replaced) == f"Hi Jane,\n{APOLOGISE}\n– Bob"
    assert "initial_options" not in menu_block(replaced)["elements"][1]  # the box stays as the person left it

    # a saved reply put in and not touched since is not "what I've written": the next one replaces it
    first = updated_view(slack)
    pick_saved_reply(desk, first, "acknowledge", text=reply_text(first), keep=True, user="U0BOB")
    assert reply_text(updated_view(slack)) == f"Hi Jane,\n{ACKNOWLEDGE}\n– Bob"


def test_picking_a_saved_reply_clears_earlier_advice_and_send_anyway(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    held = submit_reply(desk, view, "Hi Jane, we'll look into it. – Bob")["view"]
    pick_saved_reply(desk, held, "acknowledge", text="Hi Jane, we'll look into it. – Bob", keep=False, user="U0BOB")
    filled = updated_view(slack)
    assert filled["submit"]["text"] == "Send" and "coach_advice" not in json.dumps(filled["blocks"])
    assert "fp" not in json.loads(filled["private_metadata"])


@pytest.mark.parametrize("playbook_file", [FIXTURES / "playbooks" / "vague.toml"])
def test_a_saved_reply_the_coach_has_advice_on_shows_it_as_it_is_picked(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    pick_saved_reply(desk, view, "vague", text="Hi Jane,\n\n– Bob", user="U0BOB")
    filled = updated_view(slack)
    assert reply_text(filled) == "Hi Jane,\nWe'll look into it.\n– Bob"
    advice = next(b for b in filled["blocks"] if b.get("block_id") == "coach_advice")["text"]["text"]
    assert "*A promise with no time*" in advice  # before anyone pressed Send
    assert filled["submit"]["text"] == "Send anyway"
    assert submit_reply(desk, filled, reply_text(filled)) == {}  # seen, and sent unchanged: it goes
    assert [p.json["text"] for p in slack.replies] == ["Hi Jane,\nWe'll look into it.\n– Bob"]


def test_a_saved_reply_the_coach_has_no_advice_on_stays_a_plain_send(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    pick_saved_reply(desk, open_reply(desk, case_id), "acknowledge", text="Hi Jane,\n\n– Bob", user="U0BOB")
    filled = updated_view(slack)
    assert filled["submit"]["text"] == "Send" and "coach_advice" not in json.dumps(filled["blocks"])


# -- the reply coach -----------------------------------------------------------------------------------------------
COACHED = [
    ("greeting", "Hello! I'm so sorry, I'll update you here today. – Bob", "No greeting by name"),
    ("sign_off", "Hi Jane, so sorry, I'll update you here today.", "Not signed"),
    ("excuses", "Hi Jane, as per our terms the fee applies. I'll update you today. – Bob", "Excuse or blame"),
    ("shouting", "Hi Jane, PLEASE DO NOT WORRY, I'll update you today. – Bob", "All caps"),
    ("link_on_x", "Hi Jane, see https://acme.example/refunds – I'll update you today. – Bob", "A link on X"),
    ("repeat_request", "Hi Jane, can you tell us what happened? I'll reply today. – Bob", "Asks them to repeat"),
    ("vague_promise", "Hi Jane, so sorry. We'll look into it. – Bob", "A promise with no time"),
]


@pytest.mark.parametrize(("rule", "draft", "title"), COACHED, ids=[c[0] for c in COACHED])
def test_each_coach_warning_shows_in_the_modal_with_send_anyway(
    desk: Desk, slack, rule: str, draft: str, title: str
) -> None:
    case_id = desk.new_case()
    view = open_reply(desk, case_id)
    answer = submit_reply(desk, view, draft)
    assert answer["response_action"] == "update"
    held = answer["view"]
    assert held["submit"]["text"] == "Send anyway" and held["callback_id"] == "reply_modal"
    advice = next(b for b in held["blocks"] if b.get("block_id") == "coach_advice")["text"]["text"]
    assert f"*{title}" in advice and "Send anyway" in advice
    assert held["blocks"].index(next(b for b in held["blocks"] if b.get("block_id") == "coach_advice")) == (
        held["blocks"].index(inputs(held)[reply_block(held)]) - 1
    )  # right above the text it is about
    assert reply_text(held) == draft  # what was typed stays in the modal
    seen = hashlib.sha256(b"public:" + draft.encode() + b"\x00").hexdigest()  # the draft, and that it goes publicly
    assert json.loads(held["private_metadata"])["fp"] == seen
    assert slack.replies == [] and desk.case(case_id).first_response_at is None  # nothing went out


def test_send_anyway_sends_exactly_the_draft_and_quotes_it_in_the_thread(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    draft = "Hi Jane, so sorry. We'll look into it. – Bob"
    held = submit_reply(desk, open_reply(desk, case_id), draft)["view"]
    assert submit_reply(desk, held, draft) == {}  # the unchanged draft, submitted again: sent
    assert [p.json for p in slack.replies] == [
        {"in_reply_to": "1790000000000000001", "platform": "twitter", "text": draft, "visibility": "public"}
    ]
    assert desk.thread_texts()[-1] == f":leftwards_arrow_with_hook: <@U0BOB> replied publicly to Jane:\n> {draft}"
    assert desk.case(case_id).draft_text is None


def test_send_anyway_keeps_the_private_choice_and_switching_it_is_checked_again(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    draft = "Hi Jane, so sorry. We'll look into it. – Bob"
    privately = {"send_as": {"visibility": {"type": "radio_buttons", "selected_option": {"value": "private"}}}}
    view = open_reply(desk, case_id)
    held = desk.submit(view, {**text_value(reply_block(view), "text", draft), **privately}, user="U0BOB")["view"]
    [choice] = [b for b in held["blocks"] if b.get("block_id") == "send_as"]
    assert choice["element"]["initial_option"]["value"] == "private"  # as they picked it, not as the modal began
    publicly = {"send_as": {"visibility": {"type": "radio_buttons", "selected_option": {"value": "public"}}}}
    switched = desk.submit(held, {**text_value(reply_block(held), "text", draft), **publicly}, user="U0BOB")
    assert switched["response_action"] == "update" and slack.replies == []  # another draft: checked again
    again = desk.submit(switched["view"], {**text_value(reply_block(held), "text", draft), **privately}, user="U0BOB")
    assert again["response_action"] == "update"  # the confirmed one was the public draft now
    assert desk.submit(again["view"], {**text_value(reply_block(held), "text", draft), **privately}, user="U0BOB") == {}
    assert [(p.json["text"], p.json["visibility"]) for p in slack.replies] == [(draft, "private")]
    assert desk.thread_texts()[-1] == f":lock: <@U0BOB> replied privately to Jane:\n> {draft}"


def test_an_edited_draft_is_checked_again(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    held = submit_reply(desk, open_reply(desk, case_id), "Hi Jane, so sorry. We'll look into it. – Bob")["view"]
    shouted = "Hi Jane, SO VERY SORRY. We'll look into it. – Bob"
    again = submit_reply(desk, held, shouted)
    assert again["response_action"] == "update"  # a different draft: advice again, on it
    advice = all_text(again["view"]["blocks"])
    assert "All caps" in advice and "A promise with no time" in advice
    fixed = "Hi Jane, so sorry. I'll look into it and update you by 5pm. – Bob"
    assert submit_reply(desk, again["view"], fixed) == {}  # an edit that breaks no rule sends at once
    assert [p.json["text"] for p in slack.replies] == [fixed]


def test_a_good_reply_sends_at_once(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    assert submit_reply(desk, open_reply(desk, case_id), GOOD) == {}
    assert [p.json["text"] for p in slack.replies] == [GOOD]
    assert desk.case(case_id).first_response_at is not None


def test_over_the_limit_is_an_error_on_the_input_even_after_send_anyway(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    held = submit_reply(desk, open_reply(desk, case_id), "Hi Jane, we'll look into it. – Bob")["view"]
    long = "Hi Jane, " + "so sorry " * 40 + "– Bob"
    answer = submit_reply(desk, held, long)
    assert answer["response_action"] == "errors"
    assert "the limit here is 280" in answer["errors"][reply_block(held)]
    assert slack.replies == []


# -- Move to DM, previewed -----------------------------------------------------------------------------------------
PUBLIC = (
    "Hi Jane, I'm Bob from the care team. I'm sorry about this, and I'd like to sort it out with you properly: "
    "I've sent you a DM, and you'll hear back from me within the hour."
)
PRIVATE = (
    "Hi Jane, it's Bob from the care team, about your post. I've read what you wrote, so there's no need to "
    "repeat it: could you send me your booking reference? I'll get back to you within the hour."
)


def test_move_to_dm_opens_a_preview_of_both_texts_and_sends_nothing_yet(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_move_to_dm", case_id, user="U0BOB")
    view = desk.last_view()
    assert view["callback_id"] == "move_to_dm_modal" and view["submit"]["text"] == "Send"
    fields = inputs(view)
    assert fields["dm_public"]["element"]["initial_value"] == PUBLIC
    assert fields["dm_private"]["element"]["initial_value"] == PRIVATE
    assert "up to 280 characters" in fields["dm_public"]["label"]["text"]
    assert "Two messages go to *Jane Doe*" in all_text(view["blocks"])
    assert slack.replies == [] and desk.case(case_id).moved_offline_at is None


def test_move_to_dm_sends_exactly_what_was_confirmed(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    public = "Hi Jane, Bob here. So sorry! I've sent you a DM; you'll hear from me within the hour."
    private = "Hi Jane, Bob again. Could you send me your booking reference? I'll reply within the hour."
    assert move_to_dm(desk, case_id, user="U0BOB", dm_public=public, dm_private=private) == {}
    sent = [p.json for p in slack.replies]
    assert [(m["visibility"], m["text"]) for m in sent] == [("public", public), ("private", private)]
    notes = desk.thread_texts()
    assert notes[-2] == f":lock: <@U0BOB> moved the conversation offline. Sent publicly:\n> {public}"
    assert notes[-1] == f":envelope: <@U0BOB> sent Jane a private message:\n> {private}"
    assert "moved to DM" in desk.parent_text()


def test_move_to_dm_is_coached_on_both_texts_with_send_anyway(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    private = "Hi Jane, can you tell us what happened? – Bob"
    desk.click("case_move_to_dm", case_id, user="U0BOB")
    view = desk.last_view()
    answer = desk.submit(view, as_shown(view, dm_private=private), user="U0BOB")
    assert answer["response_action"] == "update"
    held = answer["view"]
    assert held["submit"]["text"] == "Send anyway"
    advice = all_text(held["blocks"])
    assert "Private message · Asks them to repeat themselves" in advice and "Public reply ·" not in advice
    assert inputs(held)["dm_private"]["element"]["initial_value"] == private
    assert slack.replies == []
    assert desk.submit(held, as_shown(held), user="U0BOB") == {}  # unchanged: sent anyway
    assert [p.json["text"] for p in slack.replies] == [PUBLIC, private]


def test_a_public_move_to_dm_text_over_the_limit_is_an_error_on_its_field(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    answer = move_to_dm(desk, case_id, user="U0BOB", dm_public="Hi Jane, " + "sorry " * 60 + "– Bob")
    assert answer["response_action"] == "errors" and "the limit here is 280" in answer["errors"]["dm_public"]
    assert slack.replies == [] and desk.case(case_id).moved_offline_at is None


def test_a_failed_public_move_to_dm_holds_back_the_private_message_and_can_be_retried(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    slack.fail_replies(400)
    move_to_dm(desk, case_id)
    assert slack.replies == []  # neither half reached the customer
    note = desk.thread_texts()[-1]
    assert "move-to-DM message" in note and "*not sent*" in note and "held back too" in note
    move_to_dm(desk, case_id)  # trying again sends each half once
    assert [p.json["visibility"] for p in slack.replies] == ["public", "private"]


def test_a_failed_move_to_dm_opens_again_with_the_texts_as_they_were_confirmed(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    slack.fail_replies(400)
    public = PUBLIC.replace("within the hour", "by 5pm today")
    private = PRIVATE.replace("booking reference", "booking reference and flight number")
    assert move_to_dm(desk, case_id, user="U0BOB", dm_public=public, dm_private=private) == {}
    assert slack.replies == []
    desk.click("case_move_to_dm", case_id, user="U0BOB")
    again = desk.last_view()
    assert inputs(again)["dm_public"]["element"]["initial_value"] == public  # not the defaults: what Bob wrote
    assert inputs(again)["dm_private"]["element"]["initial_value"] == private
    assert desk.submit(again, as_shown(again), user="U0BOB") == {}
    assert [p.json["text"] for p in slack.replies] == [public, private]


def test_move_to_dm_twice_is_refused_with_an_ephemeral_message(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    move_to_dm(desk, case_id)
    views = len(slack.state.views)
    desk.click("case_move_to_dm", case_id)
    assert len(slack.state.views) == views  # no second modal
    assert len(slack.replies) == 2
    assert "already been moved to DM" in slack.state.ephemeral[-1]["text"]


@pytest.mark.parametrize("reply_url", [False])  # the generic connector has nowhere to send a private message
def test_where_no_private_message_can_go_the_modal_says_why_and_shows_only_the_public_text(desk: Desk) -> None:
    case_id = desk.new_case()
    desk.click("case_move_to_dm", case_id, user="U0BOB")
    view = desk.last_view()
    assert set(inputs(view)) == {"dm_public"}
    said = all_text(view["blocks"])
    assert "No private message can go to *Jane Doe* on X: the desk cannot send private messages" in said
    public = inputs(view)["dm_public"]["element"]["initial_value"]
    # not "I've sent you a DM": the playbook's "move offline" reply, asking them to get in touch
    assert public == (
        "Hi Jane,\nI'd like to sort this out with you properly. Please get in touch by direct message with your "
        "booking reference, and you'll hear back from me within the hour.\n– Bob"
    )
    assert desk.submit(view, as_shown(view), user="U0BOB") == {}
    with desk.rt.sessions() as s:
        sends = s.scalars(select(OutboxItem).where(OutboxItem.kind == "send")).all()
        assert [(o.payload["purpose"], o.payload["text"]) for o in sends] == [("move_to_dm", public)]
        assert s.scalars(select(CaseEvent).where(CaseEvent.kind == "private_unavailable")).first() is None


# -- /care replies -------------------------------------------------------------------------------------------------
def test_care_replies_lists_the_saved_replies_with_their_placeholders(app_url, slack, listeners) -> None:
    answer = post_command(app_url, text="replies", response_url=slack.response_url("replies"))
    assert answer.status_code == 200 and answer.content == b""
    listeners.wait_idle()
    [reply] = slack.responses
    assert reply["response_type"] == "ephemeral"
    text = all_text(reply["blocks"])
    assert f"CARE_PLAYBOOK_FILE ({playbook.DEFAULT_FILE})" in text
    for title, reply_id in [
        ("Acknowledge", "acknowledge"),
        ("Move offline", "move_offline"),
        ("Follow-up", "follow_up"),
    ]:
        assert f"*{title}* · `{reply_id}`" in text
    assert "> Thanks for telling us about this. I'm looking into it now and will get back to you here {due}." in text
    assert "_On google:_" in text  # a per-platform variant
    assert "`{customer}`" in text and "`{contact}`" in text


def test_care_help_mentions_replies(app_url, slack) -> None:
    answer = post_command(app_url, text="help")
    assert "`/care replies`" in answer.json()["text"]


# -- every view fits Slack's rules ---------------------------------------------------------------------------------
def test_every_view_of_the_composer_fits_slacks_rules_with_a_hostile_post_and_draft(desk: Desk, slack) -> None:
    from tests.blocks.slack_rules import view_problems

    hostile = "<!channel> *bold* " + "ä😀&<>" * 900
    case_id = desk.new_case(text=hostile[:3000])
    desk.click("case_claim", case_id, user="U0BOB")
    view = open_reply(desk, case_id)
    assert not view_problems(view), view_problems(view)
    draft = "Hi Jane, WE ARE SO SORRY, you should have asked. We'll look into it. https://x.example " + "😀" * 2000
    pick_saved_reply(desk, view, "apologise", text=draft, user="U0BOB")
    filled = updated_view(slack)
    assert not view_problems(filled), view_problems(filled)
    held = submit_reply(desk, view, "Hi Jane, WE ARE SO SORRY, you should have asked. We'll look into it. – Bob")
    assert not view_problems(held["view"]), view_problems(held["view"])
    desk.click("case_move_to_dm", case_id, user="U0BOB")
    moving = desk.last_view()
    assert not view_problems(moving), view_problems(moving)
    held = desk.submit(moving, as_shown(moving, dm_private="TELL US MORE " * 10), user="U0BOB")
    assert not view_problems(held["view"]), view_problems(held["view"])
