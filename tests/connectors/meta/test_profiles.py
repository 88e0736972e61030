"""Who wrote a private message: Meta's User Profile APIs, asked once after a Messenger or Instagram DM opens a case.

A DM names its sender only by a Page- or Instagram-scoped id. The webhook request only stores and enqueues; the
outbox's platform lane asks Meta (`GET /{PSID}?fields=first_name,last_name`, `GET /{IGSID}?fields=name,username`,
the Page token in the Authorization header) and the case message is re-rendered with the name, which the Reply
modal greets. A refusal leaves the id shown, with one warning saying what Meta said and which permission is
needed; nothing asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import db
from bot.errors import PermanentError, RateLimited, TransientError
from bot.models import Case, OutboxItem
from bot.services import ingest, intake
from connectors.base import Author, InboundMention, ProfileConnector
from connectors.meta import FacebookConnector, InstagramConnector
from tests.fakes import fixture_bytes
from tests.fakes.meta import PAGE_ID, PAGE_TOKEN, deliver, fixture, graph_error, usage_header
from tests.fakes.platform_standin import Reply
from tests.support.blocks import all_text

PSID, IGSID = "2411998877665544", "6543210987654321"
LANE_LOG = "bot.outbox.platform_lane"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def lookups(desk: Any) -> list[tuple[str, str, dict[str, Any]]]:
    with desk.rt.sessions() as s:
        return [(i.state, i.lane, i.payload) for i in s.scalars(select(OutboxItem).where(OutboxItem.kind == "profile"))]


def greeting(desk: Any, case_id: int) -> str:
    desk.click("case_reply", case_id)
    view = desk.last_view()
    return str(next(b for b in view["blocks"] if b.get("block_id") == "reply")["element"]["initial_value"])


def dm_case(desk: Any, platform: str = "facebook") -> int:
    desk.deliver(platform, fixture_bytes(platform, "message"))
    with desk.rt.sessions() as s:
        return s.scalars(select(Case.id)).one()


def dm_case_after_comment(desk: Any) -> int:
    desk.deliver("facebook", fixture_bytes("facebook", "message"))
    with desk.rt.sessions() as s:
        return s.scalars(select(Case.id).where(Case.author_id == PSID)).one()


# -- the desk: the name shows once Meta gives it ------------------------------------------------------------
def test_a_messenger_sender_is_shown_and_greeted_by_the_name_meta_gives(desk, graph) -> None:
    graph.person(PSID, first_name="Jane", last_name="Doe")
    case_id = dm_case(desk)
    shown = all_text(desk.parent.blocks)
    assert "*Jane Doe* (@2411998877665544)" in shown and ":lock: *Private message*" in shown
    assert greeting(desk, case_id).startswith("Hi Jane,")
    [lookup] = graph.profile_lookups(PSID)
    assert lookup.query == {"fields": "first_name,last_name"}
    assert lookup.headers["authorization"] == f"Bearer {PAGE_TOKEN}" and "access_token" not in lookup.query
    assert lookups(desk) == [("done", "platform", {"platform": "facebook", "author_id": PSID})]


def test_an_instagram_sender_is_shown_by_name_and_username(desk, graph) -> None:
    graph.person(IGSID, name="Jane Doe", username="jane.doe")
    case_id = dm_case(desk, "instagram")
    assert "*Jane Doe* (@jane.doe)" in all_text(desk.parent.blocks)
    assert greeting(desk, case_id).startswith("Hi Jane,")
    [lookup] = graph.profile_lookups(IGSID)
    assert lookup.query == {"fields": "name,username"}
    case = desk.case(case_id)
    assert (case.author_id, case.author_handle, case.author_name) == (IGSID, "jane.doe", "Jane Doe")


def test_an_instagram_sender_without_a_name_is_shown_by_username(desk, graph) -> None:
    graph.person(IGSID, username="jane.doe")
    case_id = dm_case(desk, "instagram")
    assert "*@jane.doe*" in all_text(desk.parent.blocks)
    assert greeting(desk, case_id).startswith("Hi jane.doe,")


def test_the_name_reaches_a_case_message_already_posted(desk, graph) -> None:
    graph.person(PSID, first_name="Jane", last_name="Doe")
    response = deliver(desk.url, "facebook", fixture_bytes("facebook", "message"))
    assert response.status_code == 200
    desk.rt.deliverer.drain("slack")  # the case message goes out before the lookup is made
    assert "*@2411998877665544*" in all_text(desk.parent.blocks)
    desk.settle()
    assert "*Jane Doe* (@2411998877665544)" in all_text(desk.parent.blocks)
    assert len(desk.slack.channel("C0CARE")) == 1  # updated in place, not posted again


def test_meta_refusing_leaves_the_id_with_one_warning_and_no_retry(desk, graph, clock, caplog) -> None:
    graph.refuse_profiles()
    with caplog.at_level(logging.INFO, logger=LANE_LOG):
        case_id = dm_case(desk)
        clock.advance(hours=1)
        desk.settle()
    assert "*@2411998877665544*" in all_text(desk.parent.blocks)
    assert greeting(desk, case_id).startswith("Hi there,")
    assert len(graph.profile_lookups(PSID)) == 1
    [warning] = [r for r in caplog.records if r.name == LANE_LOG and r.levelno >= logging.WARNING]
    said = warning.getMessage()
    assert "(#230) Requires pages_messaging permission to manage the object" in said
    assert "a Page token with pages_messaging" in said and PAGE_TOKEN not in said
    assert warning.exc_info is None  # a sentence, not a traceback
    assert [state for state, _, _ in lookups(desk)] == ["failed"]


def test_an_outage_is_retried_a_few_times_then_given_up_quietly(desk, graph, clock, caplog) -> None:
    graph.fail(PSID, Reply(503, "Service Unavailable"), times=10, method="GET")
    with caplog.at_level(logging.INFO, logger=LANE_LOG):
        dm_case(desk)
        for _ in range(5):
            clock.advance(5)
            desk.settle()
    assert len(graph.profile_lookups(PSID)) == 3  # PLATFORM_ATTEMPTS
    assert [state for state, _, _ in lookups(desk)] == ["failed"]
    assert not [r for r in caplog.records if r.name == LANE_LOG and r.levelno >= logging.WARNING]
    assert any("gave up looking up the name" in r.getMessage() for r in caplog.records if r.name == LANE_LOG)
    assert "*@2411998877665544*" in all_text(desk.parent.blocks)


def test_meta_throttling_the_lookup_gives_it_up_at_once_so_a_reply_never_waits_behind_it(desk, graph) -> None:
    """A case's platform items go in order: a lookup waiting out Meta's throttle would hold up the staff's reply."""
    throttled = graph_error("page_throttled", headers=usage_header(2))
    graph.fail(PSID, throttled, times=5, method="GET")
    case_id = dm_case(desk)
    assert len(graph.profile_lookups(PSID)) == 1 and [state for state, _, _ in lookups(desk)] == ["failed"]
    assert greeting(desk, case_id).startswith("Hi there,")
    text = "Hi there, it's Alice: order 5521 leaves our depot today, and I'll message you by 5pm. – Alice"
    assert desk.send_reply(desk.last_view(), text) == {}
    assert [m["message"]["text"] for m in graph.messages_sent(PAGE_ID)] == [text]  # sent at once


def test_a_brief_outage_is_retried_and_the_name_then_shown(desk, graph, clock) -> None:
    graph.person(PSID, first_name="Jane", last_name="Doe")
    graph.fail(PSID, Reply(503, "Service Unavailable"), method="GET")
    dm_case(desk)
    assert "*@2411998877665544*" in all_text(desk.parent.blocks)
    clock.advance(2)
    desk.settle()
    assert len(graph.profile_lookups(PSID)) == 2
    assert "*Jane Doe* (@2411998877665544)" in all_text(desk.parent.blocks)


def test_a_repeated_delivery_asks_once(desk, graph) -> None:
    graph.person(PSID, first_name="Jane", last_name="Doe")
    body = fixture_bytes("facebook", "message")
    desk.deliver("facebook", body)
    desk.deliver("facebook", body)  # Meta delivers again when it thinks we did not answer
    assert len(lookups(desk)) == 1 and len(graph.profile_lookups(PSID)) == 1


def test_the_lookup_is_never_made_inside_the_webhook_request(desk, graph) -> None:
    graph.person(PSID, first_name="Jane", last_name="Doe")
    response = deliver(desk.url, "facebook", fixture_bytes("facebook", "message"))
    assert response.status_code == 200
    assert graph.profile_lookups(PSID) == []  # answered before anything asked Meta
    assert lookups(desk) == [("pending", "platform", {"platform": "facebook", "author_id": PSID})]
    desk.settle()
    assert len(graph.profile_lookups(PSID)) == 1


def test_only_a_dm_that_opens_a_case_asks(desk, graph) -> None:
    desk.comment("facebook")  # a comment names its author: nothing to ask
    assert lookups(desk) == [] and graph.profile_lookups(PSID) == []
    graph.person(PSID, first_name="Jane", last_name="Doe")
    dm_case_id = dm_case_after_comment(desk)
    desk.deliver("facebook", fixture_bytes("facebook", "message_attachment"))  # joins the DM's case: no new lookup
    assert len(lookups(desk)) == 1 and len(graph.profile_lookups(PSID)) == 1
    assert desk.case(dm_case_id).author_name == "Jane Doe"


def test_the_connectors_that_look_names_up_are_the_ones_ingest_asks_for(rt) -> None:
    looking = {name for name, c in rt.connectors.items() if isinstance(c, ProfileConnector)}
    assert looking == ingest.NAMES_LOOKED_UP


# -- both ways of storing posts queue the same lookup ----------------------------------------------------------
def stored_items(url: str, write: Callable[[Session], object]) -> list[tuple[str, str, int, dict[str, Any]]]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as s:
        write(s)
    with sessions() as s:
        items = [(i.lane, i.kind, i.case_id, i.payload) for i in s.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    engine.dispose()
    return items


def test_a_batch_queues_the_lookups_one_post_at_a_time_would(tmp_path) -> None:
    def dm(external_id: str, author: str, name: str | None = None) -> InboundMention:
        who = Author(id=author, handle=author, name=name)
        return InboundMention("facebook", external_id, who, "Where is my order?", NOW, private=True)

    # a second message joins the case, a named sender needs no lookup, a repeat is a duplicate
    posts = [dm("m1", "111"), dm("m2", "111"), dm("m3", "222", "Ann Lee"), dm("m1", "111"), dm("m4", "333")]

    def one_at_a_time(s: Session) -> None:
        for post in posts:
            ingest.ingest(s, mention=post, connector="facebook", channel="C0CARE", now=NOW)

    def batch(s: Session) -> None:
        intake.PendingMention.write_all(s, [intake.PendingMention(p, "facebook", "C0CARE", NOW) for p in posts])

    single = stored_items(f"sqlite:///{tmp_path / 'one.db'}", one_at_a_time)
    assert stored_items(f"sqlite:///{tmp_path / 'batch.db'}", batch) == single
    assert [(lane, kind, payload) for lane, kind, _, payload in single if lane == "platform"] == [
        ("platform", "profile", {"platform": "facebook", "author_id": "111"}),
        ("platform", "profile", {"platform": "facebook", "author_id": "333"}),
    ]
    generic = [InboundMention("facebook", "m9", Author("444", "444"), "Hello?", NOW, private=True)]
    assert stored_items(  # the generic webhook's "facebook" post: its connector cannot ask Meta
        f"sqlite:///{tmp_path / 'generic.db'}",
        lambda s: ingest.ingest(s, mention=generic[0], connector="generic", channel="C0CARE", now=NOW),
    ) == [("slack", "post_parent", 1, {})]


# -- the connector: Meta's shapes, the token kept out of the URL -----------------------------------------------
def connector(settings: Any, platform: str, handler: Any) -> FacebookConnector | InstagramConnector:
    client = httpx.Client(transport=httpx.MockTransport(handler), timeout=5)
    kind = FacebookConnector if platform == "facebook" else InstagramConnector
    return kind(settings.platforms.meta, client)


def answering(body: dict[str, Any], seen: list[httpx.Request], status: int = 200, **headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def test_profile_reads_messengers_first_and_last_name_with_the_token_in_the_header(settings) -> None:
    seen: list[httpx.Request] = []
    answer = {"first_name": " Jane\n", "last_name": "Doe", "id": PSID}
    found = connector(settings, "facebook", answering(answer, seen)).profile(PSID)
    assert found == Author(id=PSID, handle=PSID, name="Jane Doe")
    [request] = seen
    assert request.method == "GET" and request.url.path.endswith(f"/{PSID}")
    assert dict(request.url.params) == {"fields": "first_name,last_name"}
    assert PAGE_TOKEN not in str(request.url) and request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"name": "Jane Doe", "username": "jane.doe", "id": IGSID}, Author(IGSID, "jane.doe", "Jane Doe")),
        ({"username": "jane.doe", "id": IGSID}, Author(IGSID, "jane.doe", None)),
        ({"name": "Jane  Doe", "username": "not a username", "id": IGSID}, Author(IGSID, IGSID, "Jane Doe")),
        ({"id": IGSID}, None),
    ],
)
def test_profile_reads_instagrams_name_and_username(settings, answer, expected) -> None:
    seen: list[httpx.Request] = []
    assert connector(settings, "instagram", answering(answer, seen)).profile(IGSID) == expected
    assert dict(seen[0].url.params) == {"fields": "name,username"}


def test_profile_without_a_name_is_none(settings) -> None:
    assert connector(settings, "facebook", answering({"id": PSID}, [])).profile(PSID) is None


def test_a_refusal_says_what_meta_said_and_which_permission_is_needed(settings) -> None:
    refused = {
        "error": {"message": "(#230) Requires pages_messaging permission", "type": "OAuthException", "code": 230}
    }
    with pytest.raises(PermanentError) as facebook:
        connector(settings, "facebook", answering(refused, [], status=400)).profile(PSID)
    assert "(#230) Requires pages_messaging permission" in str(facebook.value)
    assert "a Page token with pages_messaging" in str(facebook.value)
    missing = fixture("facebook", "error_object_missing")
    with pytest.raises(PermanentError) as instagram:
        connector(settings, "instagram", answering(missing, [], status=400)).profile(IGSID)
    assert "does not exist" in str(instagram.value) and "instagram_manage_messages" in str(instagram.value)


def test_throttling_and_outages_are_the_usual_errors(settings) -> None:
    throttled = graph_error("page_throttled", headers=usage_header(2))
    with pytest.raises(RateLimited) as limited:
        connector(settings, "facebook", answering(throttled.body, [], 400, **throttled.headers)).profile(PSID)
    assert limited.value.retry_after == 120
    with pytest.raises(TransientError):
        connector(settings, "facebook", answering({}, [], status=503)).profile(PSID)
    seen: list[httpx.Request] = []
    with pytest.raises(PermanentError):
        connector(settings, "facebook", answering({}, seen)).profile("../me")
    assert seen == []  # not an id: nothing asked
