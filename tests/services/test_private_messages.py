"""A customer's private message (a DM) at the desk: it joins their open case or opens one, marked private, once;
the case remembers when they last wrote privately; the clocks see it like a public post, and the follow-through
reminder of a case moved to DM counts from the customer's last message. Services over a real database, time
given by a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import db
from bot.clock import ManualClock
from bot.models import Case, CaseEvent, Mention, OutboxItem
from bot.services import customers, ingest, reminders
from bot.sla import OFFLINE, SlaPolicy
from connectors.base import Author, InboundMention

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy()  # follow-through after moving to DM: 24 h
JANE = Author(id="42", handle="jane_doe", name="Jane Doe")


def post(
    external_id: str, at: datetime, *, private: bool = False, author: Author = JANE, text: str = ""
) -> InboundMention:
    return InboundMention(
        platform="facebook",
        external_id=external_id,
        author=author,
        text=text or f"message {external_id}",
        posted_at=at,
        private=private,
        extra={"dm": True} if private else {},
    )


def take(sessions, mention: InboundMention, now: datetime) -> ingest.IngestResult:
    with db.session_scope(sessions) as s:
        return ingest.ingest(s, mention=mention, connector="facebook", channel="C0CARE", now=now)


def the_case(sessions, case_id: int) -> Case:
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        s.expunge(case)
        return case


def test_a_private_message_opens_a_case_marked_private_once(sessions) -> None:
    first = take(sessions, post("m_1", START, private=True), START)
    again = take(sessions, post("m_1", START, private=True), START + timedelta(minutes=1))  # Meta retried

    assert first.new_case and again.duplicate and again.case_id == first.case_id
    case = the_case(sessions, first.case_id)
    assert (case.last_private_at, case.last_customer_at) == (START, START)
    with sessions() as s:
        stored = s.scalars(select(Mention)).one()
        assert stored.private is True and stored.extra == {"dm": True}
        assert [i.kind for i in s.scalars(select(OutboxItem))] == ["post_parent"]


def test_a_private_message_joins_the_authors_open_case_and_runs_the_next_response_clock(sessions) -> None:
    public = take(sessions, post("c_1", START), START)
    with db.session_scope(sessions) as s:  # staff answered the comment
        case = s.get(Case, public.case_id)
        assert case is not None
        case.first_response_at = START + timedelta(minutes=5)
    later = START + timedelta(minutes=30)
    dm = take(sessions, post("m_1", later, private=True), later)

    assert dm.case_id == public.case_id and not dm.new_case
    case = the_case(sessions, public.case_id)
    assert case.awaiting_reply_since == later  # the next-response clock runs, as for a public post
    assert (case.last_private_at, case.last_customer_at) == (later, later)
    with sessions() as s:
        event = s.scalars(select(CaseEvent).where(CaseEvent.kind == "mention_added")).one()
        mention = s.get(Mention, event.detail["mention_id"])
        assert mention is not None and mention.private is True
        kinds = [i.kind for i in s.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    assert kinds == ["post_parent", "thread_note"]  # its note in the thread (the case message is yet to be posted)
    # the case's clock start came from the customer's message, not the webhook: a message Meta delivers late counts
    # from when it was written, and a clock ahead of ours never puts it in the future
    late = take(sessions, post("m_0", START + timedelta(minutes=10), private=True), later + timedelta(minutes=1))
    ahead = take(sessions, post("m_2", later + timedelta(hours=1), private=True), later + timedelta(minutes=2))
    assert late.case_id == ahead.case_id == public.case_id
    case = the_case(sessions, public.case_id)
    assert case.last_private_at == case.last_customer_at == later + timedelta(minutes=2)


def test_a_dm_that_knows_only_the_id_keeps_the_handle_a_public_post_taught_us(sessions) -> None:
    public = take(sessions, post("c_1", START, author=Author(id="178", handle="jane.doe")), START)
    dm = take(sessions, post("m_1", START, private=True, author=Author(id="178", handle="178")), START)
    assert dm.case_id == public.case_id
    assert the_case(sessions, public.case_id).author_handle == "jane.doe"


def sweep(sessions, clock: ManualClock) -> list[str]:
    with db.session_scope(sessions) as s:
        return [f"{r.clock}/{r.stage}" for r in reminders.sweep(s, policy=POLICY, now=clock.now())]


def test_the_follow_through_reminder_counts_from_the_customers_last_message(sessions) -> None:
    clock = ManualClock(START)
    case_id = take(sessions, post("c_1", START), clock.now()).case_id
    with db.session_scope(sessions) as s:  # staff answered and moved the conversation to DM
        case = s.get(Case, case_id)
        assert case is not None
        case.first_response_at = case.moved_offline_at = START + timedelta(minutes=10)
    assert sweep(sessions, clock) == []

    clock.advance(hours=20)  # the customer answers in the DM
    take(sessions, post("m_1", clock.now(), private=True), clock.now())
    clock.set(START + timedelta(hours=24, minutes=30))  # a day after the move, but only 4.5 h after the customer
    assert OFFLINE not in " ".join(sweep(sessions, clock))
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.follow_through_since == START + timedelta(hours=20)

    clock.set(START + timedelta(hours=44))  # a day after their last message: now the owner is reminded
    assert "offline/due" in sweep(sessions, clock)
    with sessions() as s:
        items = s.scalars(select(OutboxItem).where(OutboxItem.kind == reminders.REMINDER)).all()
        [item] = [i for i in items if i.payload["clock"] == OFFLINE]
        case = s.get(Case, case_id)
        assert case is not None
        assert item.payload["clock_start"] == (START + timedelta(hours=20)).isoformat()
        assert reminders.cancelled(case, item.payload) is None

    # the customer writes again (publicly, this time) before the reminder is posted: it is not posted
    take(sessions, post("c_2", clock.now()), clock.now())
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert reminders.cancelled(case, item.payload) == "the customer wrote again"


def test_without_a_later_message_the_follow_through_counts_from_the_move(sessions) -> None:
    clock = ManualClock(START)
    case_id = take(sessions, post("c_1", START), clock.now()).case_id
    with db.session_scope(sessions) as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.first_response_at = case.moved_offline_at = START + timedelta(minutes=10)
    clock.set(START + timedelta(hours=24, minutes=9))
    assert "offline/due" not in sweep(sessions, clock)
    clock.set(START + timedelta(hours=24, minutes=10))
    assert "offline/due" in sweep(sessions, clock)


def test_a_dm_after_the_move_brings_the_sweeps_next_look_forward(sessions) -> None:
    case_id = take(sessions, post("c_1", START), START).case_id
    with db.session_scope(sessions) as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.first_response_at = case.moved_offline_at = START + timedelta(minutes=10)
        case.awaiting_reply_since = START + timedelta(minutes=20)  # so only the follow-through clock can move
    with db.session_scope(sessions) as s:
        reminders.sweep(s, policy=POLICY, now=START + timedelta(minutes=30))
    assert the_case(sessions, case_id).reminder_check_at is not None
    take(sessions, post("m_1", START + timedelta(hours=1), private=True), START + timedelta(hours=1))
    assert the_case(sessions, case_id).reminder_check_at is None


def test_earlier_cases_of_the_same_customer_are_counted_with_the_last_ones_outcome(sessions) -> None:
    first = take(sessions, post("c_1", START), START)
    assert first.new_case
    with sessions() as s:
        assert customers.earlier_cases(s, case_id=first.case_id, platform="facebook", author_id="42") is None
    with db.session_scope(sessions) as s:
        case = s.get(Case, first.case_id)
        assert case is not None
        case.status, case.outcome, case.slack_ts = "resolved", "refund", "1700000000.000100"
    second = take(sessions, post("c_2", START + timedelta(days=1)), START + timedelta(days=1))
    with db.session_scope(sessions) as s:
        case = s.get(Case, second.case_id)
        assert case is not None
        case.status, case.outcome = "ignored", "spam"
    third = take(sessions, post("m_3", START + timedelta(days=2), private=True), START + timedelta(days=2))
    other = take(sessions, post("c_9", START, author=Author(id="7", handle="sam")), START)
    assert len({first.case_id, second.case_id, third.case_id, other.case_id}) == 4

    with sessions() as s:
        found = customers.earlier_cases(s, case_id=third.case_id, platform="facebook", author_id="42")
        none_for_sam = customers.earlier_cases(s, case_id=other.case_id, platform="facebook", author_id="7")
        on_x = customers.earlier_cases(s, case_id=third.case_id, platform="x", author_id="42")
        of_the_second = customers.earlier_cases(s, case_id=second.case_id, platform="facebook", author_id="42")
    assert found == customers.EarlierCases(
        count=2, last_id=second.case_id, last_status="ignored", last_outcome="spam", last_channel="C0CARE", last_ts=None
    )
    assert none_for_sam is None and on_x is None  # another customer; the same id on another platform
    with sessions() as s:  # erased customers all share one placeholder id: they are nobody's history
        assert customers.earlier_cases(s, case_id=third.case_id, platform="facebook", author_id="[removed]") is None
    assert of_the_second is not None and (of_the_second.count, of_the_second.last_ts) == (1, "1700000000.000100")
