"""Praise gets its own path (Thank, Share win), a troll gets a hint, and nothing is ignored automatically."""

from __future__ import annotations

import json

import pytest

from tests.support.desk import Desk
from tests.support.env import make_env
from tests.support.slack_requests import radio_value, text_value

WINS = "C0WINS"
PRAISE = "@acme the crew on my flight today were wonderful, thank you!"


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"CARE_WINS_CHANNEL": WINS}


@pytest.fixture
def env(slack, database_url, env_overrides):
    slack.add_user("U0ALICE", "Alice Ng")
    return make_env(slack, database_url, **env_overrides)


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def test_praise_offers_thank_and_share_win_and_says_why(desk: Desk) -> None:
    desk.new_case(text=PRAISE)
    labels = desk.button_labels()
    assert labels[:4] == ["Claim", "Reply", "Thank", "Share win"]
    assert "Ignore" in labels  # a person still decides what to do with it
    assert "praise: 'wonderful'" in desk.parent_text() or "praise: 'thank" in desk.parent_text()
    assert "Low" in desk.parent_text()


def test_a_complaint_offers_neither(desk: Desk) -> None:
    desk.new_case()
    assert "Thank" not in desk.button_labels() and "Share win" not in desk.button_labels()


def test_thank_opens_the_reply_modal_with_a_warm_reply_naming_both_and_sends_exactly_what_is_submitted(
    desk: Desk, slack
) -> None:
    case_id = desk.new_case(text=PRAISE)
    desk.click("case_thank", case_id)
    view = desk.last_view()
    assert view["callback_id"] == "reply_modal"
    prefilled = json.dumps(view)
    assert "Hi Jane, thank you so much for the kind words!" in prefilled and "Alice" in prefilled
    edited = "Hi Jane, thank you so much! I've passed this on to the crew. Alice"
    desk.submit(view, text_value("reply", "text", edited))
    assert [p.json["text"] for p in slack.replies] == [edited]  # through the normal Reply path, as edited
    assert "replied publicly" in desk.thread_texts()[-1]


def test_share_win_posts_the_praise_to_the_wins_channel_once_however_often_it_is_clicked(desk: Desk, slack) -> None:
    case_id = desk.new_case(text=PRAISE)
    desk.click("case_share_win", case_id)
    desk.click("case_share_win", case_id, user="U0BOB")
    wins = slack.channel(WINS)
    assert len(wins) == 1
    shown = json.dumps(wins[0].blocks)
    assert "A customer win" in shown and "<@U0ALICE>" in shown and "wonderful, thank you!" in shown
    assert "Jane Doe" in shown
    assert wins[0].metadata["event_payload"]["outbox_id"]  # found again, not posted twice, after a crash
    assert desk.thread_texts()[-1] == f":trophy: <@U0ALICE> shared this win in <#{WINS}>."
    assert "<@U0ALICE> shared this win" in slack.state.ephemeral[-1]["text"]  # Bob is told, nothing is posted


def test_praise_said_privately_is_shared_marked_as_private(desk: Desk, slack) -> None:
    case_id = desk.new_case(text=PRAISE, visibility="private", url=None)
    assert "Move to DM" not in desk.button_labels()
    desk.click("case_share_win", case_id)
    [win] = slack.channel(WINS)
    shown = win.blocks[0]["text"]["text"]
    assert "wonderful, thank you!" in shown and "*Jane Doe* (@jane_doe) in a :lock: private message on" in shown


def test_praise_thanked_and_resolved_can_still_be_shared(desk: Desk, slack) -> None:
    case_id = desk.new_case(text=PRAISE)
    desk.click("case_resolve", case_id)
    desk.submit(desk.last_view(), radio_value("resolved"))
    assert desk.button_labels() == ["Reopen", "Share win"]
    desk.click("case_share_win", case_id)
    assert len(slack.channel(WINS)) == 1


def test_a_hostile_post_is_inert_in_the_wins_channel(desk: Desk, slack) -> None:
    case_id = desk.new_case(text="<!channel> *love* you all, thanks <https://evil.example|click>")
    desk.click("case_share_win", case_id)
    shown = json.dumps(slack.channel(WINS)[0].blocks) + slack.channel(WINS)[0].text
    assert "<!channel>" not in shown and "<https://evil" not in shown and "&lt;!channel&gt;" in shown


@pytest.mark.parametrize("env_overrides", [{}])
def test_without_a_wins_channel_share_win_says_what_to_set_and_posts_nothing(desk: Desk, slack) -> None:
    case_id = desk.new_case(text=PRAISE)
    desk.click("case_share_win", case_id)
    assert "CARE_WINS_CHANNEL" in slack.state.ephemeral[-1]["text"]
    assert slack.channel(WINS) == [] and all("shared this win" not in t for t in desk.thread_texts())


def test_a_troll_gets_a_hint_and_stays_open_for_a_person_to_decide(desk: Desk) -> None:
    case_id = desk.new_case(text="@acme you idiots")
    assert "looks like a troll (&#x27;idiots&#x27;)" in desk.parent_text() or "looks like a troll ('idiots')" in (
        desk.parent_text()
    )
    assert "no reply needed?" in desk.parent_text()
    assert desk.case(case_id).status == "open" and "Ignore" in desk.button_labels()
