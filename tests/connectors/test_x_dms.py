"""X direct messages: X's documented DM events (tests/fixtures/x/dm_events_page.json), served over real HTTP by
tests/fakes/x.py. A customer's DM becomes a private mention within one poll and nothing comes twice; the brand's
own DMs never do; the poll cursor keeps both places (and a plain since_id of an earlier version still works);
without a user-context token, or without its dm.read scope, mentions are polled as ever; a private reply goes
to `POST /2/dm_conversations/with/:participant_id/messages`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select

from bot.config import platform_settings
from bot.models import Case
from connectors import x
from connectors.base import InboundMention, Outbound
from tests.connectors.test_x import poll, x_env
from tests.fakes.x import APP_TOKEN, BRAND, JANE, MO, USER_TOKEN, FakeX, fixture
from tests.support.blocks import all_text
from tests.support.desk import Desk
from tests.support.env import CHANNEL, make_env

DM_EVENTS = r"/2/dm_events"


@pytest.fixture
def connector(fake_x: FakeX) -> Iterator[Callable[..., x.XConnector]]:
    with httpx.Client(timeout=5) as client:
        yield lambda **overrides: x.build(platform_settings(x_env(fake_x, **overrides)), client)


def dms(changes: object) -> list[InboundMention]:
    return [c for c in changes if isinstance(c, InboundMention) and c.private]  # type: ignore[attr-defined]


# -- X's documented shape --------------------------------------------------------------------------------
def test_a_documented_dm_events_page_becomes_the_customers_messages_oldest_first() -> None:
    mo, jane = x.parse_dm_events([fixture("dm_events_page")], brand_id=BRAND)  # the brand's own reply is not one
    assert (mo.external_id, mo.author.handle, mo.author.name) == ("2124446050000000101", "mo_k", "Mo Khan")
    assert jane.private and jane.platform == "x" and (jane.author.id, jane.author.handle) == (JANE, "jane_doe")
    assert jane.text == "Booking ref is QX7P2L, flight AC88 on the 12th. The refund is 3 weeks late & nobody answers <3"
    assert jane.posted_at.isoformat() == "2026-11-22T10:20:00+00:00"
    assert jane.url == "https://x.com/messages/1234567890-9400000001"
    assert jane.extra == {"dm": True, "dm_conversation_id": "1234567890-9400000001"}
    assert x.parse_dm_events([fixture("dm_events_page")], brand_id=BRAND, after=2124446050000000101) == [jane]


def test_odd_events_are_skipped_not_fatal(caplog) -> None:
    page = {
        "data": [
            {"id": "5", "event_type": "ParticipantsJoin", "sender_id": JANE},
            {"id": "6", "event_type": "MessageCreate", "sender_id": JANE, "text": ""},
            {"id": "no", "text": "hi", "sender_id": JANE},
            "junk",
            {"id": "7", "event_type": "MessageCreate", "text": "no sender"},
        ],
        "includes": {"users": "junk"},
    }
    with caplog.at_level(logging.WARNING):
        assert x.parse_dm_events([page, {}], brand_id=BRAND) == []


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        (None, (None, None)),
        ("2124442764702646273", ("2124442764702646273", None)),  # what every earlier version stored
        (
            '{"dms": "2124446100000000101", "mentions": "2124442764702646273"}',
            ("2124442764702646273", "2124446100000000101"),
        ),
        ('{"dms": null, "mentions": null}', (None, None)),
        ('{"dms": "x", "mentions": "1"}', (None, None)),
        ("t3_garbage", (None, None)),
        ("[1, 2]", (None, None)),
    ],
)
def test_the_stored_cursor_is_read_in_either_form(stored, read) -> None:
    assert x.read_cursor(stored) == read


# -- polling ---------------------------------------------------------------------------------------------
def test_a_customers_dm_comes_in_one_poll_once_and_the_brands_own_never(fake_x, connector) -> None:
    first_mention = fake_x.mention(JANE, "@AcmeAir my refund is late")
    first = connector().poll(None)
    assert [c.external_id for c in first.changes] == [first_mention]
    state = json.loads(first.cursor or "{}")
    assert state == {"mentions": first_mention, "dms": None}

    jane = fake_x.dm_from(JANE, "Booking ref QX7P2L")
    mo = fake_x.dm_from(MO, "Did my claim go through?")
    second = connector().poll(first.cursor)
    assert [(m.external_id, m.author.handle, m.text) for m in dms(second.changes)] == [
        (jane, "jane_doe", "Booking ref QX7P2L"),
        (mo, "mo_k", "Did my claim go through?"),
    ]
    read = fake_x.dm_event_requests()[0]
    assert read.headers["authorization"] == f"Bearer {USER_TOKEN}"  # DMs need the user-context token
    assert read.query == {
        "event_types": "MessageCreate",
        "dm_event.fields": "id,text,event_type,created_at,sender_id,dm_conversation_id",
        "expansions": "sender_id",
        "user.fields": "name,username",
        "max_results": "20",  # the first read: the newest few
    }
    assert all(r.headers["authorization"] == f"Bearer {APP_TOKEN}" for r in fake_x.mention_requests())

    # the brand answers by DM (an event in the same list) and Jane writes again: only hers comes, once
    x_connector = connector()
    reply = Outbound(platform="x", in_reply_to=jane, author_id=JANE, text="Hi Jane, on it.", visibility="private")
    x_connector.send(reply)
    again = fake_x.dm_from(JANE, "Thanks! Any news?")
    third = x_connector.poll(second.cursor)
    assert [m.external_id for m in dms(third.changes)] == [again]
    assert json.loads(third.cursor or "{}")["dms"] == again
    assert dms(x_connector.poll(third.cursor).changes) == []


def test_many_dms_are_read_page_by_page_until_the_last_seen(fake_x, connector) -> None:
    start = fake_x.dm_from(JANE, "first")
    state = connector().poll(None).cursor
    assert json.loads(state or "{}")["dms"] == start
    ids = [fake_x.dm_from(MO if n % 2 else JANE, f"message {n}", minutes=0.1) for n in range(230)]
    fake_x.standin.requests.clear()
    result = connector().poll(state)
    assert [m.external_id for m in dms(result.changes)] == ids  # all, oldest first, nothing twice
    reads = fake_x.dm_event_requests()
    assert len(reads) == 3 and [r.query.get("pagination_token") is None for r in reads] == [True, False, False]
    assert all(r.query["max_results"] == "100" for r in reads)


def test_a_plain_since_id_of_an_earlier_version_still_works(fake_x, connector) -> None:
    old = fake_x.mention(JANE, "@AcmeAir before the upgrade")
    new = fake_x.mention(MO, "@AcmeAir after the upgrade")
    dm = fake_x.dm_from(JANE, "and a DM")
    result = connector().poll(old)  # the cursor an earlier version stored
    assert [c.external_id for c in result.changes] == [new, dm]
    assert fake_x.mention_requests()[0].query["since_id"] == old
    assert json.loads(result.cursor or "{}") == {"mentions": new, "dms": dm}


def test_without_a_user_token_only_mentions_are_polled_and_the_cursor_stays_plain(fake_x) -> None:
    fake_x.dm_from(JANE, "a DM nobody can read")
    post = fake_x.mention(JANE, "@AcmeAir hello")
    env = {k: v for k, v in x_env(fake_x).items() if k != "X_USER_TOKEN"}
    with httpx.Client(timeout=5) as client:
        connector = x.build(platform_settings(env), client)
        assert not connector.reads_dms
        result = connector.poll(None)
    assert [c.external_id for c in result.changes] == [post] and result.cursor == post
    assert fake_x.dm_event_requests() == []


def test_without_dm_read_mentions_still_come_and_the_operator_is_told_once(fake_x, connector, caplog) -> None:
    fake_x.forbid_dm_reads()
    fake_x.dm_from(JANE, "unreadable for now")
    post = fake_x.mention(JANE, "@AcmeAir hello")
    x_connector = connector()
    with caplog.at_level(logging.WARNING, logger="connectors.x"):
        first = x_connector.poll(None)
        second = x_connector.poll(first.cursor)
    assert [c.external_id for c in first.changes] == [post] and second.changes == []
    warnings = [r.getMessage() for r in caplog.records if "direct messages could not be read" in r.getMessage()]
    assert len(warnings) == 1 and "needs the dm.read scope" in warnings[0]
    assert json.loads(first.cursor or "{}") == {"mentions": post, "dms": None}  # the DM cursor did not move
    fake_x.dm_reads_forbidden = False  # the operator re-authorized with dm.read: the DM comes in, nothing lost
    assert [m.text for m in dms(x_connector.poll(second.cursor).changes)] == ["unreadable for now"]


def test_a_dm_rate_limit_is_waited_out_while_mentions_go_on(fake_x, connector) -> None:
    x_connector = connector()
    state = x_connector.poll(None).cursor
    fake_x.rate_limit("GET", DM_EVENTS, reset_in=900)
    waiting = fake_x.dm_from(JANE, "in the rate-limited window")
    limited = x_connector.poll(state)
    post = fake_x.mention(JANE, "@AcmeAir meanwhile in public")
    during = x_connector.poll(limited.cursor)
    assert [c.external_id for c in during.changes] == [post]
    assert len(fake_x.dm_event_requests()) == 2  # no DM read while X said to wait
    assert dms(limited.changes) == [] and waiting


# -- through the served app ------------------------------------------------------------------------------
@pytest.fixture
def env(slack, database_url, fake_x) -> dict[str, str]:
    return make_env(slack, database_url, **x_env(fake_x))


def test_a_dm_joins_the_customers_case_thread_marked_private_and_is_answered_by_dm(
    app_url, rt, slack, listeners, fake_x, clock
) -> None:
    desk = Desk(app_url, rt, slack, listeners)
    fake_x.mention(JANE, "@AcmeAir my refund is three weeks late")
    assert poll(rt) == 1
    fake_x.dm_from(JANE, "Booking ref QX7P2L <!channel>")
    clock.advance(60)
    assert poll(rt) == 1
    [parent] = slack.channel(CHANNEL)
    notes = [m.text for m in slack.thread(CHANNEL, parent.ts)]
    assert notes == [
        ":lock: Private message from *Jane* · <https://x.com/messages/1234567890-9400000001|View conversation>:\n"
        "> Booking ref QX7P2L &lt;!channel&gt;"
    ]
    assert ":lock: in DM · last private message" in all_text(parent.blocks)

    with rt.sessions() as s:
        case_id = s.scalars(select(Case.id)).one()
    desk.reply_privately(case_id, "Hi Jane, QX7P2L is refunded today. – Alice")
    desk.settle()
    [sent] = fake_x.dm_requests()
    assert sent.path == f"/2/dm_conversations/with/{JANE}/messages"
    assert sent.json == {"text": "Hi Jane, QX7P2L is refunded today. – Alice"}
    assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert desk.thread_texts()[-1].startswith(":lock: <@U0ALICE> replied privately to Jane:")
    clock.advance(60)
    assert poll(rt) == 0  # our own DM, read back as an event, is never a mention
