"""Listeners are plain module-level functions: called here directly, with a context holding the runtime,
the way Bolt calls them after `register_all`'s middleware has run."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import BoltContext

from bot.blocks import ids
from bot.db import session_scope
from bot.models import Case
from handlers import views
from tests.support.stats_dataset import add_case


class Ack:
    """Bolt's ack, recording what the listener answered Slack."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.response = None

    def __call__(self, **kwargs: Any) -> None:
        self.answers.append(kwargs)
        self.response = kwargs


def submitted(case_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"private_metadata": json.dumps({"case_id": case_id}), "state": {"values": values}}


def test_a_reassign_without_a_teammate_is_refused_inline_and_changes_nothing(rt, clock) -> None:
    with session_scope(rt.sessions) as s:
        case_id = add_case(s, "A", platform="twitter", priority="normal", created=clock.now(), scores=[]).id
    ack = Ack()
    views.on_reassign(
        ack=ack, body={"user": {"id": "U0ALICE"}}, view=submitted(case_id, {}), context=BoltContext({"rt": rt})
    )
    [answer] = ack.answers
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [ids.ASSIGNEE_BLOCK]
    with rt.sessions() as s:
        assert s.get(Case, case_id).owner_id is None


def test_a_reassign_to_a_teammate_closes_the_modal_and_hands_the_case_over(rt, clock) -> None:
    with session_scope(rt.sessions) as s:
        case_id = add_case(s, "A", platform="twitter", priority="normal", created=clock.now(), scores=[]).id
    ack = Ack()
    chosen = {ids.ASSIGNEE_BLOCK: {ids.ASSIGNEE_INPUT: {"type": "users_select", "selected_user": "U0BOB"}}}
    views.on_reassign(
        ack=ack, body={"user": {"id": "U0ALICE"}}, view=submitted(case_id, chosen), context=BoltContext({"rt": rt})
    )
    assert ack.answers == [{}]  # a plain ack closes the modal
    with rt.sessions() as s:
        assert s.get(Case, case_id).owner_id == "U0BOB"
