"""The door's rules as plain values: what makes two deliveries the same, and what each button needs."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import ids
from bot.clock import ManualClock
from bot.services import access
from handlers import gate
from tests.support.slack_requests import block_action, text_value, view_payload

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(user=st.from_regex(r"[UW][A-Z0-9]{2,10}", fullmatch=True), value=words, text=words)
def test_a_delivery_sent_again_has_the_same_key_and_any_change_makes_another(user: str, value: str, text: str) -> None:
    click = block_action(ids.ACTION_ESCALATE, value, user=user)
    again = copy.deepcopy(click) | {"trigger_id": "another.trigger", "response_url": "http://elsewhere"}
    assert gate.delivery_key(again) == gate.delivery_key(click)  # Slack's retry: new trigger, same click
    later = copy.deepcopy(click)
    later["actions"][0]["action_ts"] += "1"
    other_user = copy.deepcopy(click)
    other_user["user"]["id"] += "X"
    assert len({gate.delivery_key(p) for p in (click, later, other_user)}) == 3

    view = {"type": "modal", "callback_id": ids.VIEW_REPLY, "private_metadata": '{"case_id": 1}'}
    submit = view_payload("view_submission", view, text_value("reply", "text", text), user=user, view_id="V1")
    corrected = view_payload("view_submission", view, text_value("reply", "text", text + "!"), user=user, view_id="V1")
    assert gate.delivery_key(copy.deepcopy(submit)) == gate.delivery_key(submit)
    assert gate.delivery_key(corrected) != gate.delivery_key(submit)  # corrected after an inline error: acts


def test_commands_may_repeat_and_events_are_keyed_on_their_event_id() -> None:
    assert gate.delivery_key({"command": "/care", "text": "stats", "user_id": "U0ALICE"}) is None
    first = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened"}, "event_time": 1}
    retry = first | {"event_time": 2}
    assert gate.delivery_key(first) == gate.delivery_key(retry) != gate.delivery_key(first | {"event_id": "Ev2"})


def test_every_button_and_modal_has_a_rule_and_only_managers_take_over_and_reassign() -> None:
    actions = {v for k, v in vars(ids).items() if k.startswith("ACTION_")}
    views = {v for k, v in vars(ids).items() if k.startswith("VIEW_")}
    assert set(gate.ACTIONS) == actions and set(gate.VIEWS) == views
    managers_only = {k for k, (need, _) in {**gate.ACTIONS, **gate.VIEWS}.items() if need == access.MANAGERS}
    assert managers_only == {ids.ACTION_REASSIGN, ids.VIEW_REASSIGN, ids.VIEW_TAKE_OVER}


def test_the_team_is_care_team_with_its_groups_else_the_channel_and_managers_always() -> None:
    channel = access.team_from(configured=(), managers=("U0BOSS",), channel_members=["U0ALICE"])
    assert channel.allows("U0ALICE", access.TEAM) and channel.allows("U0BOSS", access.TEAM)
    assert not channel.allows("U0ALICE", access.MANAGERS) and channel.allows("U0BOSS", access.MANAGERS)
    configured = access.team_from(
        configured=("S0CARE", "U0SOLO"),
        managers=(),
        channel_members=["U0ALICE"],
        group_members={"S0CARE": ["U0GROUPIE"]},
    )
    assert configured.members == {"U0SOLO", "U0GROUPIE"}  # the channel no longer counts


def test_the_cache_asks_again_after_a_minute_of_the_apps_clock_and_never_keeps_a_failure() -> None:
    clock, answers = ManualClock(), [["U0ALICE"], ["U0BOB"]]
    asked: list[Any] = []

    def load() -> access.Team:
        asked.append(clock.now())
        if len(asked) == 2:
            raise access.TeamUnknown()
        return access.team_from(configured=(), managers=(), channel_members=answers[min(len(asked) - 1, 1)])

    cache = access.TeamCache(load, clock)
    assert cache.get().members == {"U0ALICE"}
    clock.advance(seconds=59)
    assert cache.get().members == {"U0ALICE"} and len(asked) == 1
    clock.advance(seconds=1)
    with pytest.raises(access.TeamUnknown):  # a failed lookup never hands back the old team
        cache.get()
    assert cache.get().members == {"U0BOB"} and len(asked) == 3
    assert asked[-1] - asked[0] == timedelta(seconds=60)
