"""Group commit: webhook posts written a batch per transaction by one writer, with every guarantee of
one-at-a-time ingest (once per post, the author's open case joined, outbox items in the same transaction).

The writer is held on a gate (a unit whose `prepare` waits) so the units submitted meanwhile form one batch:
which units share a transaction is decided here, never by timing.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import db
from bot.group_commit import GroupCommit, WriterStopped
from bot.models import Case, CaseEvent, Mention, OutboxItem
from bot.services import ingest, intake
from connectors.base import Author, InboundMention, MentionEdited

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CALM = "Thanks, the delivery arrived on time"
ANGRY = "This is unacceptable, I want a refund now, the box was damaged"


@pytest.fixture
def writer(sessions: db.SessionFactory) -> Iterator[GroupCommit]:
    wakes: list[int] = []
    group = GroupCommit(sessions, on_commit=lambda: wakes.append(1), wake_every=0)
    yield group
    group.stop()


class Gate:
    """A unit that holds the writer in its `prepare` until opened: what is submitted meanwhile is one batch."""

    def __init__(self) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()

    def prepare(self) -> None:
        self.entered.set()
        assert self.opened.wait(10)

    def write(self, session: Session) -> None:
        return None


class Failing:
    """A unit that writes a post and then fails: its write must vanish with it."""

    def __init__(self, post: InboundMention) -> None:
        self.post = post

    def prepare(self) -> None:
        return None

    def write(self, session: Session) -> None:
        ingest.ingest(session, mention=self.post, connector="generic", channel="C0CARE", now=NOW)
        raise RuntimeError("the unit failed after writing")


def post(
    external_id: str, author: str = "42", text: str = CALM, *, private: bool = False, posted_at: datetime = NOW
) -> InboundMention:
    return InboundMention(
        platform="twitter",
        external_id=external_id,
        author=Author(id=author, handle=f"h{author}", name=f"Customer {author}"),
        text=text,
        posted_at=posted_at,
        private=private,
    )


def pending(m: InboundMention, now: datetime = NOW) -> intake.PendingMention:
    return intake.PendingMention(m, "generic", "C0CARE", now)


def one_batch(writer: GroupCommit, units: list[Any]) -> list[Future[Any]]:
    """Submit `units` while the writer is held, so they are written together in one transaction."""
    gate = Gate()
    writer.submit(gate)
    assert gate.entered.wait(10)
    futures = [writer.submit(unit) for unit in units]
    gate.opened.set()
    for future in futures:
        future.exception(timeout=10)  # answered, one way or the other
    return futures


def count(sessions: db.SessionFactory, model: type) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def outbox_kinds(sessions: db.SessionFactory) -> list[tuple[str, int | None]]:
    with sessions() as s:
        return [(k, c) for k, c in s.execute(select(OutboxItem.kind, OutboxItem.case_id).order_by(OutboxItem.id))]


# -- the mechanisms --------------------------------------------------------------------------------------
def test_one_transaction_stores_each_post_once_and_answers_each_with_its_own_case(writer, sessions) -> None:
    futures = one_batch(writer, [pending(post(str(n), author=f"a{n}")) for n in range(5)])
    results = [f.result() for f in futures]
    assert writer.batches == 2  # the gate's, then all five together

    assert len({r.case_id for r in results}) == 5 and all(r.new_case and not r.duplicate for r in results)
    with sessions() as s:
        for n, r in enumerate(results):
            stored = s.get(Mention, r.mention_id)
            assert stored is not None and (stored.external_id, stored.case_id) == (str(n), r.case_id)
            case = s.get(Case, r.case_id)
            assert case is not None and case.author_id == f"a{n}" and case.status == "open"
    assert outbox_kinds(sessions) == [("post_parent", r.case_id) for r in results]


def test_a_repeat_in_the_same_batch_and_in_a_later_one_is_a_duplicate(writer, sessions) -> None:
    first, again = (f.result() for f in one_batch(writer, [pending(post("7")), pending(post("7"))]))
    later = writer.submit(pending(post("7"))).result(timeout=10)

    assert (first.duplicate, again.duplicate, later.duplicate) == (False, True, True)
    assert {(r.case_id, r.mention_id) for r in (first, again, later)} == {(first.case_id, first.mention_id)}
    assert (count(sessions, Case), count(sessions, Mention)) == (1, 1)
    assert outbox_kinds(sessions) == [("post_parent", first.case_id)]  # one Slack message, ever


def test_two_posts_of_one_author_in_one_batch_share_a_case(writer, sessions) -> None:
    calm, angry = (f.result() for f in one_batch(writer, [pending(post("1")), pending(post("2", text=ANGRY))]))

    assert angry.case_id == calm.case_id and (calm.new_case, angry.new_case) == (True, False)
    with sessions() as s:
        case = s.get(Case, calm.case_id)
        assert case is not None and case.priority == "high" and [m.external_id for m in case.mentions] == ["1", "2"]
        note = s.scalars(select(OutboxItem).where(OutboxItem.kind == "thread_note")).one()
        event = s.get(CaseEvent, note.payload["event_id"])
        assert event is not None and (event.kind, event.detail) == ("mention_added", {"mention_id": angry.mention_id})
    assert outbox_kinds(sessions) == [("post_parent", calm.case_id), ("thread_note", calm.case_id)]


def test_a_post_joins_the_open_case_stored_before_its_batch(writer, sessions) -> None:
    first = writer.submit(pending(post("1"))).result(timeout=10)
    with db.session_scope(sessions) as s:  # staff answered, and the sweep planned its next look
        case = s.get(Case, first.case_id)
        assert case is not None
        case.first_response_at, case.reminder_check_at = NOW, NOW + timedelta(hours=1)
    later = NOW + timedelta(minutes=5)
    joined = one_batch(writer, [pending(post("2", text=ANGRY), later)])[0].result()

    assert joined.case_id == first.case_id and not joined.new_case
    with sessions() as s:
        case = s.get(Case, first.case_id)
        assert case is not None
        assert (case.priority, case.awaiting_reply_since, case.reminder_check_at) == ("high", later, None)
    assert [k for k, _ in outbox_kinds(sessions)] == ["post_parent", "thread_note"]  # the parent is still queued


def test_a_platform_delivery_and_posts_in_one_batch_are_applied_in_arrival_order(writer, sessions) -> None:
    first = writer.submit(pending(post("1"))).result(timeout=10)
    edit = MentionEdited(platform="twitter", external_id="1", text=ANGRY, edited_at=NOW)
    changes = intake.PendingChanges([edit, post("2", text=CALM)], "generic", "C0CARE", NOW)
    edited, joined = one_batch(writer, [changes, pending(post("3", text=CALM))])

    assert edited.result() == 2 and joined.result().case_id == first.case_id
    with sessions() as s:
        case = s.get(Case, first.case_id)
        assert case is not None and case.priority == "high"  # the edit raised it; later calm posts keep it
        assert [m.text for m in case.mentions] == [ANGRY, CALM, CALM]
        kinds = [e.kind for e in case.events]
    assert kinds == ["received", "mention_edited", "mention_added", "mention_added"]


def test_one_failing_unit_fails_alone_and_leaves_nothing_behind(writer, sessions) -> None:
    good, bad, also_good = one_batch(
        writer, [pending(post("1", author="a")), Failing(post("2", author="b")), pending(post("3", author="c"))]
    )

    assert not good.result().duplicate and not also_good.result().duplicate
    with pytest.raises(RuntimeError, match="failed after writing"):
        bad.result()
    with sessions() as s:
        assert sorted(s.scalars(select(Mention.external_id))) == ["1", "3"]  # nothing of the failed unit
        assert sorted(s.scalars(select(Case.author_id))) == ["a", "c"]
    assert len(outbox_kinds(sessions)) == 2


def test_a_unit_that_cannot_be_prepared_fails_before_any_transaction(writer, sessions) -> None:
    class Unscorable(intake.PendingMention):
        def prepare(self) -> None:
            raise ValueError("cannot score")

    bad, good = one_batch(writer, [Unscorable(post("1"), "generic", "C0CARE", NOW), pending(post("2", author="b"))])
    with pytest.raises(ValueError, match="cannot score"):
        bad.result()
    assert good.result().new_case and count(sessions, Mention) == 1


def test_a_failing_database_answers_every_unit_with_the_error_and_stores_nothing(writer, sessions) -> None:
    from sqlalchemy import event

    engine = sessions.kw["bind"]

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO outbox"):
            raise RuntimeError("disk full")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        futures = one_batch(writer, [pending(post(str(n), author=f"a{n}")) for n in range(3)])
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    for future in futures:
        with pytest.raises(Exception, match="disk full"):
            future.result()
    assert (count(sessions, Case), count(sessions, Mention), count(sessions, CaseEvent)) == (0, 0, 0)
    assert writer.submit(pending(post("0", author="a0"))).result(timeout=10).new_case  # and it carries on


def test_stop_writes_everything_already_queued_then_refuses(sessions) -> None:
    writer = GroupCommit(sessions, wake_every=0)
    gate = Gate()
    writer.submit(gate)
    assert gate.entered.wait(10)
    queued = [writer.submit(pending(post(str(n), author=f"a{n}"))) for n in range(4)]
    stopping = threading.Thread(target=writer.stop)
    stopping.start()
    gate.opened.set()
    stopping.join(10)

    assert not stopping.is_alive()
    assert [f.result(timeout=0).new_case for f in queued] == [True] * 4
    assert count(sessions, Mention) == 4
    with pytest.raises(WriterStopped):
        writer.submit(pending(post("9")))


def test_the_outbox_is_woken_after_the_last_commit_of_a_burst(sessions) -> None:
    woken = threading.Event()
    writer = GroupCommit(sessions, on_commit=woken.set, wake_every=3600)  # only the owed wake can fire
    try:
        writer.submit(pending(post("1"))).result(timeout=10)  # the first commit wakes at once
        assert woken.wait(10)
        woken.clear()
        writer.submit(pending(post("2", author="b"))).result(timeout=10)
        assert not woken.is_set()  # within the interval: owed, not yet paid
    finally:
        writer.stop()
    assert woken.is_set()  # paid before the writer ended


# -- the batch decides what one post at a time would ------------------------------------------------------
def snapshot(sessions: db.SessionFactory) -> dict[str, Any]:
    """What a user could see of the desk, without the row ids."""
    with sessions() as s:
        number = {cid: n for n, cid in enumerate(s.scalars(select(Case.id).order_by(Case.id)))}
        cases = [
            (
                c.author_id,
                c.priority,
                c.status,
                c.author_handle,
                c.awaiting_reply_since,
                c.reminder_check_at,
                c.last_private_at,
                c.last_customer_at,
            )
            for c in s.scalars(select(Case).order_by(Case.id))
        ]
        mentions = [
            (m.external_id, number[m.case_id], m.private) for m in s.scalars(select(Mention).order_by(Mention.id))
        ]
        kinds = {e.id: (number[e.case_id], e.kind) for e in s.scalars(select(CaseEvent))}
        events = [(number[e.case_id], e.kind) for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        items = [
            (i.kind, number[i.case_id or 0], i.priority_rank, kinds.get(i.payload.get("event_id")))
            for i in s.scalars(select(OutboxItem).order_by(OutboxItem.id))
        ]
    return {"cases": cases, "mentions": mentions, "events": events, "outbox": items}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_batches_store_exactly_what_one_post_at_a_time_stores(database_url, tmp_path, seed) -> None:
    rng = random.Random(seed)
    texts = [CALM, ANGRY, "my card was charged twice, fraud", "ok"]
    ids = [rng.randint(1, 25) for _ in range(60)]  # repeats included; a post's author is always the same
    # every third post a private message (a DM), each posted a little before or after the others (a DM may be
    # delivered late, out of order): the case's last message times must come out the same either way
    offsets = {n: timedelta(seconds=rng.randint(-90, 90)) for n in set(ids)}
    posts = [
        post(str(n), author=f"a{n % 6}", text=rng.choice(texts), private=n % 3 == 0, posted_at=NOW + offsets[n])
        for n in ids
    ]
    desks = []
    for url in (f"sqlite:///{tmp_path / 'one-at-a-time.db'}", database_url):
        engine = db.make_engine(url)
        db.upgrade(engine)
        desks.append((engine, db.make_session_factory(engine)))
    (one_engine, one), (batch_engine, batched) = desks
    for sessions in (one, batched):  # cases already in Slack and answered: a new post refreshes their messages
        with db.session_scope(sessions) as s:
            ingest.ingest(s, mention=post("100", author="a1"), connector="generic", channel="C0CARE", now=NOW)
            ingest.ingest(s, mention=post("101", author="a2"), connector="generic", channel="C0CARE", now=NOW)
            answered, moved = s.scalars(select(Case).order_by(Case.id)).all()
            answered.first_response_at, answered.reminder_check_at = NOW, NOW + timedelta(hours=2)
            # moved to DM: a later message of the customer moves the follow-through clock, so the sweep looks again
            moved.first_response_at = moved.moved_offline_at = NOW - timedelta(seconds=30)
            moved.awaiting_reply_since = NOW - timedelta(seconds=20)  # only the follow-through clock can move
            for item in s.scalars(select(OutboxItem)):
                item.state = "done"
        with db.session_scope(sessions) as s:  # the sweep planned their next looks (after the flush that moved it)
            for case in s.scalars(select(Case)):
                case.reminder_check_at = NOW + timedelta(hours=2)
    for n, p in enumerate(posts):
        with db.session_scope(one) as s:
            ingest.ingest(s, mention=p, connector="generic", channel="C0CARE", now=NOW + timedelta(seconds=n))
    writer = GroupCommit(batched, wake_every=0)
    try:
        start = 0
        while start < len(posts):
            size = rng.randint(1, 12)
            units = [pending(p, NOW + timedelta(seconds=start + k)) for k, p in enumerate(posts[start : start + size])]
            one_batch(writer, units)
            start += size
    finally:
        writer.stop()
    assert snapshot(batched) == snapshot(one)
    shown = snapshot(one)
    assert any(private for _, _, private in shown["mentions"]) and any(c[6] for c in shown["cases"])
    moved = any(p.author.id == "a2" and p.posted_at > NOW - timedelta(seconds=30) for p in posts)
    assert shown["cases"][0][5] is None  # the answered customer wrote again: the sweep looks again
    assert (shown["cases"][1][5] is None) == moved  # so it does when they wrote after the move to DM, only then
    one_engine.dispose()
    batch_engine.dispose()


@pytest.mark.parametrize("shared", [20, 0], ids=["same posts", "other posts of the same authors"])
def test_two_replicas_writing_together_store_each_post_once_in_one_case_per_author(
    database_url, sessions, shared
) -> None:
    """Two processes' writers (two engines on one database), each with a batch of posts by the same five
    authors (`shared` of them the same posts), opened at the same moment: one case per author and one row
    per post between them."""
    other_engine = db.make_engine(database_url)
    writers = [GroupCommit(sessions, wake_every=0), GroupCommit(db.make_session_factory(other_engine))]
    try:
        gates = [Gate(), Gate()]
        for writer, gate in zip(writers, gates, strict=True):
            writer.submit(gate)
            assert gate.entered.wait(10)
        posts = [post(str(n), author=f"a{n % 5}", text=ANGRY if n % 3 else CALM) for n in range(30)]
        batches = [posts[:shared] + posts[20:25], posts[:shared][::-1] + posts[25:]]
        futures = [[w.submit(pending(p)) for p in batch] for w, batch in zip(writers, batches, strict=True)]
        for gate in gates:
            gate.opened.set()
        first, second = (
            {p.external_id: f.result(timeout=30) for p, f in zip(batch, fs, strict=True)}
            for batch, fs in zip(batches, futures, strict=True)
        )
    finally:
        for writer in writers:
            writer.stop()
        other_engine.dispose()

    for n in range(shared):  # the same post, as each replica answered it: once new, once a duplicate
        a, b = first[str(n)], second[str(n)]
        assert (a.case_id, a.mention_id) == (b.case_id, b.mention_id) and a.duplicate != b.duplicate
    answers = {**first, **second}
    for n in answers:  # every post of an author is in that author's one case
        assert answers[n].case_id == answers[str(20 + int(n) % 5)].case_id
    assert (count(sessions, Case), count(sessions, Mention)) == (5, shared + 10)
    assert [k for k, _ in outbox_kinds(sessions)].count("post_parent") == 5
