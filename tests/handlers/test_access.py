"""Only the care team acts: a stranger's clicks, submissions and `/care digest`/`/care mine` change nothing,
reach no customer and get one plain sentence; managers may also take over and reassign.

The team is the care channel's members by default (the fake Slack's conversations.members), or CARE_TEAM.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.models import CaseEvent, OutboxItem
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env
from tests.support.slack_requests import post_command, radio_value, text_value
from tests.support.waiting import wait_for

STRANGER = "U0MALLORY"
BOSS = "U0BOSS"


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {}


@pytest.fixture
def env(slack, database_url, env_overrides):
    slack.add_user(BOSS, "Bea Boss")
    slack.set_members(CHANNEL, ["U0ALICE", "U0BOB", "UCAREBOT"])  # the boss manages from outside the channel
    return make_env(slack, database_url, CARE_MANAGERS=BOSS, **env_overrides)


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def staff_events(desk: Desk) -> list[str]:
    with desk.rt.sessions() as s:
        staff = (STRANGER, BOSS, "U0ALICE", "U0BOB", "U0GROUPIE", "U0SOLO")
        return [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.actor.in_(staff)))]


def told(slack, user: str) -> list[str]:
    return [e["text"] for e in slack.state.ephemeral if e["user"] == user]


@pytest.mark.parametrize(
    ("button", "sentence"),
    [
        ("case_claim", "Only the care team can claim cases. Nothing was changed."),
        ("case_reply", "Only the care team can reply to customers. Nothing was changed."),
        ("case_move_to_dm", "Only the care team can move a conversation to direct messages. Nothing was changed."),
        ("case_escalate", "Only the care team can escalate cases. Nothing was changed."),
        ("case_ignore", "Only the care team can ignore cases. Nothing was changed."),
        ("case_resolve", "Only the care team can resolve cases. Nothing was changed."),
        ("case_reassign", "Only managers can reassign cases. Nothing was changed."),
    ],
)
def test_a_strangers_click_changes_nothing_and_says_why(desk: Desk, slack, button: str, sentence: str) -> None:
    case_id = desk.new_case()
    before = desk.parent_text()
    desk.click(button, case_id, user=STRANGER)
    assert told(slack, STRANGER) == [sentence]
    assert slack.state.views == [] and slack.replies == []  # no modal, nothing to the customer
    assert desk.thread_texts() == [] and desk.parent_text() == before
    case = desk.case(case_id)
    assert case.status == "open" and case.owner_id is None and case.priority != "urgent"
    assert staff_events(desk) == []


@pytest.mark.parametrize(
    ("button", "values", "sentence"),
    [
        ("case_reply", text_value("reply", "text", "Send this to the customer"), "reply to customers"),
        ("case_ignore", radio_value("troll"), "ignore cases"),
        ("case_resolve", radio_value("resolved"), "resolve cases"),
    ],
)
def test_a_strangers_submission_changes_nothing_and_reaches_no_customer(
    desk: Desk, slack, button: str, values: dict, sentence: str
) -> None:
    """The modal a teammate opened (or a forged one), submitted by someone not on the team."""
    case_id = desk.new_case()
    desk.click(button, case_id)  # Alice opens it
    answer = desk.submit(desk.last_view(), values, user=STRANGER)
    assert answer == {}  # the modal closes; the sentence says why
    assert told(slack, STRANGER) == [f"Only the care team can {sentence}. Nothing was changed."]
    assert slack.replies == [] and desk.case(case_id).status == "open"
    assert [t for t in desk.thread_texts() if STRANGER in t] == []


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("digest", "Only managers can ask for the digest with `/care digest`."),
        ("mine", "Only the care team can list their cases with `/care mine`."),
    ],
)
def test_a_stranger_gets_no_digest_and_no_case_list(desk: Desk, slack, listeners, text: str, sentence: str) -> None:
    desk.new_case()
    answer = post_command(desk.url, text=text, user=STRANGER, response_url=slack.response_url(text))
    assert answer.status_code == 200 and answer.content == b""
    listeners.wait_idle()
    assert [(r["response_type"], r["text"]) for r in slack.responses] == [("ephemeral", sentence)]
    assert "Jane" not in json.dumps(slack.responses)  # no customer quoted
    with desk.rt.sessions() as s:
        assert s.scalars(select(OutboxItem).where(OutboxItem.kind == "digest")).all() == []


def test_stats_and_help_stay_open_to_everyone(desk: Desk, slack, listeners) -> None:
    help_answer = post_command(desk.url, text="help", user=STRANGER)
    assert help_answer.json()["text"].startswith("*/care* — the social care desk")
    post_command(desk.url, text="stats", user=STRANGER, response_url=slack.response_url("stats"))
    listeners.wait_idle()
    assert slack.responses[0]["blocks"][0]["text"]["text"].startswith("Care stats · Today")


def test_a_manager_takes_over_and_reassigns_and_a_teammate_cannot_take_over(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    desk.click("case_claim", case_id, user="U0ALICE")
    desk.click("case_claim", case_id, user="U0BOB")  # a teammate is told, not offered the take-over
    assert slack.state.views == []
    assert told(slack, "U0BOB") == ["<@U0ALICE> already owns this case. Only managers can take over a teammate's case."]

    desk.click("case_claim", case_id, user=BOSS)
    take_over = desk.last_view()
    assert take_over["callback_id"] == "take_over_modal"
    desk.submit(take_over, {}, user="U0BOB")  # the same modal, submitted by the teammate: refused
    assert told(slack, "U0BOB")[-1] == "Only managers can take over a teammate's case. Nothing was changed."
    assert desk.case(case_id).owner_id == "U0ALICE"
    desk.submit(take_over, {}, user=BOSS)
    assert desk.case(case_id).owner_id == BOSS
    assert desk.thread_texts()[-1] == ":raising_hand: <@U0BOSS> took this case over from <@U0ALICE>."

    desk.click("case_reassign", case_id, user="U0BOB")
    assert told(slack, "U0BOB")[-1] == "Only managers can reassign cases. Nothing was changed."
    desk.click("case_reassign", case_id, user=BOSS)
    chosen = {"assignee": {"user": {"type": "users_select", "selected_user": "U0BOB"}}}
    assert desk.submit(desk.last_view(), chosen, user=BOSS) == {}
    assert desk.case(case_id).owner_id == "U0BOB"


def test_someone_removed_from_the_channel_loses_access_within_a_minute(desk: Desk, slack, clock) -> None:
    case_id = desk.new_case()
    desk.click("case_escalate", case_id, user="U0BOB")
    slack.set_members(CHANNEL, ["U0ALICE", "UCAREBOT"])  # Bob leaves the care channel
    clock.advance(seconds=60)
    desk.click("case_claim", case_id, user="U0BOB")
    assert told(slack, "U0BOB") == ["Only the care team can claim cases. Nothing was changed."]
    assert desk.case(case_id).owner_id is None
    slack.set_members(CHANNEL, ["U0ALICE", "U0BOB", "UCAREBOT"])  # ... and is back
    clock.advance(seconds=60)
    desk.click("case_claim", case_id, user="U0BOB")
    assert desk.case(case_id).owner_id == "U0BOB"
    assert len(slack.calls_to("conversations.members")) == 3  # asked once a minute, not at every click


def test_a_long_channel_is_read_page_by_page(desk: Desk, slack) -> None:
    others = [f"U0X{n:05d}" for n in range(450)]
    slack.set_members(CHANNEL, [*others, "U0ALICE"])  # Alice is on the third page
    desk.click("case_claim", desk.new_case())
    assert [c.params.get("cursor") is None for c in slack.calls_to("conversations.members")] == [True, False, False]
    assert told(slack, "U0ALICE") == [] and desk.thread_texts() == [":raising_hand: <@U0ALICE> claimed this case."]


def test_when_slack_cannot_say_who_is_on_the_team_nothing_is_done(desk: Desk, slack) -> None:
    case_id = desk.new_case()
    slack.fail("conversations.members", error="internal_error")
    desk.click("case_escalate", case_id)
    assert told(slack, "U0ALICE") == [
        "I couldn't check who is on the care team just now, so nothing was done. Please try again in a moment."
    ]
    assert staff_events(desk) == []
    desk.click("case_escalate", case_id)  # a failure is not remembered: the next click asks again
    assert staff_events(desk) == ["escalated"]


@pytest.mark.parametrize("env_overrides", [{"CARE_TEAM": "S0CARE,U0SOLO"}])
def test_care_team_names_people_and_user_groups(desk: Desk, slack) -> None:
    slack.set_usergroup("S0CARE", ["U0GROUPIE"])
    case_id = desk.new_case()
    desk.click("case_claim", case_id, user="U0ALICE")  # in the channel, but not on CARE_TEAM
    assert told(slack, "U0ALICE") == ["Only the care team can claim cases. Nothing was changed."]
    desk.click("case_claim", case_id, user="U0GROUPIE")
    assert desk.case(case_id).owner_id == "U0GROUPIE"
    desk.click("case_escalate", case_id, user="U0SOLO")
    wait_for(lambda: "escalated" in staff_events(desk))
    assert slack.calls_to("conversations.members") == []  # CARE_TEAM replaces the channel's members
    assert [c.params["usergroup"] for c in slack.calls_to("usergroups.users.list")] == ["S0CARE"]
