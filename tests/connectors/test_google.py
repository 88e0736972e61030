"""Google Business Profile reviews, against a fake of Google's API over real HTTP.

Reviews in Google's documented shape become cases in Slack with their stars; Reply and Move to DM reach
`PUT /v4/{review}/reply`; polling resumes after a restart with no duplicate and no gap; the OAuth
refresh flow, rate limits, outages and `care-bot connectors --check` behave as an operator expects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import GoogleSettings, PlatformSettings, platform_settings
from bot.errors import AuthError, ConfigError, PermanentError, RateLimited, TransientError
from bot.models import Case, Mention
from bot.runtime import Runtime, build_runtime
from bot.tools.connectors_check import report
from connectors.base import InboundMention, MentionEdited, Outbound
from connectors.google import ANONYMOUS, RATING_ONLY, GoogleConnector, review_changes
from tests.fakes.google import LOCATION, FakeGoogle, fixture
from tests.fakes.platform_standin import PlatformStandIn, Reply
from tests.support.env import CHANNEL, make_env
from tests.support.slack_requests import block_action, post_interaction, text_value, view_payload

JANE = "accounts/111/locations/222/reviews/AbFvOqlONEstarJaneD"
MARCO = "accounts/111/locations/222/reviews/AbFvOqlFIVEstarMarco"
REVIEWS = r"/v4/accounts/111/locations/222/reviews"
REPLY = rf"/v4/{JANE}/reply"
# Google has no private messages: Move to DM starts from the playbook's "move offline" saved reply, not "I've sent
# you a DM"
MOVE_TO_DM = (
    "Hi Jane,\nI'd like to sort this out with you properly. Please get in touch by phone or through our website "
    "(both are listed on our Google profile) with your booking reference, and you'll hear back from me within the "
    "hour.\n– Bob"
)


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def standin() -> Iterator[PlatformStandIn]:
    with PlatformStandIn() as server:
        yield server


@pytest.fixture
def google(standin: PlatformStandIn) -> FakeGoogle:
    return FakeGoogle(standin)


@pytest.fixture
def gclock() -> ManualClock:
    return ManualClock(datetime(2026, 8, 5, 9, 0, tzinfo=UTC))


def google_settings(google: FakeGoogle, **env: str) -> GoogleSettings:
    return platform_settings(google.env(**env)).google


@pytest.fixture
def connector(google: FakeGoogle, http: httpx.Client, gclock: ManualClock) -> GoogleConnector:
    return GoogleConnector(google_settings(google), http, clock=gclock)


@pytest.fixture
def env(slack: Any, database_url: str, google: FakeGoogle) -> dict[str, str]:
    """The served app with the Google connector pointed at the fake (overrides conftest's `env`)."""
    return make_env(slack, database_url, **google.env())


class Desk:
    """Drives the served app as Slack and a staff member would; polls Google as the poller does."""

    def __init__(self, app_url: str, rt: Runtime, slack: Any, listeners: Any, clock: ManualClock) -> None:
        self.url, self.rt, self.slack, self.listeners, self.clock = app_url, rt, slack, listeners, clock

    def settle(self) -> None:
        self.listeners.wait_idle()
        self.rt.deliverer.drain()

    def poll(self) -> int | None:
        """One poll, due or not: the clock moves on by the configured interval first."""
        self.clock.advance(300)
        assert self.rt.poller is not None
        stored = self.rt.poller.poll_once("google")
        self.settle()
        return stored

    def click(self, action: str, case_id: int, user: str = "U0ALICE") -> None:
        assert post_interaction(self.url, block_action(action, str(case_id), user=user)).status_code == 200
        self.settle()

    def reply(self, case_id: int, text: str, user: str = "U0ALICE") -> None:
        """Reply with `text`, sent anyway when the reply coach has advice on it."""
        self.click("case_reply", case_id, user)
        view = self.slack.state.views[-1]["view"]
        values = text_value("reply", "text", text)
        answer = post_interaction(self.url, view_payload("view_submission", view, values, user=user))
        if answer.content and answer.json().get("response_action") == "update":
            view = answer.json()["view"]
            answer = post_interaction(self.url, view_payload("view_submission", view, values, user=user))
        assert answer.status_code == 200 and not answer.content, answer.text
        self.settle()

    def move_to_dm(self, case_id: int, user: str = "U0ALICE") -> None:
        """Move to DM, confirmed as the modal proposes it."""
        self.click("case_move_to_dm", case_id, user)
        view = self.slack.state.views[-1]["view"]
        assert view["callback_id"] == "move_to_dm_modal"
        values = {
            b["block_id"]: {
                b["element"]["action_id"]: {"type": "plain_text_input", "value": b["element"]["initial_value"]}
            }
            for b in view["blocks"]
            if b["type"] == "input"
        }
        answer = post_interaction(self.url, view_payload("view_submission", view, values, user=user))
        assert answer.status_code == 200 and not answer.content, answer.text
        self.settle()

    def parents(self) -> list[Any]:
        return self.slack.channel(CHANNEL)

    def parent_text(self, index: int = 0) -> str:
        return json.dumps(self.parents()[index].blocks, ensure_ascii=False)

    def thread_texts(self, index: int = 0) -> list[str]:
        return [m.text for m in self.slack.thread(CHANNEL, self.parents()[index].ts)]

    def case_id(self, external_id: str) -> int:
        with self.rt.sessions() as s:
            return int(s.scalars(select(Mention.case_id).where(Mention.external_id == external_id)).one())

    def case(self, case_id: int) -> Case:
        with self.rt.sessions() as s:
            case = s.get(Case, case_id)
            assert case is not None
            return case


@pytest.fixture
def desk(app_url: str, rt: Runtime, slack: Any, listeners: Any, clock: ManualClock, google: FakeGoogle) -> Desk:
    desk = Desk(app_url, rt, slack, listeners, clock)
    assert rt.poller is not None and rt.poller.poll_once("google") == 0  # connected before any review
    return desk


# -- a review becomes a case ----------------------------------------------------------------------
def test_a_documented_review_becomes_a_mention_with_its_stars_and_location() -> None:
    [mention] = review_changes(fixture("review_one_star"), LOCATION)
    assert isinstance(mention, InboundMention)
    assert mention.platform == "google" and mention.external_id == JANE
    assert (mention.author.id, mention.author.handle, mention.author.name) == (JANE, "Jane D.", "Jane D.")
    assert mention.author.first_name == "Jane"
    assert mention.text.startswith("Thank you to the kind lady at the front desk")
    assert mention.posted_at == datetime(2026, 8, 1, 10, 15, 30, tzinfo=UTC)
    assert dict(mention.extra) == {"stars": 1, "location": LOCATION}


def test_rating_only_anonymous_and_unrated_reviews_read_sensibly() -> None:
    [rating_only] = review_changes(fixture("review_rating_only"), LOCATION)
    assert isinstance(rating_only, InboundMention)
    assert rating_only.text == RATING_ONLY and rating_only.extra["stars"] == 2
    assert rating_only.posted_at == datetime(2026, 8, 2, 8, 0, 0, 45123, tzinfo=UTC)  # nanoseconds cut to µs

    [anonymous] = review_changes(fixture("review_anonymous"), LOCATION)
    assert isinstance(anonymous, InboundMention)
    assert anonymous.author.handle == ANONYMOUS and anonymous.author.name is None  # never "Hi A," from "A Google User"
    assert anonymous.author.id == anonymous.external_id  # one review per reviewer and location: a stable id

    unrated = {**fixture("review_five_star"), "starRating": "STAR_RATING_UNSPECIFIED"}
    assert "stars" not in review_changes(unrated, LOCATION)[0].extra


def test_an_answered_review_is_not_a_new_mention_and_the_reply_is_never_ingested() -> None:
    changes = review_changes(fixture("review_answered"), LOCATION)
    assert [type(c) for c in changes] == [MentionEdited]  # only updates a review we may already hold
    assert "sorry about the soup" not in changes[0].text


def test_review_appears_in_slack_with_stars_and_a_polite_one_star_is_high_priority(
    desk: Desk, google: FakeGoogle
) -> None:
    google.add("review_one_star")
    google.add("review_five_star")
    assert desk.poll() == 2
    jane, marco = desk.parent_text(0), desk.parent_text(1)
    assert ":star: Google review" in jane and "Jane D." in jane and "★☆☆☆☆" in jane
    assert "Thank you to the kind lady at the front desk" in jane
    assert ":large_orange_circle: High" in jane  # polite words, but one star: a complaint
    assert "★★★★★" in marco and "Wonderful dinner" in marco
    assert "High" not in marco and ":large_green_circle: Low" in marco


def test_a_rating_without_text_gets_a_placeholder_in_slack(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_rating_only")
    assert desk.poll() == 1
    text = desk.parent_text()
    assert "(rating only, no text)" in text and "★★☆☆☆" in text and ":large_orange_circle: High" in text


def test_answered_reviews_never_open_cases(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_answered")
    assert desk.poll() == 0
    assert desk.parents() == []


# -- first poll, paging and the cursor ------------------------------------------------------------
def test_first_poll_brings_in_the_newest_unanswered_reviews_whatever_their_age(
    connector: GoogleConnector, google: FakeGoogle
) -> None:
    """What still waits for an answer shows up when the connector is turned on; history beyond that does not."""
    for n in range(22):
        google.add("review_five_star", review_id=f"Ancient{n:02d}", at=f"2025-01-{n + 1:02d}T08:00:00Z")
    google.add("review_five_star", review_id="Old", at="2026-07-01T08:00:00Z")  # months before connecting
    google.add("review_one_star")
    google.add("review_answered")
    result = connector.poll(None)
    taken = [c.external_id for c in result.changes if isinstance(c, InboundMention)]
    assert len(taken) == 20 and taken[-2:] == [f"{LOCATION}/reviews/Old", JANE]
    assert f"{LOCATION}/reviews/Ancient00" not in taken and "answered" not in " ".join(taken).lower()
    again = connector.poll(result.cursor)
    assert again.changes == [] and again.cursor == result.cursor


def test_poll_pages_through_everything_new_oldest_first_and_stops_at_the_cursor(
    connector: GoogleConnector, google: FakeGoogle
) -> None:
    anchored = connector.poll(None).cursor  # no reviews yet
    for n in range(120):
        google.add("review_five_star", review_id=f"R{n:03d}", at=f"2026-08-03T{n // 60:02d}:{n % 60:02d}:00Z")
    result = connector.poll(anchored)
    assert [c.external_id.rsplit("/", 1)[1] for c in result.changes] == [f"R{n:03d}" for n in range(120)]
    assert len(google.list_requests()) == 1 + 3  # 50 + 50 + 20
    assert all(r.query["pageSize"] == "50" and r.query["orderBy"] == "updateTime desc" for r in google.list_requests())

    google.add("review_one_star", at="2026-08-04T00:00:00Z")
    newer = connector.poll(result.cursor)
    assert [c.external_id for c in newer.changes] == [JANE]
    assert len(google.list_requests()) == 4 + 1  # one page: it reached the cursor at once


def test_reviews_sharing_the_cursors_instant_are_neither_missed_nor_repeated(
    connector: GoogleConnector, google: FakeGoogle
) -> None:
    anchored = connector.poll(None).cursor
    google.add("review_five_star", review_id="A", at="2026-08-03T10:00:00.000000001Z")
    google.add("review_five_star", review_id="C", at="2026-08-03T10:00:00Z")  # a nanosecond earlier
    first = connector.poll(anchored)
    assert [c.external_id.rsplit("/", 1)[1] for c in first.changes] == ["C", "A"]
    google.add("review_five_star", review_id="B", at="2026-08-03T10:00:00.000000001Z")  # same instant as A, later
    second = connector.poll(first.cursor)
    assert [c.external_id.rsplit("/", 1)[1] for c in second.changes] == ["B"]
    assert connector.poll(second.cursor).changes == []


def test_edits_carry_the_new_text_and_stars(connector: GoogleConnector, google: FakeGoogle) -> None:
    cursor = connector.poll(None).cursor
    google.add("review_five_star")
    cursor = connector.poll(cursor).cursor
    google.edit(MARCO, at="2026-08-04T09:00:00Z", comment="Changed my mind: the bill was wrong.", stars=2)
    changes = connector.poll(cursor).changes
    assert [type(c) for c in changes] == [InboundMention, MentionEdited]  # the core knows whether it holds it
    edit = changes[1]
    assert isinstance(edit, MentionEdited)
    assert edit.text == "Changed my mind: the bill was wrong." and edit.extra["stars"] == 2
    assert edit.edited_at == datetime(2026, 8, 4, 9, 0, tzinfo=UTC)


def test_one_unreachable_location_does_not_stop_the_others(
    google: FakeGoogle, http: httpx.Client, gclock: ManualClock
) -> None:
    lost = "accounts/111/locations/999"
    connector = GoogleConnector(google_settings(google, GOOGLE_LOCATIONS=f"{lost},{LOCATION}"), http, clock=gclock)
    google.add("review_one_star")
    result = connector.poll(None)
    assert [c.external_id for c in result.changes] == [JANE]
    assert lost not in json.loads(result.cursor or "{}")["locations"]  # tried afresh next time
    alone = GoogleConnector(google_settings(google, GOOGLE_LOCATIONS=lost), http, clock=gclock)
    with pytest.raises(PermanentError, match="Requested entity was not found"):
        alone.poll(None)


def test_polling_resumes_after_a_restart_with_no_duplicate_and_no_gap(
    settings: Any, slack: Any, google: FakeGoogle, clock: ManualClock
) -> None:
    def runtime() -> Runtime:
        return build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))

    first = runtime()
    assert first.poller is not None and first.poller.poll_once("google") == 0
    google.add("review_one_star", at="2026-11-23T09:01:00Z")
    google.add("review_five_star", at="2026-11-23T09:02:00Z")
    clock.advance(300)
    assert first.poller.poll_once("google") == 2
    first.deliverer.drain()
    first.close()

    # While the bot is down: one review at the very instant of the newest it saw, one later.
    google.add("review_rating_only", at="2026-11-23T09:02:00Z")
    google.add("review_anonymous", at="2026-11-23T09:30:00Z")
    second = runtime()
    try:
        assert second.poller is not None
        clock.advance(300)
        requests_before = len(google.list_requests())
        assert second.poller.poll_once("google") == 2
        assert len(google.list_requests()) == requests_before + 1
        clock.advance(300)
        assert second.poller.poll_once("google") == 0
        second.deliverer.drain()
    finally:
        second.close()
    texts = [m.text for m in slack.channel(CHANNEL)]
    assert len(texts) == 4 and len(set(texts)) == 4
    assert any("Jane D." in t for t in texts) and any("Google user" in t for t in texts)


def test_polls_no_more_often_than_google_poll_seconds(rt: Runtime, clock: ManualClock, google: FakeGoogle) -> None:
    assert rt.poller is not None
    assert rt.poller.poll_once("google") == 0
    assert rt.poller.poll_once("google") is None
    clock.advance(299)
    assert rt.poller.poll_once("google") is None
    clock.advance(1)
    assert rt.poller.poll_once("google") == 0
    assert len(google.list_requests()) == 2


# -- edits in Slack -------------------------------------------------------------------------------
def test_an_edited_review_is_noted_in_the_thread(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_one_star")
    desk.poll()
    google.edit(JANE, at="2026-08-06T10:00:00Z", comment="Update: nobody called me back.")
    assert desk.poll() == 1
    note = desk.thread_texts()[-1]
    assert "edited their post" in note and "nobody called me back" in note and "waited 40 minutes" in note
    assert "(edited)" in desk.parent_text()


def test_a_lowered_rating_updates_the_stars_and_makes_it_a_complaint(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_five_star")
    desk.poll()
    assert ":large_green_circle: Low" in desk.parent_text()
    google.edit(MARCO, at="2026-08-06T10:00:00Z", stars=1)
    assert desk.poll() == 1
    parent = desk.parent_text()
    assert "★☆☆☆☆" in parent and ":large_orange_circle: High" in parent
    assert desk.thread_texts()[-1].startswith(":pencil2: *Marco* changed their rating: ★★★★★ → ★☆☆☆☆")
    with desk.rt.sessions() as s:
        assert s.scalars(select(Mention.extra)).one()["stars"] == 1


# -- replies --------------------------------------------------------------------------------------
def test_reply_puts_the_text_on_the_review_and_our_reply_never_comes_back(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_one_star")
    desk.poll()
    case_id = desk.case_id(JANE)
    text = "Hi Jane, I'm so sorry about the wait. Could you tell us the date of your booking? – Alice"
    desk.reply(case_id, text)
    [put] = google.replies()
    assert put.path == f"/v4/{JANE}/reply" and put.json == {"comment": text}
    assert put.headers["authorization"].startswith("Bearer ya29.")
    assert desk.thread_texts()[-1] == f":leftwards_arrow_with_hook: <@U0ALICE> replied publicly to Jane:\n> {text}"
    assert google.reviews[JANE]["reviewReply"]["comment"] == text

    # Our reply makes Google report the review as updated: nothing new reaches Slack.
    notes = len(desk.thread_texts())
    assert desk.poll() == 0
    assert len(desk.parents()) == 1 and len(desk.thread_texts()) == notes


def test_replying_again_replaces_the_earlier_reply_and_the_thread_says_so(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_one_star")
    desk.poll()
    case_id = desk.case_id(JANE)
    desk.reply(case_id, "Hi Jane, sorry about the wait.")
    desk.reply(case_id, "Hi Jane, we have refunded your deposit.")
    assert [p.json["comment"] for p in google.replies()] == [
        "Hi Jane, sorry about the wait.",
        "Hi Jane, we have refunded your deposit.",
    ]
    first, second = desk.thread_texts()[-2:]
    assert "replaced" not in first
    assert second.endswith(
        "_Google keeps one reply per review, so this replaced the earlier public reply: "
        "“Hi Jane, sorry about the wait.”_"
    )


def test_move_to_dm_posts_one_public_reply_that_reads_well(desk: Desk, google: FakeGoogle) -> None:
    google.add("review_one_star")
    desk.poll()
    desk.move_to_dm(desk.case_id(JANE), user="U0BOB")
    [put] = google.replies()
    assert put.path == f"/v4/{JANE}/reply" and put.json == {"comment": MOVE_TO_DM}
    note = desk.thread_texts()[-1]
    assert note.startswith(":lock: <@U0BOB> moved the conversation offline. Sent publicly:\n> Hi Jane,\n> I'd like")
    assert "_Google has no private messages, so only this public reply was posted._" in note
    assert ":lock: moved to DM" in desk.parent_text()


def test_move_to_dm_uses_the_teams_own_contact_route(google: FakeGoogle, http: httpx.Client) -> None:
    connector = GoogleConnector(google_settings(google), http)
    assert connector.contact_route("by email at care@acme.example") == "by email at care@acme.example"
    assert not connector.can_message_privately("google")
    with pytest.raises(PermanentError, match="no private messages"):
        connector.send(Outbound(platform="google", in_reply_to=JANE, author_id=JANE, text="hi", visibility="private"))


def test_a_refused_reply_is_reported_in_the_thread_and_the_draft_kept(
    desk: Desk, google: FakeGoogle, standin: PlatformStandIn
) -> None:
    google.add("review_one_star")
    desk.poll()
    case_id = desk.case_id(JANE)
    standin.fail("PUT", REPLY, Reply(400, fixture("error_invalid_argument")))
    desk.reply(case_id, "Hi Jane, so sorry.")
    note = desk.thread_texts()[-1]
    assert "was *not sent*" in note and "Request contains an invalid argument" in note and "draft is kept" in note
    assert desk.case(case_id).draft_text == "Hi Jane, so sorry."
    assert "reviewReply" not in google.reviews[JANE]


def test_a_reply_waits_out_googles_rate_limit_and_retries_an_outage(
    desk: Desk, google: FakeGoogle, standin: PlatformStandIn, clock: ManualClock
) -> None:
    google.add("review_one_star")
    desk.poll()
    case_id = desk.case_id(JANE)
    standin.fail("PUT", REPLY, Reply(429, fixture("error_resource_exhausted"), {"retry-after": "30"}))
    desk.reply(case_id, "Hi Jane, on it.")
    assert "reviewReply" not in google.reviews[JANE]
    clock.advance(29)
    desk.settle()
    assert "reviewReply" not in google.reviews[JANE]
    standin.fail(
        "GET",
        rf"/v4/{JANE}",
        Reply(
            503, {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}
        ),
    )
    clock.advance(1)
    desk.settle()  # Google answers 503: retried in 4 s
    assert "reviewReply" not in google.reviews[JANE]
    clock.advance(4)
    desk.settle()
    assert google.reviews[JANE]["reviewReply"]["comment"] == "Hi Jane, on it."
    assert "replied publicly" in desk.thread_texts()[-1]


def test_reply_limit_is_4096_bytes(connector: GoogleConnector) -> None:
    rule = connector.length_rule("google")
    assert rule.limit == 4096 and rule.problem("a" * 4096) is None
    problem = rule.problem("é" * 2049)
    assert problem is not None and "4098 bytes" in problem and "4096" in problem


# -- HTTP: tokens, rate limits, outages -----------------------------------------------------------
def test_access_token_is_refreshed_cached_and_renewed_before_it_expires(
    connector: GoogleConnector, google: FakeGoogle, gclock: ManualClock
) -> None:
    cursor = connector.poll(None).cursor
    connector.poll(cursor)
    [token] = google.token_requests()
    assert token.form == {
        "grant_type": "refresh_token",
        "refresh_token": "1//0fake-refresh-token",
        "client_id": "1234567890-care.apps.googleusercontent.com",
        "client_secret": "GOCSPX-fake-client-secret",
    }
    gclock.advance(3599 - 61)
    connector.poll(cursor)
    assert len(google.token_requests()) == 1
    gclock.advance(2)  # within a minute of expiry: renewed first
    connector.poll(cursor)
    assert len(google.token_requests()) == 2
    assert [r.headers["authorization"] for r in google.list_requests()][-2:] == [
        "Bearer ya29.fake-access-1",
        "Bearer ya29.fake-access-2",
    ]


def test_a_revoked_access_token_is_renewed_once_on_401(connector: GoogleConnector, google: FakeGoogle) -> None:
    cursor = connector.poll(None).cursor
    google.valid_tokens.clear()
    assert connector.poll(cursor).changes == []
    assert len(google.token_requests()) == 2
    google.valid_tokens.clear()
    google.standin.fail("POST", "/token", Reply(200, {**fixture("token"), "access_token": "ya29.also-bad"}))
    with pytest.raises(AuthError, match="UNAUTHENTICATED|invalid authentication credentials"):
        connector.poll(cursor)  # renewed once, refused again: no loop
    assert len(google.token_requests()) == 3


def test_a_revoked_refresh_token_says_invalid_grant(google: FakeGoogle, http: httpx.Client) -> None:
    connector = GoogleConnector(google_settings(google, GOOGLE_REFRESH_TOKEN="1//0revoked"), http)
    with pytest.raises(AuthError) as raised:
        connector.poll(None)
    assert "invalid_grant: Token has been expired or revoked." in str(raised.value)
    assert "GOOGLE_REFRESH_TOKEN" in str(raised.value) and "1//0revoked" not in str(raised.value)
    assert len(google.token_requests()) == 1 and google.list_requests() == []


def test_a_fixed_access_token_is_used_as_is(google: FakeGoogle, http: httpx.Client) -> None:
    settings = platform_settings(
        {"GOOGLE_API_URL": google.standin.url, "GOOGLE_LOCATIONS": LOCATION, "GOOGLE_ACCESS_TOKEN": "ya29.fixed"}
    )
    assert settings.google.missing() == ()
    connector = GoogleConnector(settings.google, http)
    google.valid_tokens.add("ya29.fixed")
    cursor = connector.poll(None).cursor
    google.valid_tokens.clear()
    with pytest.raises(AuthError, match="HTTP 401"):
        connector.poll(cursor)
    assert google.token_requests() == []
    assert {r.headers["authorization"] for r in google.list_requests()} == {"Bearer ya29.fixed"}


def test_rate_limits_use_retry_after_or_a_minute(connector: GoogleConnector, standin: PlatformStandIn) -> None:
    standin.fail("GET", REVIEWS, Reply(429, fixture("error_resource_exhausted"), {"retry-after": "30"}))
    with pytest.raises(RateLimited) as raised:
        connector.poll(None)
    assert raised.value.retry_after == 30 and "Quota exceeded" in str(raised.value)
    standin.fail("GET", REVIEWS, Reply(429, fixture("error_resource_exhausted")))
    with pytest.raises(RateLimited) as raised:
        connector.poll(None)
    assert raised.value.retry_after == 60  # Google's quotas are per minute


def test_outages_are_transient_and_keep_the_cursor(
    desk: Desk, google: FakeGoogle, standin: PlatformStandIn, clock: ManualClock
) -> None:
    google.add("review_one_star")
    standin.fail(
        "GET",
        REVIEWS,
        Reply(
            503, {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}
        ),
    )
    assert desk.poll() is None
    assert desk.parents() == []
    assert desk.poll() == 1 and len(desk.parents()) == 1  # retried after the backoff; the cursor had not moved


def test_connection_failure_is_transient(google: FakeGoogle, http: httpx.Client) -> None:
    connector = GoogleConnector(google_settings(google, GOOGLE_API_URL="http://127.0.0.1:9"), http)
    with pytest.raises(TransientError, match="could not be reached"):
        connector.poll(None)


# -- care-bot connectors --check ------------------------------------------------------------------
def check_lines(platforms: PlatformSettings) -> tuple[int, str]:
    lines: list[str] = []
    status = report(platforms, check=True, out=lines.append)
    return status, next(line for line in lines if line.startswith("Google"))


def test_check_reports_review_count_and_average_when_it_works(google: FakeGoogle) -> None:
    google.add("review_one_star")
    google.add("review_five_star")
    status, line = check_lines(platform_settings(google.env()))
    assert status == 0
    assert "enabled   (polls every 300s)" in line
    assert line.endswith("check: OK, accounts/111/locations/222: 2 reviews, average 3.0 stars")
    assert [r.query for r in google.list_requests()] == [{"pageSize": "1"}]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"GOOGLE_REFRESH_TOKEN": "1//0revoked"}, "invalid_grant: Token has been expired or revoked."),
        ({"GOOGLE_CLIENT_SECRET": "wrong"}, "invalid_client: The OAuth client was not found."),
        ({"GOOGLE_LOCATIONS": "accounts/111/locations/999"}, "HTTP 404: Requested entity was not found."),
    ],
)
def test_check_tells_a_misconfigured_connector_from_a_working_one(
    google: FakeGoogle, env: dict[str, str], error: str
) -> None:
    status, line = check_lines(platform_settings(google.env(**env)))
    assert status == 1 and "check: FAILED" in line and error in line


def test_check_quotes_googles_own_refusal(google: FakeGoogle, standin: PlatformStandIn) -> None:
    standin.fail("GET", REVIEWS, Reply(403, fixture("error_permission_denied")), times=2)
    status, line = check_lines(platform_settings(google.env()))
    assert status == 1 and "HTTP 403: The caller does not have permission" in line


def test_without_settings_the_connector_is_off_and_says_what_is_missing() -> None:
    lines: list[str] = []
    report(platform_settings({"GOOGLE_LOCATIONS": LOCATION}), check=False, out=lines.append)
    line = next(line for line in lines if line.startswith("Google"))
    assert "disabled" in line and "GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN" in line


def test_a_location_that_is_not_a_v4_name_is_a_configuration_error() -> None:
    with pytest.raises(
        ConfigError, match="GOOGLE_LOCATIONS must be .* like accounts/123/locations/456, got 'locations/222'"
    ):
        platform_settings({"GOOGLE_LOCATIONS": f"{LOCATION}, locations/222"})


def test_an_unreadable_cursor_starts_afresh_like_a_first_poll(connector: GoogleConnector, google: FakeGoogle) -> None:
    google.add("review_one_star")
    assert [c.external_id for c in connector.poll("not json").changes] == [JANE]
    assert [c.external_id for c in connector.poll('{"v": 1}').changes] == [JANE]


def test_googles_documented_list_response_is_read_page_by_page(
    connector: GoogleConnector, standin: PlatformStandIn
) -> None:
    standin.fail("GET", REVIEWS, Reply(200, fixture("list_reviews")))
    standin.fail("GET", REVIEWS, Reply(200, {"averageRating": 4.1, "totalReviewCount": 312}))  # no more reviews
    [mention] = connector.poll(None).changes
    assert isinstance(mention, InboundMention)
    assert mention.external_id == JANE and mention.text == "Rude staff, waited 40 minutes."
    first, second = standin.requests_to("GET", REVIEWS)
    assert "pageToken" not in first.query and second.query["pageToken"] == "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA"
