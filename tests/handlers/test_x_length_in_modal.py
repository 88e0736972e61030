"""X's weighted length, enforced in the Reply modal as staff meet it: each of twitter-text's own conformance vectors
(v3, the configuration X uses; tests/fixtures/x/twitter_text_validate.yml) typed into the Reply modal of a case on
X and submitted over signed HTTP. X's invalid texts are refused inline on the reply field, saying how X counts;
its valid ones are not refused for their length (the reply coach may still have advice on such text)."""

from __future__ import annotations

import json

import pytest

from tests.connectors.test_x_length import CONFORMANCE, SECTION_CONFIG
from tests.support.desk import Desk
from tests.support.slack_requests import text_value

SLACK_INPUT_MAX = 3000  # what a plain_text_input holds: a longer text cannot come from the modal
V3_VECTORS = [
    case
    for section, cases in CONFORMANCE["tests"].items()
    if section not in SECTION_CONFIG  # weighed with v2 by twitter-text's own runners: not what X counts today
    for case in cases
    if case["text"] == case["text"].strip() and 0 < len(case["text"]) <= SLACK_INPUT_MAX  # typed as X tests it
]


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def test_the_vectors_cover_refused_and_accepted_texts() -> None:
    assert len(V3_VECTORS) >= 20
    assert {case["expected"]["valid"] for case in V3_VECTORS} == {True, False}


def test_each_of_xs_vectors_is_refused_in_the_modal_exactly_when_x_would_refuse_it(desk: Desk, slack) -> None:
    case_id = desk.new_case()  # a post on X ("twitter")
    desk.click("case_reply", case_id)
    view = desk.last_view()
    wrong = []
    for case in V3_VECTORS:
        answer = desk.submit(view, text_value("reply", "text", case["text"]))
        refused = answer.get("response_action") == "errors"
        if refused != (not case["expected"]["valid"]):
            wrong.append((case["description"], case["expected"]["weightedLength"], json.dumps(answer)[:200]))
        elif refused:
            error = answer["errors"]["reply"]
            weighted = case["expected"]["weightedLength"]
            assert f"X counts this as {weighted} characters" in error or "X refuses text with an invisible" in error
        elif answer:  # the coach's advice (no greeting, no sign-off): the modal again, nothing sent
            assert answer["response_action"] == "update" and slack.replies == []
    assert wrong == []
    assert slack.replies == []  # an unchanged valid draft with advice was never confirmed: nothing went out
