"""X posting tokens renewed with the rotating refresh token, against the fake X over real HTTP.

X's OAuth 2.0 user access tokens expire after two hours and every refresh token works once, so what is
asserted is what keeps replies working in production: the token endpoint is called when needed and not
more, the newest refresh token outlives a restart and is shared by replicas, and a refused refresh token
tells the operator, in the case thread and in `care-bot connectors --check`, to re-authorize.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.clock import ManualClock, SystemClock
from bot.config import load_settings, platform_settings
from bot.credentials import DatabaseCredentials
from bot.errors import ConfigError
from bot.models import Case, ConnectorCredential
from bot.runtime import Runtime, build_runtime
from bot.tools.connectors_check import report
from connectors import x
from connectors.base import Outbound
from tests.fakes.credentials import MemoryCredentials
from tests.fakes.platform_standin import PlatformStandIn, Reply
from tests.fakes.x import APP_TOKEN, BRAND, JANE, FakeX
from tests.support.desk import Desk
from tests.support.env import make_env

CLIENT_ID = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ"
TWO_HOURS = 7200
TEXT = "Hi Jane, I'm Bob. I've chased your refund and will update you today."
REAUTHORIZE = (
    "it was already used or has been revoked, so re-authorize the brand account with OAuth 2.0 "
    "(see docs/connectors/x.md) and set X_REFRESH_TOKEN to the new refresh token"
)


@pytest.fixture
def fake_x(clock: ManualClock) -> Iterator[FakeX]:
    with PlatformStandIn() as standin:
        fake = FakeX(standin, brand_id=BRAND, app_token=APP_TOKEN)
        fake.add_user(JANE, "jane_doe", "Jane Doe")
        yield fake


@pytest.fixture
def first_refresh_token(fake_x: FakeX, clock: ManualClock) -> str:
    """The operator's one-time authorization of a public client; access tokens expire by the test's clock."""
    return fake_x.oauth_client(CLIENT_ID, now=clock.now)


def x_env(fake_x: FakeX, refresh_token: str, **overrides: str) -> dict[str, str]:
    """X with renewed posting tokens: no X_USER_TOKEN at all."""
    return {
        "X_USER_ID": BRAND,
        "X_BEARER_TOKEN": APP_TOKEN,
        "X_API_URL": fake_x.url,
        "X_CLIENT_ID": CLIENT_ID,
        "X_REFRESH_TOKEN": refresh_token,
        **overrides,
    }


@pytest.fixture
def env(slack, database_url, fake_x, first_refresh_token) -> dict[str, str]:  # overrides conftest: X is enabled
    return make_env(slack, database_url, **x_env(fake_x, first_refresh_token))


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> Desk:
    return Desk(app_url, rt, slack, listeners)


def case_from_jane(desk: Desk, fake_x: FakeX) -> int:
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    assert desk.rt.poller is not None and desk.rt.poller.poll_once("x") == 1
    desk.settle()
    with desk.rt.unit() as s:
        return int(s.scalars(select(Case.id)).one())


def reply(desk: Desk, case_id: int, text: str) -> None:
    desk.click("case_reply", case_id, user="U0BOB")
    desk.send_reply(desk.last_view(), text, user="U0BOB")


def bearer(request: Any) -> str:
    return str(request.headers["authorization"].removeprefix("Bearer "))


def stored(rt: Runtime) -> ConnectorCredential:
    with rt.unit() as s:
        row = s.get(ConnectorCredential, "x")
        assert row is not None
        s.expunge(row)
        return row


def check_line(env: dict[str, str]) -> tuple[int, str]:
    lines: list[str] = []
    status = report(platform_settings(env), check=True, out=lines.append)
    return status, next(line for line in lines if line.startswith("X (Twitter)"))


# -- renewing --------------------------------------------------------------------------------------------
def test_the_first_reply_renews_the_user_token_with_the_refresh_token(desk, fake_x, first_refresh_token):
    case_id = case_from_jane(desk, fake_x)
    # reading mentions uses the app's bearer token; reading DMs needs the user-context token, renewed for it
    assert all(bearer(r) == APP_TOKEN for r in fake_x.mention_requests())
    assert bearer(fake_x.dm_event_requests()[0]).startswith("YWNjZXNzLXRva2Vu")
    reply(desk, case_id, TEXT)
    (renewal,) = fake_x.token_requests()  # the reply reuses it
    assert renewal.form == {"grant_type": "refresh_token", "refresh_token": first_refresh_token, "client_id": CLIENT_ID}
    assert "authorization" not in renewal.headers  # a public client: no HTTP Basic
    (post,) = fake_x.post_requests()
    assert bearer(post).startswith("YWNjZXNzLXRva2Vu")  # the access token X just issued
    assert desk.thread_texts()[-1].startswith(":leftwards_arrow_with_hook: <@U0BOB> replied publicly to Jane")
    assert [p.text for p in fake_x.brand_posts()] == [TEXT]


def test_the_access_token_is_reused_until_shortly_before_it_expires(desk, rt, clock, fake_x):
    case_id = case_from_jane(desk, fake_x)
    reply(desk, case_id, "Hi Jane, on it.")
    clock.advance(TWO_HOURS - 5 * 60)  # still valid for five minutes
    reply(desk, case_id, "Hi Jane, still on it.")
    assert len(fake_x.token_requests()) == 1
    first, second = fake_x.post_requests()
    assert bearer(first) == bearer(second)
    clock.advance(4 * 60)  # one minute left: renewed before X would refuse it
    reply(desk, case_id, "Hi Jane, the refund is on its way.")
    first_renewal, second_renewal = fake_x.token_requests()
    assert second_renewal.form["refresh_token"] != first_renewal.form["refresh_token"]  # X rotated it
    assert bearer(fake_x.post_requests()[-1]) != bearer(first)
    assert len(fake_x.post_requests()) == len(fake_x.brand_posts()) == 3  # X never had to refuse a token
    assert desk.thread_texts()[-1].startswith(":leftwards_arrow_with_hook: <@U0BOB> replied publicly")
    assert stored(rt).refresh_token not in {r.form["refresh_token"] for r in fake_x.token_requests()}


def test_a_token_x_refuses_with_401_is_renewed_once_and_the_reply_repeated(desk, clock, fake_x):
    case_id = case_from_jane(desk, fake_x)
    reply(desk, case_id, "Hi Jane, on it.")
    fake_x.revoke_access_tokens()  # X stops taking it before it expires
    reply(desk, case_id, "Hi Jane, still on it.")
    assert len(fake_x.token_requests()) == 2
    assert [p.text for p in fake_x.brand_posts()] == ["Hi Jane, on it.", "Hi Jane, still on it."]
    assert len(fake_x.post_requests()) == 3  # the refused attempt, then the repeat with the new token
    assert desk.thread_texts()[-1].startswith(":leftwards_arrow_with_hook: <@U0BOB> replied publicly")


def test_a_second_401_is_not_renewed_again_and_is_reported(desk, fake_x):
    case_id = case_from_jane(desk, fake_x)
    refused = Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    fake_x.standin.fail("POST", r"/2/tweets", refused, times=2)
    reply(desk, case_id, "Hi Jane, on it.")
    assert len(fake_x.token_requests()) == 2 and len(fake_x.post_requests()) == 2  # renewed once, not in a loop
    note = desk.thread_texts()[-1]
    assert "reply to Jane was *not sent*: X refused our credentials (HTTP 401: Unauthorized)" in note
    assert "dm.write offline.access" in note and desk.case(case_id).draft_text == "Hi Jane, on it."


# -- the rotated refresh token in the database --------------------------------------------------------------
def test_the_rotated_refresh_token_is_used_after_a_restart(desk, rt, settings, clock, fake_x, first_refresh_token):
    case_id = case_from_jane(desk, fake_x)
    reply(desk, case_id, "Hi Jane, on it.")
    rotated = stored(rt).refresh_token
    assert rotated != first_refresh_token
    rt.close()
    restarted = build_runtime(settings, clock=clock)  # X_REFRESH_TOKEN still holds the used-up first token
    try:
        post_id = next(iter(fake_x.posts))
        message = Outbound(platform="x", in_reply_to=post_id, author_id=JANE, text="Hi Jane, still on it.")
        restarted.connectors["x"].send(message)
        assert len(fake_x.token_requests()) == 1  # the stored access token is still good: no renewal
        clock.advance(TWO_HOURS)
        restarted.connectors["x"].send(
            Outbound(platform="x", in_reply_to=post_id, author_id=JANE, text="Hi Jane, the refund is on its way.")
        )
        assert [r.form["refresh_token"] for r in fake_x.token_requests()] == [first_refresh_token, rotated]
        assert len(fake_x.brand_posts()) == 3 and len(fake_x.post_requests()) == 3
        assert stored(restarted).refresh_token not in (first_refresh_token, rotated)
    finally:
        restarted.close()


def test_two_replicas_renewing_at_once_call_the_token_endpoint_once(rt, settings, clock, fake_x):
    post_id = fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    replica = build_runtime(settings, clock=clock)
    results: dict[str, Exception | None] = {}

    def reply_from(name: str, runtime: Runtime, text: str) -> None:
        try:
            runtime.connectors["x"].send(Outbound(platform="x", in_reply_to=post_id, author_id=JANE, text=text))
            results[name] = None
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    gate = fake_x.hold_token_answers()
    first = threading.Thread(target=reply_from, args=("first", rt, "Hi Jane, on it."))
    second = threading.Thread(target=reply_from, args=("second", replica, "Hi Jane, Mo here too."))
    try:
        first.start()
        assert fake_x.token_request_waiting.wait(5)  # the first replica is renewing, holding the row lock
        second.start()
        time.sleep(0.3)  # let the second replica reach the lock (it must wait there, not call X)
        gate.set()
        first.join(10)
        second.join(10)
    finally:
        gate.set()
        replica.close()
    assert results == {"first": None, "second": None}
    (renewal,) = fake_x.token_requests()
    assert sorted(p.text for p in fake_x.brand_posts()) == ["Hi Jane, Mo here too.", "Hi Jane, on it."]
    assert len({bearer(p) for p in fake_x.post_requests()}) == 1  # the loser adopted the winner's token
    assert stored(rt).refresh_token != renewal.form["refresh_token"]


# -- a refresh token X refuses --------------------------------------------------------------------------------
def test_a_refused_refresh_token_is_reported_in_the_thread_and_by_check(desk, env, fake_x):
    case_id = case_from_jane(desk, fake_x)
    fake_x.revoke_refresh_tokens()  # the brand revoked the app, or the token was already used
    desk.rt.clock.advance(TWO_HOURS)  # and the access token the DM read renewed has expired
    reply(desk, case_id, "Hi Jane, on it.")
    note = desk.thread_texts()[-1]
    assert (
        "reply to Jane was *not sent*: X refused the refresh token (invalid_request: Value passed for the "
        f"token was invalid.): {REAUTHORIZE}"
    ) in note
    assert "draft is kept" in note and desk.case(case_id).draft_text == "Hi Jane, on it."
    assert fake_x.post_requests() == []
    status, line = check_line(env)
    assert status == 1 and "check: FAILED, X refused the refresh token (invalid_request: " in line
    assert line.endswith(REAUTHORIZE)


def test_a_new_refresh_token_from_re_authorizing_replaces_the_stored_one(desk, rt, env, clock, fake_x):
    case_id = case_from_jane(desk, fake_x)
    reply(desk, case_id, "Hi Jane, on it.")
    fake_x.revoke_refresh_tokens()
    fake_x.revoke_access_tokens()
    reply(desk, case_id, "Hi Jane, still on it.")
    assert "X refused the refresh token" in desk.thread_texts()[-1]
    rt.close()
    new_token = fake_x.authorize()  # the operator re-authorizes and sets X_REFRESH_TOKEN again
    restarted = build_runtime(load_settings({**env, "X_REFRESH_TOKEN": new_token}), clock=clock)
    try:
        post_id = next(iter(fake_x.posts))
        restarted.connectors["x"].send(
            Outbound(platform="x", in_reply_to=post_id, author_id=JANE, text="Hi Jane, still on it.")
        )
        assert fake_x.token_requests()[-1].form["refresh_token"] == new_token
        assert [p.text for p in fake_x.brand_posts()] == ["Hi Jane, on it.", "Hi Jane, still on it."]
    finally:
        restarted.close()


# -- care-bot connectors --check, and the token endpoint's client authentication --------------------------------
def test_check_renews_the_token_and_says_so(env, fake_x, first_refresh_token):
    status, line = check_line(env)
    assert status == 0 and line.endswith(
        "check: OK, authenticated as @AcmeAir; replies and direct messages use "
        "access tokens renewed with X_REFRESH_TOKEN"
    )
    (renewal,) = fake_x.token_requests()
    assert renewal.form["refresh_token"] == first_refresh_token
    assert bearer(fake_x.standin.requests_to("GET", r"/2/users/me")[0]).startswith("YWNjZXNzLXRva2Vu")


def test_a_confidential_client_authenticates_with_http_basic(fake_x):
    refresh_token = fake_x.oauth_client(CLIENT_ID, "the-client-secret")
    env = x_env(fake_x, refresh_token, X_CLIENT_SECRET="the-client-secret")
    with httpx.Client(timeout=5) as client:
        assert x.build(platform_settings(env), client).check().startswith("authenticated as @AcmeAir")
    (renewal,) = fake_x.token_requests()
    expected = base64.b64encode(f"{CLIENT_ID}:the-client-secret".encode()).decode()
    assert renewal.headers["authorization"] == f"Basic {expected}"
    assert renewal.form["client_id"] == CLIENT_ID


def test_a_renewed_token_the_store_cannot_take_is_kept_and_stored_at_the_next_renewal(
    fake_x, clock, first_refresh_token, caplog
):
    store = MemoryCredentials()
    store.fail_writes = 1  # the database goes away between the refresh and the write
    with httpx.Client(timeout=5) as client:
        connector = x.build(platform_settings(x_env(fake_x, first_refresh_token)), client, store, clock)
        assert connector.check().startswith("authenticated as @AcmeAir")
        assert store.chains == {} and "this process keeps it and stores it at the next renewal" in caplog.text
        clock.advance(TWO_HOURS)
        assert connector.check().startswith("authenticated as @AcmeAir")
    first, second = fake_x.token_requests()
    assert first.form["refresh_token"] == first_refresh_token
    assert second.form["refresh_token"] != first_refresh_token  # the rotated token kept in memory, not the spent one
    configured, newest = store.chains["x"]
    assert configured == first_refresh_token and newest.refresh_token != second.form["refresh_token"]


def test_a_wrong_client_secret_is_named(fake_x):
    refresh_token = fake_x.oauth_client(CLIENT_ID, "the-client-secret")
    status, line = check_line(x_env(fake_x, refresh_token, X_CLIENT_SECRET="an-old-secret"))
    assert (
        status == 1
        and (
            "FAILED, X's token endpoint refused X_CLIENT_ID or X_CLIENT_SECRET (HTTP 401: "
            "unauthorized_client: Missing valid authorization header)"
        )
        in line
    )


def test_without_a_client_id_the_fixed_user_token_still_posts(fake_x):
    env = {"X_USER_ID": BRAND, "X_BEARER_TOKEN": APP_TOKEN, "X_USER_TOKEN": fake_x.user_token, "X_API_URL": fake_x.url}
    status, line = check_line(env)
    assert status == 0 and line.endswith("check: OK, authenticated as @AcmeAir")
    assert fake_x.token_requests() == []


# -- settings ------------------------------------------------------------------------------------------------
def test_the_token_endpoint_defaults_to_the_one_beside_x_api_url():
    settings = platform_settings(
        {"X_API_URL": "https://x-proxy.internal/", "X_CLIENT_ID": CLIENT_ID, "X_REFRESH_TOKEN": "r"}
    ).x
    assert settings.token_url == "https://x-proxy.internal/2/oauth2/token" and settings.refreshes
    assert platform_settings({}).x.token_url == "https://api.x.com/2/oauth2/token"
    assert platform_settings({"X_TOKEN_URL": "http://127.0.0.1:9/token"}).x.token_url == "http://127.0.0.1:9/token"


@pytest.mark.parametrize(
    "env, sentence",
    [
        ({"X_CLIENT_ID": CLIENT_ID}, "X_REFRESH_TOKEN is not set: X_CLIENT_ID needs the refresh token"),
        ({"X_REFRESH_TOKEN": "r"}, "X_CLIENT_ID is not set: renewing X's posting token with X_REFRESH_TOKEN"),
        ({"X_CLIENT_SECRET": "s", "X_REFRESH_TOKEN": "r"}, "X_CLIENT_ID is not set"),
        ({"X_TOKEN_URL": "api.x.com/2/oauth2/token"}, "X_TOKEN_URL must be an http:// or https:// URL"),
    ],
)
def test_incomplete_renewal_settings_are_one_sentence(env, sentence):
    with pytest.raises(ConfigError, match=sentence.replace("(", r"\(")):
        platform_settings(env)


def test_check_with_the_apps_database_does_not_spend_the_apps_refresh_token(desk, rt, env, fake_x, first_refresh_token):
    """`care-bot connectors --check` opens the app's database: it renews with the stored, rotated token."""
    case_id = case_from_jane(desk, fake_x)
    reply(desk, case_id, "Hi Jane, on it.")  # the app has renewed once: X_REFRESH_TOKEN is now used up
    rotated = stored(rt).refresh_token
    lines: list[str] = []
    status = report(
        platform_settings(env),
        check=True,
        out=lines.append,
        credentials=DatabaseCredentials(rt.sessions, SystemClock()),
    )
    line = next(line for line in lines if line.startswith("X (Twitter)"))
    assert status == 0 and "check: OK" in line, line
    # The app's clock is a day behind the wall clock the check runs on, so the stored access token looks
    # expired to the check: it renews with the stored, rotated token, never the spent X_REFRESH_TOKEN.
    assert [r.form["refresh_token"] for r in fake_x.token_requests()] == [first_refresh_token, rotated]
    reply(desk, case_id, "Hi Jane, it's sorted.")  # and the app still posts afterwards
    assert len(fake_x.brand_posts()) == 2
