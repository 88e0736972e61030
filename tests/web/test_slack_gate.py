"""POST /slack/events checks Slack's signature on the raw bytes before anything reads the body.

The gate's rules first (a manual clock, exact boundaries), then the audit's inputs (issue 11, finding 5)
through the whole app: unsigned they get 401, signed but malformed 400, too large 413; never a 500,
never a traceback, never a Slack call or a database row, and the error handler answers only the user
of a verified request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from starlette.datastructures import Headers

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.tools.slack_standin import SlackStandIn
from bot.web import slack_gate
from bot.web.routes import build_http_app
from tests.support.env import CHANNEL
from tests.support.slack_requests import SIGNING_SECRET, block_action, signed_headers
from tests.support.waiting import TrackingExecutor
from tests.web.inprocess import InProcessClient, row_counts, serve_inprocess

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def sign(body: bytes, *, at: datetime = NOW, secret: str = SIGNING_SECRET, content_type: str = JSON) -> Headers:
    ts = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return Headers({"content-type": content_type, "x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"})


def admit(body: bytes, headers: Headers, *, clock: ManualClock | None = None) -> slack_gate.Refusal | None:
    now = (clock or ManualClock(NOW)).now()
    return slack_gate.admit(SIGNING_SECRET, headers, body, now=now)


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def payload_form(payload: object) -> bytes:
    return form(payload=json.dumps(payload))


COMMAND = {
    "command": "/care",
    "text": "stats",
    "user_id": "U0ALICE",
    "channel_id": CHANNEL,
    "team_id": "T0STANDIN",
    "response_url": "https://hooks.slack.com/commands/1",
    "trigger_id": "1.2.trigger",
}
HOME_OPENED = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}}


# -- the signature and the timestamp --------------------------------------------------------------
def test_a_request_signed_now_is_admitted() -> None:
    body = json.dumps(HOME_OPENED).encode()
    assert admit(body, sign(body)) is None


@pytest.mark.parametrize("seconds", [-300, 300])
def test_five_minutes_either_way_is_still_fresh(seconds: int) -> None:
    body = json.dumps(HOME_OPENED).encode()
    assert admit(body, sign(body, at=NOW + timedelta(seconds=seconds))) is None


@pytest.mark.parametrize("seconds", [-301, 301, -86_400 * 3])
def test_a_timestamp_more_than_five_minutes_away_is_refused(seconds: int) -> None:
    body = json.dumps(HOME_OPENED).encode()
    refusal = admit(body, sign(body, at=NOW + timedelta(seconds=seconds)))
    assert refusal == slack_gate.Refusal(401, "X-Slack-Request-Timestamp is more than five minutes from now")


def test_the_window_follows_the_clock_it_is_given() -> None:
    body = json.dumps(HOME_OPENED).encode()
    headers = sign(body)
    clock = ManualClock(NOW)
    assert admit(body, headers, clock=clock) is None
    clock.advance(minutes=5, seconds=1)
    assert admit(body, headers, clock=clock) is not None


@pytest.mark.parametrize(
    "timestamp",
    [
        "abc",
        "",
        " 1795424400",
        "1795424400 ",
        "-1795424400",
        "1.7e9",
        "179542440²",  # str.isdigit() says yes, int() says no
        "9" * 40,
        "0x6b0f",
    ],
)
def test_a_timestamp_that_is_not_plain_digits_is_refused(timestamp: str) -> None:
    body = json.dumps(HOME_OPENED).encode()
    headers = {**sign(body), "x-slack-request-timestamp": timestamp}
    refusal = admit(body, Headers(headers))
    assert refusal is not None and refusal.status == 401


@pytest.mark.parametrize(
    "signature",
    ["", "v0=", "v1=" + "0" * 64, "v0=" + "0" * 64, "v0=ÿÿÿ", "garbage"],
)
def test_a_wrong_signature_is_refused(signature: str) -> None:
    body = json.dumps(HOME_OPENED).encode()
    headers = {**sign(body), "x-slack-signature": signature}
    assert admit(body, Headers(headers)) == slack_gate.Refusal(401, "invalid X-Slack-Signature")


def test_a_body_changed_after_signing_is_refused() -> None:
    body = json.dumps(HOME_OPENED).encode()
    assert admit(body.replace(b"U0ALICE", b"U0VICTIM"), sign(body)) is not None


def test_another_secret_or_no_secret_is_refused() -> None:
    body = json.dumps(HOME_OPENED).encode()
    assert admit(body, sign(body, secret="not-the-secret")) is not None
    assert slack_gate.admit("", sign(body, secret=""), body, now=NOW) is not None


@pytest.mark.parametrize("name", ["x-slack-signature", "x-slack-request-timestamp"])
def test_a_missing_or_repeated_header_is_refused(name: str) -> None:
    body = json.dumps(HOME_OPENED).encode()
    signed = list(sign(body).items())
    without = [(k, v) for k, v in signed if k != name]
    twice = signed + [(k, v) for k, v in signed if k == name]
    for pairs in (without, twice):
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
        refusal = admit(body, Headers(raw=raw))
        assert refusal == slack_gate.Refusal(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")


def test_the_signature_covers_raw_bytes_even_when_they_are_not_utf8() -> None:
    body = b"\xff\xfe{not utf-8"
    assert admit(body, sign(body)) == slack_gate.Refusal(400, "the body is neither UTF-8 JSON nor a form Slack sends")


# -- the shape, once signed -----------------------------------------------------------------------
WELL_FORMED = {
    "event": (json.dumps(HOME_OPENED).encode(), JSON),
    "url_verification": (json.dumps({"type": "url_verification", "challenge": "c"}).encode(), JSON),
    "click": (payload_form(block_action("case_claim", "1")), FORM),
    "command": (form(**COMMAND), FORM),
    "ssl_check": (form(ssl_check="1", token="t"), FORM),
    "view_submission": (
        payload_form(
            {
                "type": "view_submission",
                "user": {"id": "U0ALICE"},
                "view": {"id": "V1", "type": "modal", "callback_id": "reply_modal", "state": {"values": {}}},
            }
        ),
        FORM,
    ),
}


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_every_kind_of_slack_request_passes_the_shape_check(name: str) -> None:
    body, content_type = WELL_FORMED[name]
    assert admit(body, sign(body, content_type=content_type)) is None


MALFORMED = {
    # the audit's inputs (finding 5)
    "not json": (b"{not json", JSON),
    "payload not json": (b"payload=%7Bnot", FORM),
    "payload null": (b"payload=null", FORM),
    "event null": (b'{"type":"event_callback","event":null}', JSON),
    # and their relatives
    "json array": (b"[1, 2]", JSON),
    "nested too deeply": (b"[" * 100_000, JSON),
    "payload nested too deeply": (b"payload=" + b"%5B" * 100_000, FORM),
    "json string": (b'"event_callback"', JSON),
    "empty body": (b"", JSON),
    "empty object": (b"{}", JSON),
    "no type": (b'{"event": {"type": "app_home_opened"}}', JSON),
    "type not a string": (b'{"type": 7}', JSON),
    "event a string": (b'{"type":"event_callback","event":"app_home_opened"}', JSON),
    "event without type": (b'{"type":"event_callback","event":{"user":"U1"}}', JSON),
    "home without user": (b'{"type":"event_callback","event":{"type":"app_home_opened","user":5}}', JSON),
    "authorizations a string": (b'{"type":"event_callback","event":{"type":"x"},"authorizations":"ab"}', JSON),
    "user a string": (payload_form({**block_action("case_claim", "1"), "user": "x"}), FORM),
    "user an int": (payload_form({**block_action("case_claim", "1"), "user": 5}), FORM),
    "user id not a string": (payload_form({**block_action("case_claim", "1"), "user": {"id": ["U1"]}}), FORM),
    "channel a list": (payload_form({**block_action("case_claim", "1"), "channel": ["C1"]}), FORM),
    "container a string": (payload_form({**block_action("case_claim", "1"), "container": "x"}), FORM),
    "team a number": (payload_form({**block_action("case_claim", "1"), "team": 1}), FORM),
    "actions empty": (payload_form({**block_action("case_claim", "1"), "actions": []}), FORM),
    "actions of strings": (payload_form({**block_action("case_claim", "1"), "actions": ["case_claim"]}), FORM),
    "view a string": (payload_form({"type": "view_submission", "user": {"id": "U1"}, "view": "v"}), FORM),
    "view without callback": (payload_form({"type": "view_submission", "user": {"id": "U1"}, "view": {}}), FORM),
    "view without type": (
        payload_form({"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "reply_modal"}}),
        FORM,
    ),
    "payload a list": (payload_form([1]), FORM),
    "payload without type": (payload_form({"user": {"id": "U1"}}), FORM),
    "command without user": (form(**{k: v for k, v in COMMAND.items() if k != "user_id"}), FORM),
    "command in json, user a number": (json.dumps({**COMMAND, "user_id": 5}).encode(), JSON),
    "form of nothing known": (form(hello="world"), FORM),
    "response_urls a string": (payload_form({**block_action("case_claim", "1"), "response_urls": "u"}), FORM),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_signed_but_malformed_body_is_refused_with_one_sentence(name: str) -> None:
    body, content_type = MALFORMED[name]
    refusal = admit(body, sign(body, content_type=content_type))
    assert refusal is not None and refusal.status == 400
    assert refusal.message and "\n" not in refusal.message


# -- the whole app --------------------------------------------------------------------------------
@pytest.fixture
def client(rt: Runtime, listeners: TrackingExecutor) -> Iterator[InProcessClient]:
    yield from serve_inprocess(rt, listeners)


def post(client: InProcessClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    response = client.post("/slack/events", content=body, headers=headers)
    return response.status_code, response.json()


def wall_signed(body: bytes, content_type: str, **sign: object) -> dict[str, str]:
    return signed_headers(body.decode("utf-8", "replace"), content_type=content_type, **sign)  # type: ignore[arg-type]


def assert_quiet(caplog: pytest.LogCaptureFixture, *secrets_of_the_body: str) -> None:
    """No traceback anywhere, and the one warning per refusal does not repeat the body."""
    assert [r for r in caplog.records if r.exc_info] == []
    warnings = [r for r in caplog.records if r.name == "bot.web.routes"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    for record in warnings:
        assert not any(s in record.getMessage() for s in secrets_of_the_body)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_the_audits_inputs_unsigned_get_401_and_touch_nothing(
    name: str, client: InProcessClient, rt: Runtime, slack: SlackStandIn, listeners: TrackingExecutor, caplog
) -> None:
    body, content_type = MALFORMED[name]
    before = row_counts(rt)
    status, answer = post(client, body, {"content-type": content_type})
    listeners.wait_idle()
    assert status == 401
    assert isinstance(answer["error"], str) and "X-Slack" in answer["error"]
    assert slack.state.calls == []
    assert row_counts(rt) == before
    assert_quiet(caplog)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_the_audits_inputs_signed_get_400_and_touch_nothing(
    name: str, client: InProcessClient, rt: Runtime, slack: SlackStandIn, listeners: TrackingExecutor, caplog
) -> None:
    body, content_type = MALFORMED[name]
    before = row_counts(rt)
    status, answer = post(client, body, wall_signed(body, content_type))
    listeners.wait_idle()
    assert status == 400, answer
    assert isinstance(answer["error"], str) and answer["error"]
    assert slack.state.calls == []
    assert row_counts(rt) == before
    assert_quiet(caplog)


def test_an_unverified_body_cannot_make_the_error_handler_message_anyone(
    client: InProcessClient, rt: Runtime, slack: SlackStandIn, listeners: TrackingExecutor, caplog
) -> None:
    """The audit's request: a timestamp of `abc`, a body naming a victim and a channel elsewhere."""
    victim = {**block_action("case_claim", "not-a-case", user="U0VICTIM", channel="C0ELSEWHERE")}
    body = payload_form(victim)
    headers = {**wall_signed(body, FORM), "x-slack-request-timestamp": "abc"}

    status, answer = post(client, body, headers)
    listeners.wait_idle()

    assert status == 401
    assert answer == {"error": "X-Slack-Request-Timestamp is not a Unix time in seconds"}
    assert slack.calls_to("chat.postEphemeral") == []
    assert slack.state.ephemeral == []
    assert_quiet(caplog, "U0VICTIM", "C0ELSEWHERE")


def test_the_error_handler_answers_the_user_of_a_verified_request(
    client: InProcessClient, slack: SlackStandIn, listeners: TrackingExecutor
) -> None:
    """A signed click on a case that does not exist: the one who clicked hears about it, where they clicked."""
    body = payload_form(block_action("case_claim", "424242", user="U0ALICE", channel=CHANNEL))
    status = client.post("/slack/events", content=body, headers=wall_signed(body, FORM)).status_code
    listeners.wait_idle()
    assert status == 200
    [ephemeral] = slack.calls_to("chat.postEphemeral")
    assert (ephemeral.params["user"], ephemeral.params["channel"]) == ("U0ALICE", CHANNEL)


def test_a_stale_but_correctly_signed_request_is_refused(client: InProcessClient, slack: SlackStandIn, caplog) -> None:
    import time

    body = payload_form(block_action("case_claim", "1"))
    status, answer = post(client, body, wall_signed(body, FORM, timestamp=int(time.time()) - 400))
    assert (status, answer) == (401, {"error": "X-Slack-Request-Timestamp is more than five minutes from now"})
    assert slack.state.calls == []
    assert_quiet(caplog)


def test_a_body_over_the_limit_gets_413_before_anything_reads_it(
    client: InProcessClient, slack: SlackStandIn, caplog
) -> None:
    body = b'{"type":"url_verification","challenge":"' + b"a" * slack_gate.MAX_BODY_BYTES + b'"}'
    status, answer = post(client, body, wall_signed(body, JSON))
    assert (status, answer) == (413, {"error": "body is larger than 1024 KiB"})
    assert slack.state.calls == []
    assert_quiet(caplog)


def test_a_signed_url_verification_still_reaches_bolt(client: InProcessClient) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    response = client.post("/slack/events", content=body, headers=wall_signed(body.encode(), JSON))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_a_signed_command_still_reaches_its_listener(client: InProcessClient, listeners: TrackingExecutor) -> None:
    body = form(**{**COMMAND, "text": "help"})
    response = client.post("/slack/events", content=body, headers=wall_signed(body, FORM))
    assert response.status_code == 200
    assert "/care" in response.text


def test_slack_quotes_the_form_body_it_signs_and_so_do_we() -> None:
    """`payload=` is percent-encoded JSON; the gate reads it the way Bolt does (`quote` as Slack sends it)."""
    body = ("payload=" + quote(json.dumps(block_action("case_claim", "1")))).encode()
    assert admit(body, sign(body, content_type=FORM)) is None


def test_under_socket_mode_the_route_says_so_and_reads_nothing(rt: Runtime, slack: SlackStandIn, caplog) -> None:
    """No Bolt app behind the route (SLACK_APP_TOKEN set): the same 404 as before the gate, signed or not."""
    client = InProcessClient(build_http_app(rt, None, start_workers=False))
    try:
        for body in (b"{not json", json.dumps(HOME_OPENED).encode()):
            response = client.post("/slack/events", content=body, headers=wall_signed(body, JSON))
            assert response.status_code == 404
            assert response.json() == {"error": "Slack traffic is served over Socket Mode (SLACK_APP_TOKEN is set)"}
    finally:
        client.close()
    assert slack.state.calls == []
    assert [r for r in caplog.records if r.exc_info] == []
