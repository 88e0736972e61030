"""Platform plumbing shared by every connector: the error mapping of platform calls, the
`/webhooks/<platform>` routes, and the `care-bot connectors` report. Real HTTP throughout."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

from bot.config import platform_settings
from bot.errors import AuthError, PermanentError, RateLimited, TransientError
from bot.tools.connectors_check import report
from connectors import transport
from connectors.base import Author, Change, InboundMention
from tests.fakes.platform_standin import PlatformStandIn, Reply
from tests.support.env import CHANNEL


@pytest.fixture
def standin():
    with PlatformStandIn() as server:
        yield server


def test_call_maps_every_kind_of_failure(standin):
    standin.route("GET", "/ok", lambda r, m: Reply(200, {"fine": True}))
    standin.fail(
        "GET", "/ok", Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, {"retry-after": "42"})
    )
    standin.fail("GET", "/ok", Reply(503, "upstream down"))
    standin.fail("GET", "/ok", Reply(401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}))
    standin.fail("GET", "/ok", Reply(400, {"error": "invalid_grant"}))
    with httpx.Client(timeout=5) as client:

        def get() -> httpx.Response:
            return transport.call(client, "GET", f"{standin.url}/ok", platform="Acme")

        with pytest.raises(RateLimited) as limited:
            get()
        assert limited.value.retry_after == 42 and "Rate limit exceeded" in str(limited.value)
        with pytest.raises(TransientError, match="HTTP 503"):
            get()
        with pytest.raises(AuthError, match="Invalid OAuth access token"):
            get()
        with pytest.raises(PermanentError, match="invalid_grant"):
            get()
        assert get().json() == {"fine": True}
        with pytest.raises(TransientError, match="could not be reached"):
            transport.call(client, "GET", "http://127.0.0.1:9/nothing-listens-here", platform="Acme")


def test_a_platform_specific_rate_limit_reader_is_used(standin):
    standin.route("GET", "/x", lambda r, m: Reply(429, {}, {"x-rate-limit-reset": "1000"}))
    with httpx.Client(timeout=5) as client, pytest.raises(RateLimited) as limited:
        transport.call(
            client,
            "GET",
            f"{standin.url}/x",
            platform="X",
            wait_seconds=lambda r: float(r.headers["x-rate-limit-reset"]) - 900,
        )
    assert limited.value.retry_after == 100


# -- /webhooks/<platform> ------------------------------------------------------------------------
SECRET = b"app-secret"


class SignedHooks:
    """A minimal webhook connector (the interface only), standing in for Facebook in these route tests."""

    name = "facebook"
    max_body_bytes = 2048

    def challenge(self, params: Mapping[str, str]) -> str | None:
        return params.get("hub.challenge") if params.get("hub.verify_token") == "tok" else None

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("x-hub-signature-256", ""))

    def parse(self, body: bytes) -> list[Change]:
        from bot.errors import BadPayload

        try:
            data = json.loads(body)
        except ValueError:
            raise BadPayload("body is not valid JSON", status=400) from None
        return [
            InboundMention(
                platform="facebook",
                external_id=c["id"],
                author=Author(id=c["from"], handle=c["from"]),
                text=c["text"],
                posted_at=datetime.now(UTC),
            )
            for c in data.get("comments", [])
        ]

    # Connector part
    def length_rule(self, platform: str):  # pragma: no cover - not used here
        raise NotImplementedError

    def can_message_privately(self, platform: str) -> bool:  # pragma: no cover
        return False

    def send(self, message):  # pragma: no cover
        raise NotImplementedError


def signed(body: bytes) -> dict[str, str]:
    return {
        "x-hub-signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
        "content-type": "application/json",
    }


def test_disabled_platform_webhook_says_which_settings_are_missing(app_url):
    response = httpx.post(f"{app_url}/webhooks/instagram", content=b"{}", timeout=5)
    assert response.status_code == 404
    assert "META_IG_ACCOUNT_ID" in response.json()["error"]


def test_platform_webhook_verification_signature_and_storage(rt, app_url, slack):
    rt.connectors["facebook"] = SignedHooks()  # type: ignore[assignment]
    ok = httpx.get(
        f"{app_url}/webhooks/facebook",
        params={"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    refused = httpx.get(
        f"{app_url}/webhooks/facebook",
        params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    )
    assert refused.status_code == 403

    body = json.dumps({"comments": [{"id": "c1", "from": "u1", "text": "terrible service, still waiting"}]}).encode()
    bad = httpx.post(
        f"{app_url}/webhooks/facebook", content=body, headers={"x-hub-signature-256": "sha256=" + "0" * 64}, timeout=5
    )
    assert bad.status_code == 401
    assert httpx.post(f"{app_url}/webhooks/facebook", content=body, timeout=5).status_code == 401
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []  # nothing stored

    too_big = b"{" + b" " * 4096 + b"}"
    assert httpx.post(f"{app_url}/webhooks/facebook", content=too_big, headers=signed(too_big)).status_code == 413
    garbage = b"not json"
    assert httpx.post(f"{app_url}/webhooks/facebook", content=garbage, headers=signed(garbage)).status_code == 400

    for _ in range(2):  # Meta retries deliveries: the second is acknowledged and stores nothing new
        good = httpx.post(f"{app_url}/webhooks/facebook", content=body, headers=signed(body), timeout=5)
        assert good.status_code == 200
    assert good.json() == {"received": 1, "stored": 0}
    rt.deliverer.drain()
    [parent] = slack.channel(CHANNEL)
    assert "terrible service" in parent.text


def test_platform_webhook_answers_503_when_the_database_fails(rt, app_url, monkeypatch):
    rt.connectors["facebook"] = SignedHooks()  # type: ignore[assignment]
    from bot.services import intake

    def broken(*args, **kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(intake, "apply_changes", broken)  # what the webhooks' writer stores a delivery with
    body = json.dumps({"comments": [{"id": "c9", "from": "u9", "text": "hello"}]}).encode()
    response = httpx.post(f"{app_url}/webhooks/facebook", content=body, headers=signed(body), timeout=5)
    assert response.status_code == 503 and "retry" in response.json()["error"]


# -- care-bot connectors -------------------------------------------------------------------------
def test_report_lists_each_connector_with_what_it_lacks():
    lines: list[str] = []
    status = report(platform_settings({"X_USER_ID": "2244994945", "META_PAGE_ID": "1"}), check=True, out=lines.append)
    assert status == 0  # nothing enabled, nothing failed
    text = "\n".join(lines)
    assert "X (Twitter)" in text and "missing X_BEARER_TOKEN" in text and "X_USER_ID," not in text
    assert "Facebook Page" in text and "missing META_APP_SECRET, META_VERIFY_TOKEN, META_PAGE_TOKEN" in text
    assert all(" disabled " in line for line in lines) and len(lines) == 5
