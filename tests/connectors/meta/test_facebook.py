"""The Facebook Page connector over real HTTP, and what it shares with Instagram.

Meta's side is played by `tests/fakes/meta.py`: deliveries in Meta's documented shapes (tests/fixtures/
facebook), signed as Meta signs them, go to the served app; Reply and Move to DM are clicked as Slack
would; what reaches the fake Graph API and the fake Slack is what we assert.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.config import platform_settings
from bot.models import CaseEvent, Mention
from bot.tools.connectors_check import report
from connectors import signing
from tests.fakes import fixture_bytes
from tests.fakes.meta import (
    APP_SECRET,
    PAGE_ID,
    PAGE_TOKEN,
    VERIFY_TOKEN,
    deliver,
    fixture,
    graph_error,
    meta_env,
    usage_header,
)
from tests.fakes.platform_standin import Reply
from tests.support.env import CHANNEL

COMMENT_ID = "5551234567_8887776665"
REPLY_PATH = rf"{COMMENT_ID}/comments"
PRIVATE_PATH = rf"{PAGE_ID}/messages"


# -- webhook: subscription check, signature, shapes (both platforms) -----------------------------
@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_subscription_check_echoes_the_raw_challenge_only_for_our_token(app_url, platform):
    def check(**params: str) -> httpx.Response:
        return httpx.get(f"{app_url}/webhooks/{platform}", params=params, timeout=5)

    ok = check(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    assert check(**{"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}).status_code == 403
    assert (
        check(**{"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}).status_code == 403
    )
    assert check(**{"hub.mode": "subscribe", "hub.challenge": "1"}).status_code == 403
    assert check(**{"hub.mode": "subscribe", "hub.verify_token": "ünïcode", "hub.challenge": "1"}).status_code == 403


@pytest.mark.parametrize("platform, name", [("facebook", "comment_add"), ("instagram", "comment")])
def test_a_delivery_without_metas_signature_is_refused_and_nothing_stored(desk, slack, platform, name):
    body = fixture_bytes(platform, name)
    reserialised = json.dumps(json.loads(body)).encode()  # same JSON, other bytes: the raw body is what counts
    for response in (
        deliver(desk.url, platform, body, signature=""),
        deliver(desk.url, platform, body, secret="not-the-app-secret"),
        deliver(desk.url, platform, body, signature=signing.sign(APP_SECRET, reserialised + b" ")),
        deliver(desk.url, platform, body, signature="sha1=" + "0" * 40),
    ):
        assert response.status_code == 401
    desk.settle()
    assert desk.stored() == (0, 0, 0, 0) and slack.channel(CHANNEL) == []


def test_invalid_json_is_400_and_unknown_shapes_are_logged_and_acknowledged(desk, caplog):
    assert deliver(desk.url, "facebook", b"{not json").status_code == 400
    assert deliver(desk.url, "facebook", b"\xff\xfe").status_code == 400
    odd: list[Any] = [
        [],
        "page",
        {"object": "user", "entry": []},
        {"object": "page", "entry": "x"},
        {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{"sender": {"id": "1"}}]}]},
        {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": "nope"}]}]},
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "item": "comment",
                                "verb": "add",
                                "comment_id": {"id": 1},
                                "from": "Jane",
                                "message": 42,
                            },
                        }
                    ],
                }
            ],
        },
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "changes": [
                        {
                            "field": "feed",
                            "value": {"item": "comment", "verb": "add", "comment_id": "../../me", "message": "hi"},
                        }
                    ],
                }
            ],
        },
        {
            "object": "page",
            "entry": [{"id": "99999", "changes": fixture("facebook", "comment_add")["entry"][0]["changes"]}],
        },
    ]
    with caplog.at_level(logging.INFO, logger="connectors.meta"):
        for body in odd:
            response = deliver(desk.url, "facebook", body)
            assert response.status_code == 200, (body, response.text)
            assert response.json() == {"received": 0, "stored": 0}
    desk.settle()
    assert desk.stored() == (0, 0, 0, 0)
    assert "unknown shape" in caplog.text and "not ours" in caplog.text


# -- ingest ----------------------------------------------------------------------------------------
def test_a_page_comment_becomes_a_case_in_slack(desk):
    answer = desk.deliver("facebook", fixture_bytes("facebook", "comment_add"))
    assert answer == {"received": 1, "stored": 1}
    text = desk.parent_text()
    for fact in (
        "Facebook",
        "*Jane Doe*",
        "My order never arrived and nobody answers the phone",
        "https://www.facebook.com/1029384756/posts/5551234567?comment_id=8887776665|View post",
    ):
        assert fact in text
    assert desk.button_labels() == ["Claim", "Reply", "Move to DM", "Escalate", "Ignore", "Resolve", "Follow up"]
    with desk.rt.sessions() as s:
        mention = s.scalars(select(Mention)).one()
        assert (mention.external_id, mention.author_id) == (COMMENT_ID, "7364519283746")
        assert mention.posted_at.replace(tzinfo=UTC) == datetime(2026, 11, 23, 8, 58, tzinfo=UTC)
        assert mention.extra == {"post_id": "1029384756_5551234567", "parent_id": "1029384756_5551234567"}


def test_a_batched_delivery_is_read_whole_and_the_pages_own_comments_are_skipped(desk, slack):
    batch = fixture_bytes("facebook", "batch")
    assert desk.deliver("facebook", batch) == {"received": 2, "stored": 2}
    assert desk.deliver("facebook", batch) == {"received": 2, "stored": 0}  # Meta redelivers: stored once
    parents = [json.dumps(m.blocks) for m in slack.channel(CHANNEL)]
    assert len(parents) == 2
    assert "Omar Haddad" in parents[0] and "Lost my luggage" in parents[0]
    assert "https://www.facebook.com/acmeair/posts/pfbid02abcDEF?comment_id=8887776671" in parents[0]
    assert "Mei Chen" in parents[1] and "app keeps crashing" in parents[1]
    assert not any("we're sorry to hear" in p or "Winter timetable" in p for p in parents)
    with desk.rt.sessions() as s:
        omar = s.scalars(select(Mention).where(Mention.external_id == "5551234567_8887776671")).one()
        assert omar.posted_at.replace(tzinfo=UTC) == datetime(2026, 11, 23, 8, 58, 20, tzinfo=UTC)  # ISO time


def test_text_any_database_can_store_is_kept_from_odd_comments(desk):
    body = fixture("facebook", "comment_add")
    value = body["entry"][0]["changes"][0]["value"]
    value["message"], value["from"]["name"] = "nul \u0000 and a lone \ud800 surrogate", "J" * 400
    raw = json.dumps(body).encode()  # escaped as Meta escapes them: \\u0000, \\ud800
    assert desk.deliver("facebook", raw) == {"received": 1, "stored": 1}
    with desk.rt.sessions() as s:
        mention = s.scalars(select(Mention)).one()
        assert mention.text == "nul  and a lone ? surrogate" and len(mention.author_name or "") == 256


def test_edits_and_deletions_are_noted_in_the_thread_and_the_case_kept(desk):
    case_id = desk.comment()
    desk.deliver("facebook", fixture_bytes("facebook", "comment_edited"))
    notes = desk.thread_texts()
    assert notes[-1].startswith(":pencil2: *Jane* edited their post. Now:\n> My order never arrived")
    assert "Three weeks now!" in notes[-1] and "Two weeks now" in notes[-1]
    assert "Three weeks now!" in desk.parent_text() and "(edited)" in desk.parent_text()
    desk.deliver("facebook", fixture_bytes("facebook", "comment_remove"))
    assert desk.thread_texts()[-1] == (
        ":wastebasket: *Jane*'s post was deleted on :large_blue_square: Facebook. "
        "The case and its history are kept here."
    )
    assert desk.case(case_id).status == "open"


# -- Reply and Move to DM ------------------------------------------------------------------------
def test_reply_is_a_public_reply_to_the_comment_as_the_page(desk, graph):
    case_id = desk.comment()
    reply = "Hi Jane, I'm so sorry. I've found your order and it ships today."
    desk.reply(case_id, reply)
    assert graph.calls("POST", REPLY_PATH) == [{"message": reply, "access_token": PAGE_TOKEN}]
    assert graph.calls("POST", PRIVATE_PATH) == []
    assert desk.thread_texts()[-1] == f":leftwards_arrow_with_hook: <@U0ALICE> replied publicly to Jane:\n> {reply}"
    with desk.rt.sessions() as s:
        sent = s.scalars(select(CaseEvent).where(CaseEvent.kind == "replied")).one()
        assert sent.detail["external_id"] == "5551234567_8887776699"


def test_move_to_dm_replies_publicly_then_privately_through_the_send_api(desk, graph):
    case_id = desk.comment()
    desk.move_to_dm(case_id, user="U0BOB")
    [public] = graph.calls("POST", REPLY_PATH)
    assert public["message"].startswith("Hi Jane, I'm Bob from the care team.")
    [private] = graph.calls("POST", PRIVATE_PATH)
    assert private["recipient"] == {"comment_id": COMMENT_ID}
    assert private["message"]["text"].startswith("Hi Jane, it's Bob") and private["access_token"] == PAGE_TOKEN
    assert graph.calls("POST", COMMENT_ID) == []  # hiding is off unless META_HIDE_AFTER_MOVE is set
    notes = desk.thread_texts()
    assert notes[-2].startswith(":lock: <@U0BOB> moved the conversation offline. Sent publicly:\n> Hi Jane")
    assert "hidden" not in notes[-2]
    assert notes[-1].startswith(":envelope: <@U0BOB> sent Jane a private message:\n> Hi Jane, it's Bob")


@pytest.mark.parametrize("extra_env", [{"META_HIDE_AFTER_MOVE": "true"}])
def test_move_to_dm_hides_the_comment_when_configured(desk, graph):
    case_id = desk.comment()
    reply_id = "5551234567_8887776699"
    desk.reply(case_id, "Hi Jane, looking into it.")  # a plain reply never hides anything
    assert graph.calls("POST", COMMENT_ID) == []
    desk.move_to_dm(case_id)
    assert graph.calls("POST", COMMENT_ID) == [{"is_hidden": True, "access_token": PAGE_TOKEN}]
    assert graph.calls("POST", reply_id) == []
    moved = [n for n in desk.thread_texts() if n.startswith(":lock:")]
    assert moved[0].endswith("\n_The comment is now hidden on Facebook._")


@pytest.mark.parametrize("extra_env", [{"META_HIDE_AFTER_MOVE": "true"}])
def test_a_failed_hide_is_a_note_and_the_reply_still_counts_as_sent(desk, graph):
    case_id = desk.comment()
    graph.fail(COMMENT_ID, graph_error("object_missing"))
    desk.move_to_dm(case_id)
    assert len(graph.calls("POST", REPLY_PATH)) == 1 and len(graph.calls("POST", PRIVATE_PATH)) == 1
    moved = [n for n in desk.thread_texts() if n.startswith(":lock:")][0]
    assert "_The comment could not be hidden on Facebook: Facebook refused it (HTTP 400: Unsupported post" in moved
    assert not any("not sent" in n for n in desk.thread_texts())
    assert desk.case(case_id).moved_offline_at is not None


def test_after_seven_days_only_the_public_message_goes_and_the_thread_says_why(desk, graph, clock):
    case_id = desk.comment()
    clock.advance(days=8)
    desk.move_to_dm(case_id)
    assert len(graph.calls("POST", REPLY_PATH)) == 1
    assert graph.calls("POST", PRIVATE_PATH) == []
    assert (
        ":information_source: No private message was sent to Jane: Facebook accepts a private reply only "
        "within 7 days of a comment, and this comment is 8 days old. Only the public message goes out."
    ) in desk.thread_texts()


def test_a_second_private_reply_is_refused_in_words_staff_understand(desk, graph):
    case_id = desk.comment()
    graph.already_replied_privately(COMMENT_ID)  # e.g. someone answered from Meta Business Suite
    desk.move_to_dm(case_id)
    note = desk.thread_texts()[-1]
    assert note.startswith(
        ":warning: <@U0ALICE>'s private message to Jane was *not sent*: Facebook allows one "
        "private reply per comment, and this comment already has one "
        "((#10900) Activity already replied to (code 10900))."
    )
    assert len(graph.calls("POST", PRIVATE_PATH)) == 1  # refused for good: not retried


# -- failures ------------------------------------------------------------------------------------
def test_throttling_waits_as_long_as_meta_estimates_then_sends(desk, graph, clock):
    case_id = desk.comment()
    graph.fail(REPLY_PATH, graph_error("page_throttled", headers=usage_header(0)))  # throttled, no estimate
    desk.reply(case_id, "Hi Jane, on it.")
    assert not any("replied publicly" in n for n in desk.thread_texts())
    clock.advance(59)
    desk.settle()
    assert len(graph.calls("POST", REPLY_PATH)) == 1  # still waiting out the minute
    clock.advance(2)
    desk.settle()
    assert len(graph.calls("POST", REPLY_PATH)) == 2
    assert "replied publicly" in desk.thread_texts()[-1]


def test_a_long_throttle_is_reported_and_the_draft_kept(desk, graph, clock):
    case_id = desk.comment()
    graph.fail(REPLY_PATH, graph_error("page_throttled", headers=usage_header(5)))
    desk.reply(case_id, "Hi Jane, on it.")
    note = desk.thread_texts()[-1]
    assert (
        "was *not sent*: Facebook is rate limiting us ((#32) Page request limit reached (code 32)); "
        "waiting 300s; try again later." in note
    )
    assert desk.case(case_id).draft_text == "Hi Jane, on it."


def test_an_outage_is_retried(desk, graph, clock):
    case_id = desk.comment()
    graph.fail(REPLY_PATH, Reply(503, "Service Unavailable"))
    desk.reply(case_id, "Hi Jane, on it.")
    clock.advance(2)
    desk.settle()
    assert [c["message"] for c in graph.calls("POST", REPLY_PATH)] == ["Hi Jane, on it."] * 2
    assert "replied publicly" in desk.thread_texts()[-1]


def test_a_refused_reply_is_reported_in_the_thread_and_the_draft_kept(desk, graph):
    case_id = desk.comment()
    graph.fail(REPLY_PATH, graph_error("object_missing"))
    desk.reply(case_id, "Hi Jane, on it.")
    note = desk.thread_texts()[-1]
    assert "was *not sent*: Facebook refused it (HTTP 400: Unsupported post request." in note
    assert "draft is kept" in note and desk.case(case_id).draft_text == "Hi Jane, on it."
    assert len(graph.calls("POST", REPLY_PATH)) == 1


def test_an_expired_token_is_reported_as_a_credentials_problem(desk, graph):
    case_id = desk.comment()
    graph.token = "a-newer-token"  # the Page token in META_PAGE_TOKEN no longer works
    desk.reply(case_id, "Hi Jane, on it.")
    assert (
        "was *not sent*: Facebook refused the Page token, check META_PAGE_TOKEN (Invalid OAuth access token"
        in desk.thread_texts()[-1]
    )


# -- care-bot connectors --check -------------------------------------------------------------------
def test_check_tells_a_working_token_from_a_bad_one(graph):
    lines: list[str] = []
    assert report(platform_settings(meta_env(graph.url)), check=True, out=lines.append) == 0
    [facebook] = [line for line in lines if line.startswith("Facebook Page")]
    assert facebook.endswith("check: OK, Page 'Acme Air' (1029384756)")
    [get] = graph.standin.requests_to("GET", rf"/v21.0/{PAGE_ID}")
    assert get.query == {"fields": "name"} and get.headers["authorization"] == f"Bearer {PAGE_TOKEN}"

    lines.clear()
    assert (
        report(platform_settings(meta_env(graph.url, META_PAGE_TOKEN="EAAGexpired")), check=True, out=lines.append) == 1
    )
    [facebook] = [line for line in lines if line.startswith("Facebook Page")]
    assert facebook.endswith(
        "check: FAILED, Facebook refused the Page token, check META_PAGE_TOKEN "
        "(Invalid OAuth access token - Cannot parse access token (code 190))"
    )


def test_check_when_meta_cannot_be_reached():
    lines: list[str] = []
    assert report(platform_settings(meta_env("http://127.0.0.1:9/v21.0")), check=True, out=lines.append) == 1
    assert "check: FAILED, Facebook could not be reached (ConnectError)" in "\n".join(lines)


# -- the small readers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "created, expected",
    [
        (1795424280, datetime(2026, 11, 23, 8, 58, tzinfo=UTC)),
        ("1795424280", datetime(2026, 11, 23, 8, 58, tzinfo=UTC)),
        (1795424280123, datetime(2026, 11, 23, 8, 58, 0, 123000, tzinfo=UTC)),  # milliseconds
        ("2026-11-23T08:58:00+0000", datetime(2026, 11, 23, 8, 58, tzinfo=UTC)),
        ("2026-11-23T09:58:00+01:00", datetime(2026, 11, 23, 8, 58, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
        (None, None),
        (10**20, None),
    ],
)
def test_created_time_is_read_in_every_form_meta_uses(created, expected):
    from connectors.meta import _timestamp

    assert _timestamp(created) == expected


@pytest.mark.parametrize(
    "headers, wait",
    [
        (usage_header(3), 180.0),
        ({"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 5, "total_time": 9})}, 60.0),
        ({"x-page-usage": json.dumps({"call_count": 100, "estimated_time_to_regain_access": 2})}, 120.0),
        ({"retry-after": "90"}, 90.0),
        ({"x-business-use-case-usage": "not json"}, 60.0),
        ({}, 60.0),
    ],
)
def test_throttle_wait_follows_metas_estimate_else_a_minute(headers, wait):
    from connectors.meta import throttle_wait

    assert throttle_wait(httpx.Response(400, headers=headers)) == wait


@pytest.mark.parametrize(
    "status, body, kind, words",
    [
        (
            400,
            {"error": {"message": "(#4) Application request limit reached", "code": 4}},
            "RateLimited",
            "waiting 60s",
        ),
        (
            400,
            {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.", "code": 613}},
            "RateLimited",
            "code 613",
        ),
        (
            400,
            {"error": {"message": "(#200) Permissions error", "type": "OAuthException", "code": 200}},
            "AuthError",
            "lacks a permission",
        ),
        (
            400,
            {
                "error": {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "code": 10,
                    "error_subcode": 2018278,
                }
            },
            "PermanentError",
            "within 7 days",
        ),
        (
            400,
            {"error": {"message": "(#10903) This user cant reply to this activity", "code": 10903}},
            "PermanentError",
            "does not let this person",
        ),
        (
            400,
            {"error": {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True}},
            "TransientError",
            "temporary problem",
        ),
        (400, {"error": {"message": "weird", "code": [4], "error_subcode": {}}}, None, ""),
        (400, {"error": "not an object"}, None, ""),
        (400, ["not", "an", "object"], None, ""),
    ],
)
def test_metas_error_codes_are_classified(status, body, kind, words):
    from bot.config import MetaSettings
    from connectors.meta import FacebookConnector

    with httpx.Client() as client:
        error = FacebookConnector(MetaSettings(page_id=PAGE_ID), client)._classify(httpx.Response(status, json=body))
    assert (type(error).__name__ if error else None) == kind
    assert words in str(error or "")
