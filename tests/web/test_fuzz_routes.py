"""Every HTTP route under arbitrary input (hypothesis): never a 5xx, never a traceback in the log, and a
refused request writes no row and makes no Slack call.

The app runs in-process (an exception escaping it fails the example) against the real fake Slack and
the test's database, with the Facebook and Instagram connectors on so their webhooks verify and parse.
Each test is bounded to a few hundred examples so the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from bot.runtime import Runtime
from bot.tools.slack_standin import SlackStandIn
from bot.web import slack_gate
from connectors import signing
from tests.support.env import WEBHOOK_SECRET, make_env
from tests.support.slack_requests import SIGNING_SECRET, block_action
from tests.support.waiting import TrackingExecutor
from tests.support.webhooks import webhook_body
from tests.web.inprocess import InProcessClient, row_counts, serve_inprocess

META_SECRET = "test-meta-app-secret"
PAGE_ID = "1029384756"
IG_ACCOUNT_ID = "17841400000000001"
NOW = slack_gate.WALL_CLOCK.now  # what the route checks timestamps against
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def env(slack: SlackStandIn, database_url: str) -> dict[str, str]:
    """The usual test settings plus a Facebook Page and an Instagram account, so every webhook route is on."""
    return make_env(
        slack,
        database_url,
        META_APP_SECRET=META_SECRET,
        META_VERIFY_TOKEN="test-verify-token",
        META_PAGE_ID=PAGE_ID,
        META_PAGE_TOKEN="test-page-token",
        META_IG_ACCOUNT_ID=IG_ACCOUNT_ID,
    )


@pytest.fixture
def client(rt: Runtime, listeners: TrackingExecutor) -> Iterator[InProcessClient]:
    yield from serve_inprocess(rt, listeners)


class Witness:
    """What a request may not leave behind when it is refused: rows, Slack calls, tracebacks."""

    def __init__(self, rt: Runtime, slack: SlackStandIn, listeners: TrackingExecutor, caplog: Any) -> None:
        self.rt, self.slack, self.listeners, self.caplog = rt, slack, listeners, caplog

    def send(self, client: InProcessClient, method: str, path: str, *, admitted: bool = False, **kwargs: Any) -> int:
        """The answer's status, after checking what the request left behind.

        `admitted` is for a request Slack really signed whose shape passed the gate: Bolt and the
        listeners act on it, so it may write and call Slack, and a listener that fails on a field Slack
        never sends that way is reported with its traceback by design; such a request must still never
        get a 5xx.
        """
        rows, calls, logged = row_counts(self.rt), len(self.slack.state.calls), len(self.caplog.records)
        status = client.request(method, path, **kwargs).status_code
        self.listeners.wait_idle()  # whatever a Slack listener does after its ack happens before we look
        assert status < 500, (method, path, kwargs)
        if admitted:
            return status
        tracebacks = [r for r in self.caplog.records[logged:] if r.exc_info]
        assert tracebacks == [], [r.getMessage() for r in tracebacks]
        if status >= 400:
            assert row_counts(self.rt) == rows, (status, kwargs)
            assert len(self.slack.state.calls) == calls, (status, kwargs)
        return status


@pytest.fixture
def witness(rt: Runtime, slack: SlackStandIn, listeners: TrackingExecutor, caplog: Any) -> Witness:
    caplog.set_level(logging.INFO)
    return Witness(rt, slack, listeners, caplog)


# -- strategies -----------------------------------------------------------------------------------
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=utf-8"]
)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])


def _slack_bases() -> list[dict[str, Any]]:
    event = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}}
    view = {
        "type": "view_submission",
        "user": {"id": "U0ALICE"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "reply_modal",
            "private_metadata": '{"case_id": 1}',
            "state": {"values": {}},
        },
    }
    command = {
        "command": "/care",
        "text": "stats",
        "user_id": "U0ALICE",
        "channel_id": "C0CARE",
        "team_id": "T0STANDIN",
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": "1.2.t",
    }
    url_verification = {"type": "url_verification", "challenge": "abc"}
    return [block_action("case_claim", "1"), block_action("case_resolve", "2"), event, view, command, url_verification]


@st.composite
def mutated(draw: st.DrawFn, bases: list[dict[str, Any]]) -> Any:
    """A real request's JSON with a few fields (top level or one down) deleted or replaced by anything."""
    value = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 3))):
        target = value
        inner = [k for k, v in value.items() if isinstance(v, dict) and v]
        if inner and draw(st.booleans()):
            target = value[draw(st.sampled_from(sorted(inner)))]
        keys = sorted(target)
        key = draw(st.sampled_from(keys) | st.text(max_size=8) if keys else st.text(max_size=8))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return value


def _slack_body(value: Any, how: str) -> bytes:
    if how == "json":
        return json.dumps(value).encode()
    if how == "payload":
        return urlencode({"payload": json.dumps(value)}).encode()
    # a form: what slash commands send; non-string values the way a careless sender would write them
    fields = value if isinstance(value, dict) else {"value": value}
    return urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}).encode()


slack_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.builds(_slack_body, json_values, st.sampled_from(["json", "payload", "form"])),
    st.builds(_slack_body, mutated(_slack_bases()), st.sampled_from(["json", "payload", "form"])),
)


def slack_headers(body: bytes, content_type: str, signing_mode: str) -> dict[str, str]:
    now = int(time.time())
    ts = {"good": now, "wrong": now, "stale": now - 400, "future": now + 400}.get(signing_mode, now)
    secret = "not-the-secret" if signing_mode == "wrong" else SIGNING_SECRET
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"content-type": content_type}
    if signing_mode == "none":
        return headers
    headers["x-slack-request-timestamp"] = "abc" if signing_mode == "abc" else str(ts)
    headers["x-slack-signature"] = f"v0={digest}"
    return headers


# -- /slack/events --------------------------------------------------------------------------------
@FUZZ
@given(
    body=slack_bodies,
    content_type=content_types,
    signing_mode=st.sampled_from(["good", "good", "none", "wrong", "stale", "future", "abc"]),
)
def test_slack_events_survives_anything(
    client: InProcessClient, witness: Witness, body: bytes, content_type: str, signing_mode: str
) -> None:
    headers = slack_headers(body, content_type, signing_mode)
    admitted = signing_mode == "good" and slack_gate.admit(SIGNING_SECRET, Headers(headers), body, now=NOW()) is None
    status = witness.send(client, "POST", "/slack/events", admitted=admitted, content=body, headers=headers)
    if signing_mode != "good":
        assert status == 401
    elif not admitted:
        assert status in (400, 413)


@st.composite
def malformed_slack(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bodies Slack never signs: each kind is wrong at a level Bolt indexes without checking."""
    kind = draw(st.sampled_from(["not json", "not an object", "type", "event", "payload", "user", "actions", "view"]))
    not_object = json_values.filter(lambda v: not isinstance(v, dict))
    not_string = json_values.filter(lambda v: not isinstance(v, str))
    if kind == "not json":
        text = draw(st.text(min_size=1, max_size=80).filter(_not_json))
        return ("{" + text).encode(), "application/json"
    if kind == "not an object":
        return json.dumps(draw(not_object)).encode(), "application/json"
    if kind == "type":
        return json.dumps({"type": draw(not_string), "event": {"type": "x"}}).encode(), "application/json"
    if kind == "event":
        event = draw(not_object | st.fixed_dictionaries({"type": not_string}))
        return json.dumps({"type": "event_callback", "event": event}).encode(), "application/json"
    if kind == "payload":
        payload = draw(st.text(max_size=40).filter(_not_json).map(lambda t: "{" + t) | not_object.map(json.dumps))
        return urlencode({"payload": payload}).encode(), "application/x-www-form-urlencoded"
    click = block_action("case_claim", "1")
    if kind == "user":
        click["user"] = draw(json_values.filter(lambda v: v is not None and not isinstance(v, dict)))
    elif kind == "actions":
        click["actions"] = draw(st.lists(not_object, max_size=3) | not_object.filter(lambda v: v is not None))
    else:
        click = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": draw(not_object.filter(bool))}
    return urlencode({"payload": json.dumps(click)}).encode(), "application/x-www-form-urlencoded"


def _not_json(text: str) -> bool:
    try:
        json.loads("{" + text)
    except ValueError:
        return True
    return False


@FUZZ
@given(case=malformed_slack())
def test_a_signed_but_malformed_slack_body_gets_400_and_touches_nothing(
    client: InProcessClient, witness: Witness, case: tuple[bytes, str]
) -> None:
    body, content_type = case
    status = witness.send(
        client, "POST", "/slack/events", content=body, headers=slack_headers(body, content_type, "good")
    )
    assert status == 400


# -- the platform webhooks ------------------------------------------------------------------------
def _fixture(platform: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / platform / name).read_text())
    return loaded


@st.composite
def meta_delivery(draw: st.DrawFn) -> Any:
    """A real delivery with a field anywhere in its one change (or the envelope) deleted or replaced."""
    delivery = copy.deepcopy(
        draw(st.sampled_from([_fixture("facebook", "comment_add.json"), _fixture("instagram", "comment.json")]))
    )
    entry = delivery["entry"][0]
    change = entry["changes"][0]
    targets = [delivery, entry, change, change["value"]]
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(targets))
        key = draw(st.sampled_from(sorted({*target, "time", "created_time", "from", "id"})))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values | st.from_regex(r"\A[0-9²³¹ ]{1,30}\Z") | st.just("9" * 5000))
    return delivery


webhook_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated([webhook_body()]).map(lambda v: json.dumps(v).encode()),
    meta_delivery().map(lambda v: json.dumps(v).encode()),
)
WEBHOOKS = {"/webhooks/generic": WEBHOOK_SECRET, "/webhooks/facebook": META_SECRET, "/webhooks/instagram": META_SECRET}


@FUZZ
@given(
    path=st.sampled_from(sorted(WEBHOOKS)),
    body=webhook_bodies,
    signed=st.booleans(),
    content_type=content_types,
)
def test_webhooks_survive_anything(
    client: InProcessClient, witness: Witness, path: str, body: bytes, signed: bool, content_type: str
) -> None:
    header = "x-care-signature" if path.endswith("generic") else "x-hub-signature-256"
    headers = {"content-type": content_type}
    if signed:
        headers[header] = signing.sign(WEBHOOKS[path], body)
    status = witness.send(client, "POST", path, content=body, headers=headers)
    if not signed:
        assert status == 401


@FUZZ
@given(delivery=meta_delivery())
def test_signed_meta_deliveries_of_any_shape_are_stored_or_refused_cleanly(
    client: InProcessClient, witness: Witness, delivery: Any
) -> None:
    path = "/webhooks/facebook" if delivery.get("object") == "page" else "/webhooks/instagram"
    body = json.dumps(delivery).encode()
    status = witness.send(
        client, "POST", path, content=body, headers={"x-hub-signature-256": signing.sign(META_SECRET, body)}
    )
    assert status in (200, 400)


@pytest.mark.parametrize("when", ["9" * 5000, "17954242²"])
def test_a_meta_time_that_int_cannot_read_is_ignored_not_a_crash(
    client: InProcessClient, witness: Witness, when: str
) -> None:
    """Found by the fuzzer: `int()` refused these inside the parser and the webhook answered 500."""
    delivery = _fixture("instagram", "comment.json")
    delivery["entry"][0]["time"] = when
    body = json.dumps(delivery).encode()
    headers = {"x-hub-signature-256": signing.sign(META_SECRET, body)}
    status = witness.send(client, "POST", "/webhooks/instagram", content=body, headers=headers)
    assert status == 200
    assert row_counts(witness.rt)["mentions"] == 1


# -- every route, every method --------------------------------------------------------------------
ROUTES = ["/slack/events", "/webhooks/generic", "/webhooks/facebook", "/webhooks/instagram", "/healthz"]


@FUZZ
@given(
    method=methods,
    # not "//…": an HTTP client cannot send that path (httpx refuses it as a relative URL), so it never arrives
    path=st.sampled_from(ROUTES) | st.from_regex(r"\A/([A-Za-z0-9_.~-][A-Za-z0-9/_.~-]{0,19})?\Z"),
    query=st.dictionaries(st.text(max_size=15), st.text(max_size=15), max_size=3),
    headers=st.dictionaries(
        st.sampled_from(["x-slack-signature", "x-slack-request-timestamp", "x-care-signature", "x-hub-signature-256"])
        | st.from_regex(r"\Ax-[a-z]{1,10}\Z"),
        header_text,
        max_size=3,
    ),
    body=st.binary(max_size=100),
)
def test_any_method_on_any_route_is_answered_below_500(
    client: InProcessClient,
    witness: Witness,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
) -> None:
    content = body if method not in ("GET", "HEAD", "OPTIONS") else None
    raw_headers = {name: value.encode("latin-1") for name, value in headers.items()}  # as bytes travel
    status = witness.send(client, method, path, params=query, headers=raw_headers, content=content)
    if path == "/healthz" and method in ("GET", "HEAD"):
        assert status == 200
