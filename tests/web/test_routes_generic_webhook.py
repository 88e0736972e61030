"""The generic webhook over real HTTP: POST /webhooks/generic, signed with CARE_WEBHOOK_SECRET.

Accepted posts answer 202 without touching Slack (delivery is the outbox's job, drained explicitly
here); every kind of bad input gets its own 4xx and leaves the database untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import build_bolt_app
from bot.config import load_settings
from bot.db import session_scope
from bot.models import Case, CaseEvent, Mention, OutboxItem
from bot.runtime import Runtime, build_runtime
from bot.web.routes import build_http_app
from bot.web.server import BackgroundServer
from connectors import generic, signing
from tests.support.env import CHANNEL, WEBHOOK_SECRET, make_env
from tests.support.webhooks import post_webhook, webhook_body

LIMIT = generic.MAX_BODY_BYTES  # 64 KiB


# -- helpers --------------------------------------------------------------------------------------
def count(rt: Runtime, model: type) -> int:
    with session_scope(rt.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def assert_nothing_stored(rt: Runtime) -> None:
    assert (count(rt, Case), count(rt, Mention), count(rt, CaseEvent), count(rt, OutboxItem)) == (0, 0, 0, 0)


def post_raw(base_url: str, body: bytes, *, signature: str | None = None, **headers: str) -> httpx.Response:
    sent = {"content-type": "application/json", **headers}
    sent["x-care-signature"] = signature if signature is not None else signing.sign(WEBHOOK_SECRET, body)
    return httpx.post(f"{base_url}/webhooks/generic", content=body, headers=sent, timeout=10)


def sized_body(size: int) -> bytes:
    """A valid webhook body of exactly `size` bytes, the padding being (multi-byte) text.

    `text` may hold at most 40,000 characters, so the padding uses 3-byte characters (€) to reach 64 KiB.
    """
    base = webhook_body(text="")
    empty = len(json.dumps(base, ensure_ascii=False).encode())
    room = size - empty
    assert room > 0
    euros, ascii_tail = divmod(room, 3)
    text = "€" * euros + "a" * ascii_tail
    assert len(text) <= 40_000
    body = json.dumps(webhook_body(text=text), ensure_ascii=False).encode()
    assert len(body) == size
    return body


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    data = response.json()
    assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], data
    return data


def parent_messages(slack: Any) -> list[Any]:
    return slack.channel(CHANNEL)


# -- accepted posts -------------------------------------------------------------------------------
def test_accepted_post_answers_202_and_does_not_touch_slack_until_drained(app_url, rt, slack):
    r = post_webhook(app_url, webhook_body())
    assert r.status_code == 202, r.text
    data = r.json()
    assert data == {"case_id": data["case_id"], "duplicate": False}
    assert type(data["case_id"]) is int

    # Nothing was posted inside the request: only the outbox posts, and it has not run yet.
    assert slack.calls_to("chat.postMessage") == []
    assert parent_messages(slack) == []
    assert (count(rt, Case), count(rt, Mention)) == (1, 1)

    rt.deliverer.drain()
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].params["channel"] == CHANNEL
    assert not posts[0].params.get("thread_ts")
    parents = parent_messages(slack)
    assert len(parents) == 1
    assert parents[0].channel == CHANNEL
    with session_scope(rt.sessions) as session:
        case = session.get(Case, data["case_id"])
        assert case is not None
        assert (case.platform, case.author_id, case.author_handle) == ("twitter", "42", "jane_doe")


def test_same_post_twice_is_a_duplicate_of_the_same_case(app_url, rt, slack):
    first = post_webhook(app_url, webhook_body())
    assert first.status_code == 202, first.text
    rt.deliverer.drain()

    again = post_webhook(app_url, webhook_body())
    assert again.status_code == 202, again.text
    assert again.json() == {"case_id": first.json()["case_id"], "duplicate": True}
    rt.deliverer.drain()

    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(parent_messages(slack)) == 1
    assert (count(rt, Case), count(rt, Mention)) == (1, 1)


def test_duplicate_before_delivery_still_gives_one_slack_message(app_url, rt, slack):
    first = post_webhook(app_url, webhook_body())
    again = post_webhook(app_url, webhook_body())
    assert again.json() == {"case_id": first.json()["case_id"], "duplicate": True}
    rt.deliverer.drain()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_new_post_by_the_same_author_joins_the_open_case_as_a_thread_reply(app_url, rt, slack):
    first = post_webhook(app_url, webhook_body())
    case_id = first.json()["case_id"]
    rt.deliverer.drain()
    [parent] = parent_messages(slack)
    updates_before = len(slack.calls_to("chat.update"))

    follow_up = webhook_body(
        id="1790000000000000002",
        text="@acme still waiting. Day 22 now.",
        url="https://x.com/jane_doe/status/1790000000000000002",
        created_at="2026-11-22T11:00:00Z",
    )
    r = post_webhook(app_url, follow_up)
    assert r.status_code == 202, r.text
    assert r.json() == {"case_id": case_id, "duplicate": False}
    assert len(slack.calls_to("chat.postMessage")) == 1  # still nothing sent inside the request

    rt.deliverer.drain()
    assert parent_messages(slack) == [parent]  # no second parent
    thread = slack.thread(CHANNEL, parent.ts)
    assert len(thread) == 1
    assert "still waiting" in thread[0].text or "still waiting" in json.dumps(thread[0].blocks)
    updates = slack.calls_to("chat.update")
    assert len(updates) > updates_before
    assert updates[-1].params["ts"] == parent.ts
    assert updates[-1].params["channel"] == CHANNEL
    assert (count(rt, Case), count(rt, Mention)) == (1, 2)


def test_post_by_a_different_author_opens_a_new_case(app_url, rt, slack):
    first = post_webhook(app_url, webhook_body())
    other = webhook_body(id="1790000000000000009", author={"id": "77", "handle": "sam_b", "name": "Sam B"})
    second = post_webhook(app_url, other)
    assert second.status_code == 202, second.text
    assert second.json()["duplicate"] is False
    assert second.json()["case_id"] != first.json()["case_id"]
    rt.deliverer.drain()
    assert len(parent_messages(slack)) == 2
    assert count(rt, Case) == 2


def test_platform_name_is_case_insensitive_and_handle_loses_its_at(app_url, rt):
    first = post_webhook(app_url, webhook_body(platform="Twitter", author={"id": "42", "handle": "@jane_doe"}))
    assert first.status_code == 202, first.text
    again = post_webhook(app_url, webhook_body())
    assert again.json() == {"case_id": first.json()["case_id"], "duplicate": True}
    with session_scope(rt.sessions) as session:
        case = session.scalars(select(Case)).one()
        assert (case.platform, case.author_handle) == ("twitter", "jane_doe")


def test_same_author_id_on_another_platform_is_another_case(app_url, rt):
    first = post_webhook(app_url, webhook_body())
    second = post_webhook(app_url, webhook_body(platform="instagram"))
    assert second.status_code == 202, second.text
    assert second.json() == {"case_id": second.json()["case_id"], "duplicate": False}
    assert second.json()["case_id"] != first.json()["case_id"]


@pytest.mark.parametrize("drop", ["url", "author.name", "both"])
def test_optional_fields_may_be_left_out(app_url, rt, drop):
    body = webhook_body()
    if drop in ("url", "both"):
        del body["url"]
    if drop in ("author.name", "both"):
        body["author"] = {"id": "42", "handle": "jane_doe"}
    r = post_webhook(app_url, body)
    assert r.status_code == 202, r.text
    assert type(r.json()["case_id"]) is int
    with session_scope(rt.sessions) as session:
        mention = session.scalars(select(Mention)).one()
        assert (mention.url is None) == (drop in ("url", "both"))
        assert (mention.author_name is None) == (drop in ("author.name", "both"))


def test_url_scheme_is_case_insensitive(app_url, rt):
    r = post_webhook(app_url, webhook_body(url="HTTPS://X.com/jane_doe/status/1790000000000000001?s=20#x"))
    assert r.status_code == 202, r.text


def test_optional_fields_may_be_null(app_url, rt):
    body = webhook_body(url=None, author={"id": "42", "handle": "jane_doe", "name": None})
    r = post_webhook(app_url, body)
    assert r.status_code == 202, r.text


def test_body_of_exactly_64_kib_is_accepted(app_url, rt):
    body = sized_body(LIMIT)
    r = post_raw(app_url, body)
    assert r.status_code == 202, r.text
    with session_scope(rt.sessions) as session:
        mention = session.scalars(select(Mention)).one()
        assert mention.text == json.loads(body)["text"]


# -- refused posts: nothing stored, never a 5xx ---------------------------------------------------
def test_missing_signature_is_401(app_url, rt):
    body = json.dumps(webhook_body()).encode()
    r = httpx.post(
        f"{app_url}/webhooks/generic", content=body, headers={"content-type": "application/json"}, timeout=10
    )
    assert r.status_code == 401
    assert "X-Care-Signature" in error_of(r)["error"]
    assert_nothing_stored(rt)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(signing.sign("not-the-secret", json.dumps(webhook_body()).encode()), id="wrong-secret"),
        pytest.param(signing.sign(WEBHOOK_SECRET, json.dumps(webhook_body(text="other")).encode()), id="other-body"),
        pytest.param(
            signing.sign(WEBHOOK_SECRET, json.dumps(webhook_body()).encode())[len("sha256=") :], id="no-prefix"
        ),
        pytest.param(
            "sha1=" + signing.sign(WEBHOOK_SECRET, json.dumps(webhook_body()).encode())[7:], id="other-scheme"
        ),
        pytest.param("sha256=", id="empty-digest"),
        pytest.param("sha256=zz", id="garbage"),
    ],
)
def test_bad_signature_is_401(app_url, rt, signature):
    r = post_raw(app_url, json.dumps(webhook_body()).encode(), signature=signature)
    assert r.status_code == 401, r.text
    assert "X-Care-Signature" in error_of(r)["error"]
    assert_nothing_stored(rt)


def test_signature_over_the_parsed_json_rather_than_the_raw_bytes_is_401(app_url, rt):
    raw = json.dumps(webhook_body(), indent=2).encode()
    compact = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    r = post_raw(app_url, raw, signature=signing.sign(WEBHOOK_SECRET, compact))
    assert r.status_code == 401
    assert_nothing_stored(rt)


def test_bad_signature_on_bad_json_is_still_401(app_url, rt):
    r = post_raw(app_url, b"{not json", signature="sha256=" + "0" * 64)
    assert r.status_code == 401
    assert_nothing_stored(rt)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"platform": "twitter",', id="truncated"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"platform=twitter&id=1", id="form-encoded"),
    ],
)
def test_body_that_is_not_json_is_400(app_url, rt, raw):
    r = post_raw(app_url, raw)
    assert r.status_code == 400, r.text
    assert "JSON" in error_of(r)["error"]
    assert_nothing_stored(rt)


def test_deeply_nested_json_is_refused_not_a_server_error(app_url, rt):
    raw = b"[" * 30_000 + b"]" * 30_000  # well under 64 KiB, far past any parser depth
    r = post_raw(app_url, raw)
    assert r.status_code == 400, r.text
    error_of(r)
    assert_nothing_stored(rt)


@pytest.mark.parametrize("payload", [[webhook_body()], "a string", 42, None, True])
def test_json_that_is_not_an_object_is_422(app_url, rt, payload):
    r = post_webhook(app_url, payload)
    assert r.status_code == 422, r.text
    assert "object" in error_of(r)["error"]
    assert_nothing_stored(rt)


def _without(path: str) -> dict[str, Any]:
    body = webhook_body()
    if path.startswith("author."):
        body["author"] = {k: v for k, v in body["author"].items() if k != path.split(".", 1)[1]}
    else:
        del body[path]
    return body


@pytest.mark.parametrize("field", ["platform", "id", "author", "author.id", "author.handle", "text", "created_at"])
def test_missing_required_field_is_422_naming_it(app_url, rt, field):
    r = post_webhook(app_url, _without(field))
    assert r.status_code == 422, r.text
    data = error_of(r)
    assert data["field"] == field
    assert field in data["error"]
    assert_nothing_stored(rt)


@pytest.mark.parametrize("field", ["platform", "id", "author.id", "author.handle", "text", "created_at"])
def test_required_field_that_is_null_or_blank_is_422(app_url, rt, field):
    for value in (None, "", "   "):
        body = webhook_body()
        if field.startswith("author."):
            body["author"] = {**body["author"], field.split(".", 1)[1]: value}
        else:
            body[field] = value
        r = post_webhook(app_url, body)
        assert r.status_code == 422, (value, r.text)
        assert error_of(r)["field"] == field
    assert_nothing_stored(rt)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"id": 1790000000000000001}, "id", id="id-number"),
        pytest.param({"platform": 7}, "platform", id="platform-number"),
        pytest.param({"platform": "Not a platform!"}, "platform", id="platform-name"),
        pytest.param({"platform": "twitter\n"}, "platform", id="platform-newline"),
        pytest.param({"author": "jane_doe"}, "author", id="author-string"),
        pytest.param({"author": ["42", "jane_doe"]}, "author", id="author-list"),
        pytest.param({"author": {"id": 42, "handle": "jane_doe"}}, "author.id", id="author-id-number"),
        pytest.param({"author": {"id": "42", "handle": ["jane"]}}, "author.handle", id="author-handle-list"),
        pytest.param({"author": {"id": "42", "handle": "@"}}, "author.handle", id="author-handle-only-at"),
        pytest.param({"author": {"id": "42", "handle": "jane", "name": 5}}, "author.name", id="author-name-number"),
        pytest.param({"text": ["my", "refund"]}, "text", id="text-list"),
        pytest.param({"text": {"body": "x"}}, "text", id="text-object"),
        pytest.param({"text": "x" * 40_001}, "text", id="text-too-long"),
        pytest.param({"url": "ftp://example.com/post/1"}, "url", id="url-ftp"),
        pytest.param({"url": "javascript:alert(1)"}, "url", id="url-javascript"),
        pytest.param({"url": "x.com/jane_doe/status/1"}, "url", id="url-no-scheme"),
        pytest.param({"url": 12}, "url", id="url-number"),
        pytest.param({"url": "https://"}, "url", id="url-no-host"),
        pytest.param({"url": "http://[::1/status/1"}, "url", id="url-broken-ipv6"),
        pytest.param({"url": "https://x.com/a|<!channel>"}, "url", id="url-slack-markup"),
        pytest.param({"url": "https://x.com/a b"}, "url", id="url-space"),
        pytest.param({"created_at": "yesterday"}, "created_at", id="created-at-words"),
        pytest.param({"created_at": "2026-13-45T10:00:00Z"}, "created_at", id="created-at-impossible"),
        pytest.param({"created_at": "2026-11-22T10:00:00"}, "created_at", id="created-at-no-timezone"),
        pytest.param({"created_at": "2026-11-22"}, "created_at", id="created-at-date-only"),
        pytest.param({"created_at": 1795000000}, "created_at", id="created-at-epoch-number"),
        pytest.param({"created_at": "0001-01-01T00:00:00+01:00"}, "created_at", id="created-at-out-of-range"),
        pytest.param({"text": "refund \ud800 please"}, "text", id="text-lone-surrogate"),
        pytest.param({"text": "refund \u0000 please"}, "text", id="text-nul"),
    ],
)
def test_wrong_types_and_values_are_422_naming_the_field(app_url, rt, overrides, field):
    r = post_webhook(app_url, webhook_body(**overrides))
    assert r.status_code == 422, r.text
    data = error_of(r)
    assert data["field"] == field
    assert field in data["error"]
    assert_nothing_stored(rt)


def test_body_one_byte_over_64_kib_is_413(app_url, rt):
    body = sized_body(LIMIT + 1)
    r = post_raw(app_url, body)
    assert r.status_code == 413, r.text
    assert "64 KiB" in error_of(r)["error"]
    assert_nothing_stored(rt)


def test_oversized_body_without_content_length_is_413(app_url, rt):
    """A chunked upload has no Content-Length to refuse by, so the limit applies while streaming."""
    body = sized_body(LIMIT + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    r = httpx.post(
        f"{app_url}/webhooks/generic",
        content=chunks(),
        timeout=10,
        headers={"content-type": "application/json", "x-care-signature": signing.sign(WEBHOOK_SECRET, body)},
    )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413, r.text
    assert_nothing_stored(rt)


def test_chunked_body_within_the_limit_is_accepted(app_url, rt):
    body = sized_body(LIMIT)
    r = httpx.post(
        f"{app_url}/webhooks/generic",
        content=iter([body[:1000], body[1000:]]),
        timeout=10,
        headers={"content-type": "application/json", "x-care-signature": signing.sign(WEBHOOK_SECRET, body)},
    )
    assert r.status_code == 202, r.text


def test_only_post_is_allowed(app_url, rt):
    r = httpx.get(f"{app_url}/webhooks/generic", timeout=10)
    assert r.status_code == 405
    assert_nothing_stored(rt)


# -- disabled -------------------------------------------------------------------------------------
@pytest.fixture
def disabled_app(slack, tmp_path, clock) -> Iterator[tuple[str, Runtime]]:
    settings = load_settings(make_env(slack, f"sqlite:///{tmp_path / 'disabled.db'}", CARE_WEBHOOK_SECRET=""))
    assert settings.care_webhook_secret is None
    runtime = build_runtime(settings, clock=clock, sleep=clock.advance)
    server = BackgroundServer(build_http_app(runtime, build_bolt_app(runtime), start_workers=False)).start()
    try:
        yield server.url, runtime
    finally:
        server.stop()
        runtime.close()


def test_webhook_without_a_secret_configured_is_404(disabled_app, slack):
    url, runtime = disabled_app
    # Signed with the usual test secret, and also "signed" with an empty key: neither gets in.
    for signature in (None, signing.sign("", json.dumps(webhook_body()).encode())):
        r = post_webhook(url, webhook_body(), signature=signature)
        assert r.status_code == 404, r.text
        assert "CARE_WEBHOOK_SECRET" in error_of(r)["error"]
    assert_nothing_stored(runtime)
    runtime.deliverer.drain()
    assert slack.calls_to("chat.postMessage") == []
