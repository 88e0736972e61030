"""The Instagram connector over real HTTP: `comments` deliveries become cases; Reply, Move to DM and
the hide step reach the Instagram endpoints of the fake Graph API. What Instagram shares with Facebook
(subscription check, signature, throttling) is tested in test_facebook.py; the fixtures both use are in
conftest.py."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from bot.config import platform_settings
from bot.models import Mention
from bot.tools.connectors_check import report
from tests.fakes import fixture_bytes
from tests.fakes.meta import IG_ACCOUNT_ID, PAGE_TOKEN, fixture, graph_error, meta_env, usage_header
from tests.support.env import CHANNEL

COMMENT_ID = "17890000000000001"
REPLY_PATH = rf"{COMMENT_ID}/replies"
PRIVATE_PATH = rf"{IG_ACCOUNT_ID}/messages"


def test_an_instagram_comment_becomes_a_case_in_slack(desk):
    assert desk.deliver("instagram", fixture_bytes("instagram", "comment")) == {"received": 1, "stored": 1}
    text = desk.parent_text()
    for fact in ("Instagram", "@jane.doe", "Worst support ever. My refund still hasn't arrived"):
        assert fact in text
    with desk.rt.sessions() as s:
        mention = s.scalars(select(Mention)).one()
        assert (mention.external_id, mention.author_id, mention.author_handle) == (
            COMMENT_ID,
            "6543210987654321",
            "jane.doe",
        )
        assert mention.extra == {"media_id": "17880000000000002", "media_product_type": "FEED"}


def test_our_own_replies_and_other_accounts_and_live_comments_are_not_ingested(desk, slack):
    assert desk.deliver("instagram", fixture_bytes("instagram", "own_reply")) == {"received": 0, "stored": 0}
    other = fixture("instagram", "comment")
    other["entry"][0]["id"] = "17841499999999999"
    live = copy.deepcopy(fixture("instagram", "comment"))
    live["entry"][0]["changes"][0]["field"] = "live_comments"
    facebook_shaped = fixture("facebook", "comment_add")
    for body in (other, live, facebook_shaped):
        assert desk.deliver("instagram", body) == {"received": 0, "stored": 0}
    assert slack.channel(CHANNEL) == []


def test_reply_is_a_public_reply_to_the_comment(desk, graph):
    case_id = desk.comment("instagram", "comment")
    desk.reply(case_id, "Hi jane.doe, so sorry! Your refund went out today.")
    assert graph.calls("POST", REPLY_PATH) == [
        {"message": "Hi jane.doe, so sorry! Your refund went out today.", "access_token": PAGE_TOKEN}
    ]
    assert desk.thread_texts()[-1].startswith(":leftwards_arrow_with_hook: <@U0ALICE> replied publicly to @jane.doe")


@pytest.mark.parametrize("extra_env", [{"META_HIDE_AFTER_MOVE": "yes"}])
def test_move_to_dm_sends_the_private_reply_and_hides_the_comment(desk, graph):
    case_id = desk.comment("instagram", "comment")
    desk.move_to_dm(case_id, user="U0BOB")
    [public] = graph.calls("POST", REPLY_PATH)
    assert public["message"].startswith("Hi jane.doe, I'm Bob from the care team.")
    [private] = graph.calls("POST", PRIVATE_PATH)
    assert private["recipient"] == {"comment_id": COMMENT_ID}
    assert private["message"]["text"].startswith("Hi jane.doe, it's Bob")
    assert graph.calls("POST", COMMENT_ID) == [{"hide": True, "access_token": PAGE_TOKEN}]
    notes = desk.thread_texts()
    assert notes[-2].endswith("\n_The comment is now hidden on Instagram._")
    assert notes[-1].startswith(":envelope: <@U0BOB> sent @jane.doe a private message:")


def test_after_seven_days_instagram_gets_only_the_public_message(desk, graph, clock):
    case_id = desk.comment("instagram", "comment")
    clock.advance(days=7, seconds=60)
    desk.move_to_dm(case_id)
    assert len(graph.calls("POST", REPLY_PATH)) == 1 and graph.calls("POST", PRIVATE_PATH) == []
    assert any(
        "Instagram accepts a private reply only within 7 days of a comment, and this comment is 7 days old" in note
        for note in desk.thread_texts()
    )


def test_instagram_throttling_is_waited_out(desk, graph, clock):
    case_id = desk.comment("instagram", "comment")
    throttled = graph_error("page_throttled", headers=usage_header(1))
    throttled.body = {
        "error": {
            "message": "Application request limit reached",
            "type": "OAuthException",
            "code": 4,
            "fbtrace_id": "F2ig",
        }
    }
    graph.fail(REPLY_PATH, throttled)
    desk.reply(case_id, "Hi, on it.")
    assert len(graph.calls("POST", REPLY_PATH)) == 1
    clock.advance(61)
    desk.settle()
    assert len(graph.calls("POST", REPLY_PATH)) == 2 and "replied publicly" in desk.thread_texts()[-1]


def test_check_names_the_account_or_quotes_metas_error(graph):
    lines: list[str] = []
    assert report(platform_settings(meta_env(graph.url)), check=True, out=lines.append) == 0
    [line] = [entry for entry in lines if entry.startswith("Instagram")]
    assert "webhook at /webhooks/instagram" in line and line.endswith("check: OK, @acmeair (17841400000000001)")
    [get] = graph.standin.requests_to("GET", rf"/v21.0/{IG_ACCOUNT_ID}")
    assert get.query == {"fields": "username"}

    lines.clear()
    assert (
        report(platform_settings(meta_env(graph.url, META_PAGE_TOKEN="EAAGexpired")), check=True, out=lines.append) == 1
    )
    [line] = [entry for entry in lines if entry.startswith("Instagram")]
    assert line.endswith(
        "check: FAILED, Instagram refused the Page token, check META_PAGE_TOKEN "
        "(Invalid OAuth access token - Cannot parse access token (code 190))"
    )
