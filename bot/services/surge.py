"""Surges: when mentions come faster than the care channel can show them, one alert says so and keeps up.

A tick (bot/schedule/jobs.py, every few seconds in every process) reads two numbers from the database: the
mentions received in the last minute (the indexed `mentions.received_at`) and the backlog, the new case
messages still waiting for their turn in the channel (pending `post_parent` items; Slack takes about one a
second). Either reaching the threshold (CARE_SPIKE_PER_MIN) starts a surge: a `surges` row and the alert's
post, queued in one transaction. While it lasts, each tick measures again and queues an update of that one
message only when something it shows changed. It ends once the rate is under the threshold and the backlog
is down to a few seconds of channel time (CALM_BACKLOG) for QUIET in a row: a final update gives its totals
and how long it lasted (from its start to the moment it went quiet).

Exactly once with any number of processes: the unique `surges.ongoing` lets one INSERT win a start, and every
later change is a conditional UPDATE on `surges.revision`, so two ticks seeing the same state queue one
update between them. Every Slack effect is an outbox item written with the state change that caused it.

Gathered, not flooded: while a surge lasts, each tick also withdraws the waiting case messages of its new low- and
normal-priority cases (a conditional UPDATE to `cancelled`: a worker that leased one first wins, and it is posted
as usual) and lists those posts in batches of BATCH_SIZE in the alert's thread (`surge_batches`, one `surge_batch`
item each), all in the tick's transaction: a post is either its case's message or in a batch, never both, never
neither. Urgent and high cases keep their own messages. A gathered case has no message for its thread notes, so
the tick withdraws those too: a customer's new post is listed again in the next batch as "wrote again" (no thread
to join yet), a refresh is dropped (the batch is rendered when sent), and anything else (a person's action from
the alert's buttons, an SLA reminder) opens the case as its own message and is queued again behind it. "Open as
case" (`open_gathered`) does the same for a person who asks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import updated
from bot.models import Case, CaseEvent, Mention, OutboxItem, Surge, SurgeBatch
from bot.services import cases, outbox, reminders, triage

POST = "surge_alert"  # the alert's chat.postMessage
UPDATE = "surge_update"  # its chat.update: one of outbox.UPDATE_KINDS, so the updates worker sends it
KINDS = (POST, UPDATE)
BATCH = "surge_batch"  # chat.postMessage of a batch into the alert's thread
BATCH_UPDATE = "surge_batch_update"  # its chat.update (an entry was opened as a case): one of outbox.UPDATE_KINDS
BATCH_KINDS = (BATCH, BATCH_UPDATE)
BATCH_SIZE = 10  # posts a batch message lists: what fits one message after escaping (bot/blocks/surge.py)
GATHERED = ("normal", "low")  # urgent and high cases always get their own message
# A batch waits behind urgent and high case messages, as the posts it lists did; a normal one goes no later.
BATCH_RANK = triage.PRIORITY_RANK["normal"]
OPENED = "opened_from_surge"  # the case event of "Open as case" (or of a gathered case that needed a message)
GATHER_LIMIT = 100  # case messages withdrawn per transaction: the scheduler gathers page by page, each short
# The alert goes before every new case message and beside what people did: a storm's whole point is that the
# team hears of it at once, and it is one message per surge, so it can hold nothing up for long.
ALERT_RANK = outbox.STAFF_RANK

WINDOW = timedelta(minutes=1)  # "a minute": the rate is the mentions received in the last one
QUIET = timedelta(minutes=3)  # calm for this long in a row, and the surge is over
CALM_BACKLOG = 10  # case messages waiting: about ten seconds of the channel's time
NEGATIVE, POSITIVE = -0.05, 0.05  # VADER's documented compound thresholds
WORST = 5  # the most negative mentions shown, each with its case's buttons
TERMS, PHRASES = 6, 4
# the most recent mentions whose words are counted: the commonest terms of a thousand posts are those of the
# storm, and counting them is pure Python (5,000 posts took 120 ms of the interpreter every tick, beside webhooks)
TEXT_SAMPLE = 1000


@dataclass(frozen=True)
class Reading:
    rate: int  # mentions received in the last minute
    backlog: int  # new case messages not yet posted


@dataclass(frozen=True)
class Tick:
    surge_id: int | None = None
    started: bool = False
    updated: bool = False
    ended: bool = False
    gathered: int = 0  # case messages withdrawn into batches by this tick's gathering (GATHER_LIMIT: maybe more)


def reading(session: Session, *, now: datetime) -> Reading:
    """The two numbers a surge is judged by, each one indexed count."""
    rate = session.scalar(
        select(func.count()).select_from(Mention).where(Mention.received_at > now - WINDOW, Mention.received_at <= now)
    )
    # Every message still owed to the channel: case messages and the batches that gather posts in a surge (a
    # gathered post is in a batch in the same transaction), so a surge whose batches wait does not look calm.
    backlog = session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .where(
            OutboxItem.lane == outbox.SLACK,
            OutboxItem.state == outbox.PENDING,
            OutboxItem.kind.in_(("post_parent", BATCH)),
        )
    )
    return Reading(rate=int(rate or 0), backlog=int(backlog or 0))


def current(session: Session) -> Surge | None:
    """The surge going on now, if any (item 3 asks this of every new mention, so it is one unique-key lookup)."""
    return session.scalars(select(Surge).where(Surge.ongoing == 1)).first()


Terms = tuple[list[tuple[str, int]], list[tuple[str, int]]]  # common words, common phrases: (text, posts)


def tick(
    session: Session,
    *,
    now: datetime,
    threshold: int,
    channel: str,
    escalate_to: Iterable[str] = (),
) -> Tick:
    """Start, update or end the surge as the database says, then gather (`gather`); idempotent, and safe in several
    processes at once. All in one session: the scheduler splits it (`judge` and the candidates on a read snapshot,
    then `write` and `gather` in a short write transaction, bot/schedule/jobs.py)."""
    verdict = judge(session, now=now, threshold=threshold)
    done = write(session, verdict, now=now, channel=channel, escalate_to=escalate_to)
    return replace(done, gathered=gather(session, now=now).cases)


def _terms(session: Session, window: tuple[Any, ...]) -> Terms:
    texts = session.scalars(select(Mention.text).where(*window).order_by(Mention.id.desc()).limit(TEXT_SAMPLE))
    return common_terms(texts)


@dataclass(frozen=True)
class Verdict:
    """What a tick writes, decided from what it read (`judge`, which only reads: on a read snapshot, the figures of
    a big surge hold no write lock). `write` applies it in a short transaction, conditionally: a surge another
    process changed meanwhile (its `revision` moved on) is left as that process wrote it."""

    start: dict[str, Any] | None = None  # a surge starts: what its alert shows
    peak: int = 0  # ... and its first minute's rate
    surge_id: int | None = None  # or the ongoing surge, to change
    revision: int = 0  # ... as it was read
    values: dict[str, Any] | None = None  # ... its new columns (None: nothing changed)
    show: bool = False  # ... and whether its alert must be re-rendered
    ending: bool = False


def judge(session: Session, *, now: datetime, threshold: int) -> Verdict:
    """Whether a surge starts, changes or ends now, with the figures its alert would show: reads only."""
    found = reading(session, now=now)
    surge = current(session)
    if surge is None:
        if found.rate < threshold and found.backlog < threshold:
            return Verdict()
        shown = summary(session, since=now - WINDOW, until=now, found=found, peak=found.rate)
        return Verdict(start=shown, peak=found.rate)
    calm = found.rate < threshold and found.backlog <= CALM_BACKLOG
    calm_since = (surge.calm_since or now) if calm else None
    ending = calm_since is not None and now - calm_since >= QUIET
    peak = max(surge.peak_per_min, found.rate)
    until = calm_since if ending and calm_since is not None else now
    shown = summary(session, since=surge.started_at - WINDOW, until=until, found=found, peak=peak)
    changed = shown != surge.shown
    if not (changed or ending or calm_since != surge.calm_since or peak != surge.peak_per_min):
        return Verdict(surge_id=surge.id, revision=surge.revision)
    values: dict[str, Any] = {"calm_since": calm_since, "peak_per_min": peak, "shown": shown}
    if ending:
        values.update(ongoing=None, ended_at=calm_since)
    return Verdict(surge_id=surge.id, revision=surge.revision, values=values, show=changed or ending, ending=ending)


def write(session: Session, verdict: Verdict, *, now: datetime, channel: str, escalate_to: Iterable[str] = ()) -> Tick:
    """Apply a `judge`'s verdict: start the surge and queue its alert, or change it and queue the alert's update.
    Of two processes with the same verdict one writes it (the unique `ongoing`, the conditional `revision`)."""
    if verdict.start is not None:
        return _start(
            session, now=now, shown=verdict.start, peak=verdict.peak, channel=channel, escalate_to=tuple(escalate_to)
        )
    if verdict.surge_id is None or verdict.values is None:
        return Tick(surge_id=verdict.surge_id)
    won = updated(
        session,
        update(Surge)
        .where(Surge.id == verdict.surge_id, Surge.revision == verdict.revision, Surge.ongoing == 1)
        .values(revision=Surge.revision + 1, **verdict.values)
        .execution_options(synchronize_session=False),
    )
    if not won:  # another process took this tick: it queued whatever was needed
        return Tick(surge_id=verdict.surge_id)
    if verdict.show:
        _enqueue_update(session, surge_id=verdict.surge_id, now=now)
    return Tick(surge_id=verdict.surge_id, updated=verdict.show, ended=verdict.ending)


def _start(
    session: Session,
    *,
    now: datetime,
    shown: dict[str, Any],
    peak: int,
    channel: str,
    escalate_to: tuple[str, ...],
) -> Tick:
    surge = Surge(
        ongoing=1,
        started_at=now,
        peak_per_min=peak,
        revision=0,
        shown=shown,
        slack_channel=channel,
    )
    try:
        with session.begin_nested():
            session.add(surge)
    except IntegrityError:  # another process started it a moment ago: its alert is the one
        return Tick()
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=POST,
        priority_rank=ALERT_RANK,
        payload={"surge_id": surge.id, "notify": list(escalate_to)},
        now=now,
    )
    return Tick(surge_id=surge.id, started=True)


def _enqueue_update(session: Session, *, surge_id: int, now: datetime) -> None:
    """Queue a re-render of the alert, unless one not yet started is queued: it renders the latest when sent."""
    waiting = session.scalars(
        select(OutboxItem.payload).where(
            OutboxItem.kind.in_(KINDS), OutboxItem.state == outbox.PENDING, OutboxItem.lease_until.is_(None)
        )
    ).all()
    if any(payload.get("surge_id") == surge_id for payload in waiting):
        return
    outbox.enqueue(
        session, lane=outbox.SLACK, kind=UPDATE, priority_rank=ALERT_RANK, payload={"surge_id": surge_id}, now=now
    )


def record_alert(session: Session, *, surge_id: int, ts: str) -> None:
    """Slack took the alert: its updates (and item 3's gathered mentions) go to this message."""
    session.execute(
        update(Surge)
        .where(Surge.id == surge_id, Surge.slack_ts.is_(None))
        .values(slack_ts=ts)
        .execution_options(synchronize_session=False)
    )


# -- gathered, not flooded ------------------------------------------------------------------------
@dataclass(frozen=True)
class Gathered:
    cases: int = 0  # case messages withdrawn into batches
    looked: int = 0  # waiting case messages it found (GATHER_LIMIT at most: maybe more wait)
    again: int = 0  # posts of gathered cases listed again ("wrote again")
    opened: int = 0  # gathered cases that needed a message of their own (a person acted, a reminder came due)
    batches: int = 0


Waiting = list[tuple[int, int, int]]  # (post_parent item id, case id, first mention id), oldest item first


def gather(session: Session, *, now: datetime, waiting: Waiting | None = None) -> Gathered:
    """Withdraw the ongoing surge's waiting low/normal case messages into batches, and settle what waits on cases
    gathered earlier (their thread notes, refreshes, reminders: there is no message to hang them on).

    `waiting`, found beforehand on a read snapshot (`waiting_parents`), keeps that search out of the write
    transaction. Only items no worker holds and none has tried (`attempts == 0`) are withdrawn, with one
    conditional UPDATE, so an item a worker leased meanwhile is posted as usual and one a dead worker may have
    posted is never listed too."""
    surge = current(session)
    fresh: list[list[int]] = []  # [case id, mention id, 0]
    if surge is not None:
        if waiting is None:
            waiting = waiting_parents(session, now=now)
        taken = _withdraw_waiting(session, [item_id for item_id, _, _ in waiting], now=now)
        fresh = [[case_id, mention_id, 0] for item_id, case_id, mention_id in waiting if item_id in taken]
    batches = _batches(session, {surge.id: fresh} if surge is not None and fresh else {}, now=now)
    again: dict[int, list[list[int]]] = {}  # surge id -> [case id, mention id, 1]
    opened: set[int] = set()  # cases opened in this pass: their later items go behind the new message too
    for item, case_id, gathered_in in _waiting_on_gathered(session, now=now):
        mention_id = None if case_id in opened else _customer_post(session, item)
        if item.kind == "update_parent":
            _withdraw(session, item.id, now=now, why="the case is gathered in a surge batch: nothing to update")
        elif mention_id is not None:
            surge_id = session.scalar(select(SurgeBatch.surge_id).where(SurgeBatch.id == gathered_in))
            if surge_id is not None and _withdraw(session, item.id, now=now, why="listed again in a surge batch"):
                again.setdefault(surge_id, []).append([case_id, mention_id, 1])
        elif _withdraw(session, item.id, now=now, why="moved behind the case's own message"):
            # a person's action (from the alert's buttons) or a reminder needs the case's message: open the case,
            # then the same item again behind its message
            batch_id = _ungather(session, case_id)
            if batch_id is not None:
                _open(session, case_id=case_id, batch_id=batch_id, actor="surge", now=now, rank=item.priority_rank)
                opened.add(case_id)
            outbox.enqueue(
                session,
                lane=outbox.SLACK,
                kind=item.kind,
                case_id=case_id,
                priority_rank=item.priority_rank,
                payload=dict(item.payload),
                now=now,
            )
    batches += _batches(session, again, now=now)
    return Gathered(
        cases=len(fresh),
        looked=len(waiting or []) if surge is not None else 0,  # with no surge on, nothing is gathered
        again=sum(map(len, again.values())),
        opened=len(opened),
        batches=batches,
    )


def _batches(session: Session, entries: dict[int, list[list[int]]], *, now: datetime) -> int:
    """Store the entries in batches of BATCH_SIZE, each with its post queued; a newly gathered case points at its
    batch (`Case.gathered_in`). Returns how many batches. A storm's page is ten batches: they are written in three
    statements (the rows, one UPDATE of their cases, their posts), not an ORM flush each, so the lock is held
    briefly."""
    chunks = [
        (surge_id, listed[start : start + BATCH_SIZE])
        for surge_id, listed in entries.items()
        for start in range(0, len(listed), BATCH_SIZE)
    ]
    if not chunks:
        return 0
    batch_ids = session.scalars(
        insert(SurgeBatch).returning(SurgeBatch.id, sort_by_parameter_order=True),
        [{"surge_id": surge_id, "created_at": now, "entries": chunk} for surge_id, chunk in chunks],
    ).all()
    batch_of = {
        case_id: batch_id
        for batch_id, (_, chunk) in zip(batch_ids, chunks, strict=True)
        for case_id, _, again in chunk
        if not again
    }
    if batch_of:
        session.execute(
            update(Case)
            .where(Case.id.in_(batch_of))
            .values(gathered_in=case(batch_of, value=Case.id))
            .execution_options(synchronize_session=False)
        )
    session.execute(
        insert(OutboxItem), [outbox.row(BATCH, None, BATCH_RANK, now, {"batch_id": batch_id}) for batch_id in batch_ids]
    )
    return len(batch_ids)


def waiting_parents(session: Session, *, now: datetime) -> Waiting:
    """The ongoing surge's new low/normal cases whose message has not started, oldest first, GATHER_LIMIT at most
    (with no surge on, those of the minute before `now`: a tick about to start one gathers them). The surge counts
    from a minute before it was noticed, as its alert does."""
    surge = current(session)
    since = (surge.started_at if surge is not None else now) - WINDOW
    first = select(func.min(Mention.id)).where(Mention.case_id == Case.id).correlate(Case).scalar_subquery()
    rows = session.execute(
        select(OutboxItem.id, Case.id, first)
        .join(Case, Case.id == OutboxItem.case_id)
        .where(
            OutboxItem.lane == outbox.SLACK,
            OutboxItem.kind == "post_parent",
            OutboxItem.state == outbox.PENDING,
            OutboxItem.lease_until.is_(None),
            OutboxItem.attempts == 0,
            Case.priority.in_(GATHERED),
            # the minute before the start is the surge's too (the alert counts it): its waiting posts are
            # gathered like the rest instead of holding the channel for minutes once the surge is noticed
            Case.created_at > since,
            Case.slack_ts.is_(None),
            Case.gathered_in.is_(None),
            # a customer's private message is a conversation with us, not part of the public storm: its own message
            Case.last_private_at.is_(None),
        )
        .order_by(OutboxItem.id)
        .limit(GATHER_LIMIT)
    )
    return [(int(item_id), int(case_id), int(mention_id)) for item_id, case_id, mention_id in rows]


def _withdraw_waiting(session: Session, item_ids: list[int], *, now: datetime) -> set[int]:
    """Cancel, in one statement, those of these case messages no worker has leased or tried; the ids it did."""
    if not item_ids:
        return set()
    taken = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id.in_(item_ids),
            OutboxItem.state == outbox.PENDING,
            OutboxItem.lease_until.is_(None),
            OutboxItem.attempts == 0,
        )
        .values(state=outbox.CANCELLED, done_at=now, last_error="gathered into a surge batch")
        .returning(OutboxItem.id)
        .execution_options(synchronize_session=False)
    )
    return {int(item_id) for item_id in taken.scalars()}


def _waiting_on_gathered(session: Session, *, now: datetime) -> list[tuple[OutboxItem, int, int]]:
    """Slack items of gathered cases (no message of their own) that no worker holds, oldest first."""
    rows = session.execute(
        select(OutboxItem, Case.id, Case.gathered_in)
        .join(Case, Case.id == OutboxItem.case_id)
        .where(
            OutboxItem.lane == outbox.SLACK,
            OutboxItem.state == outbox.PENDING,
            OutboxItem.kind.in_(("thread_note", "update_parent", reminders.REMINDER)),
            or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            Case.gathered_in.is_not(None),
            Case.slack_ts.is_(None),
        )
        .order_by(OutboxItem.id)
        .limit(GATHER_LIMIT)
    ).all()
    return [(item, case_id, int(gathered_in or 0)) for item, case_id, gathered_in in rows]


def _customer_post(session: Session, item: OutboxItem) -> int | None:
    """The mention a thread note is about, when it is the customer's (wrote again, edited): listed in a batch."""
    if item.kind != "thread_note" or "event_id" not in item.payload:
        return None
    event = session.get(CaseEvent, item.payload["event_id"])
    if event is None or event.kind not in ("mention_added", "mention_edited"):
        return None
    mention_id = (event.detail or {}).get("mention_id")
    return int(mention_id) if mention_id is not None else None


def _withdraw(session: Session, item_id: int, *, now: datetime, why: str) -> bool:
    """Cancel a pending item no worker holds (a lapsed lease is nobody's); False if a worker took it first."""
    return bool(
        updated(
            session,
            update(OutboxItem)
            .where(
                OutboxItem.id == item_id,
                OutboxItem.state == outbox.PENDING,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .values(state=outbox.CANCELLED, done_at=now, last_error=why)
            .execution_options(synchronize_session=False),
        )
    )


def _ungather(session: Session, case_id: int) -> int | None:
    """Take the case out of its batch (a conditional UPDATE: of two clicks or ticks, one wins); its batch's id."""
    batch_id = session.scalar(select(Case.gathered_in).where(Case.id == case_id))
    if batch_id is None:
        return None
    won = updated(
        session,
        update(Case)
        .where(Case.id == case_id, Case.gathered_in == batch_id, Case.slack_ts.is_(None))
        .values(gathered_in=None)
        .execution_options(synchronize_session=False),
    )
    return batch_id if won else None


def _open(session: Session, *, case_id: int, batch_id: int, actor: str, now: datetime, rank: int) -> None:
    """Queue the case's message as for any new case, record why, and mark it opened in the batches listing it."""
    case = session.get(Case, case_id, populate_existing=True)
    assert case is not None
    # what waits on the case (a customer's note the tick has not listed yet, a reminder) goes behind its message,
    # in order, instead of failing before it; a refresh is dropped, the message is rendered when sent
    held = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.case_id == case_id,
            OutboxItem.lane == outbox.SLACK,
            OutboxItem.state == outbox.PENDING,
            OutboxItem.kind.in_(("thread_note", "update_parent", reminders.REMINDER)),
        )
        .order_by(OutboxItem.id)
    ).all()
    moved = [item for item in held if _withdraw(session, item.id, now=now, why="moved behind the case's own message")]
    outbox.enqueue(session, lane=outbox.SLACK, kind="post_parent", case_id=case_id, priority_rank=rank, now=now)
    for item in moved:
        if item.kind != "update_parent":
            outbox.enqueue(
                session,
                lane=outbox.SLACK,
                kind=item.kind,
                case_id=case_id,
                priority_rank=item.priority_rank,
                payload=dict(item.payload),
                now=now,
            )
    # no thread note: the case message itself shows it, and the batch says who opened it
    cases.record(session, case, actor=actor, kind=OPENED, now=now, note=False, detail={"batch_id": batch_id})
    surge_id = session.scalar(select(SurgeBatch.surge_id).where(SurgeBatch.id == batch_id))
    later = session.execute(
        select(SurgeBatch.id, SurgeBatch.entries).where(SurgeBatch.surge_id == surge_id, SurgeBatch.id >= batch_id)
    )
    for listing, listed in later:
        if any(entry[0] == case_id for entry in listed):
            _enqueue_batch_update(session, batch_id=listing, now=now)


def _enqueue_batch_update(session: Session, *, batch_id: int, now: datetime) -> None:
    """Queue a re-render of a batch message, unless one not yet started waits: it renders the latest when sent."""
    waiting = session.scalars(
        select(OutboxItem.payload).where(
            OutboxItem.kind == BATCH_UPDATE, OutboxItem.state == outbox.PENDING, OutboxItem.lease_until.is_(None)
        )
    ).all()
    if any(payload.get("batch_id") == batch_id for payload in waiting):
        return
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=BATCH_UPDATE,
        priority_rank=outbox.STAFF_RANK,
        payload={"batch_id": batch_id},
        now=now,
    )


def redraw_listings(session: Session, *, case_id: int, now: datetime) -> int:
    """Re-render every surge message that shows this case: each batch listing its posts, and each alert naming it
    among the worst. For an erasure (or a post deleted on the platform): they are rendered from the erased rows
    when sent, so the quoted text leaves Slack. Returns how many messages were queued for a re-render."""
    queued = 0
    for batch_id, entries in session.execute(select(SurgeBatch.id, SurgeBatch.entries)):
        if batch_id is not None and any(entry[0] == case_id for entry in entries or []):
            _enqueue_batch_update(session, batch_id=batch_id, now=now)
            queued += 1
    for surge_id, shown in session.execute(select(Surge.id, Surge.shown)):
        if any(example[0] == case_id for example in (shown or {}).get("worst", [])):
            _enqueue_update(session, surge_id=surge_id, now=now)
            queued += 1
    return queued


def open_gathered(session: Session, *, case_id: int, user_id: str, now: datetime) -> bool:
    """The "Open as case" button: the gathered case gets its message with the usual buttons, in the staff band
    (someone asked for it). False when it is not gathered any more (opened already: a second click does nothing)."""
    batch_id = _ungather(session, case_id)
    if batch_id is None:
        return False
    outbox.staff_action(session, case_id=case_id)
    _open(session, case_id=case_id, batch_id=batch_id, actor=user_id, now=now, rank=outbox.STAFF_RANK)
    return True


def record_batch(session: Session, *, batch_id: int, ts: str) -> None:
    """Slack took the batch: "Open as case" updates this message."""
    session.execute(
        update(SurgeBatch)
        .where(SurgeBatch.id == batch_id, SurgeBatch.slack_ts.is_(None))
        .values(slack_ts=ts)
        .execution_options(synchronize_session=False)
    )


# -- what the alert shows -------------------------------------------------------------------------
def summary(session: Session, *, since: datetime, until: datetime, found: Reading, peak: int) -> dict[str, Any]:
    """The figures of the surge's mentions (received after `since`, up to `until`), as stored in `surges.shown`.

    Plain JSON, compared with the stored one to decide whether the alert needs an update. It reads thousands of
    posts in a big surge: the scheduler asks it on a read snapshot (`judge`), never under the write lock."""
    window = (Mention.received_at > since, Mention.received_at <= until)
    mix = session.execute(
        select(
            func.coalesce(func.sum(case((Mention.sentiment <= NEGATIVE, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Mention.sentiment >= POSITIVE, 1), else_=0)), 0),
            func.count(),
        ).where(*window)
    ).one()
    negative, positive, mentions = int(mix[0]), int(mix[1]), int(mix[2])
    cases = _cases_answered(session, since=since, until=until)
    words, phrases = _terms(session, window)
    counted = min(mentions, TEXT_SAMPLE)
    worst = _worst(session, window)
    states = {row.id: [row.status, row.owner_id] for row in _states(session, [c for c, _ in worst])}
    return {
        "rate": found.rate,
        "backlog": found.backlog,
        "peak": peak,
        "mentions": mentions,
        "cases": cases[0],
        "answered": cases[1],
        "mix": [negative, mentions - negative - positive, positive],
        "terms": [[t, n] for t, n in words],
        "phrases": [[p, n] for p, n in phrases],
        "counted": counted,  # the posts the terms were counted in (the latest TEXT_SAMPLE of a big surge)
        # each shown with its case's buttons and state: a claim or a resolve changes what the alert must show
        "worst": [[case_id, mention_id, *states.get(case_id, [None, None])] for case_id, mention_id in worst],
    }


def _cases_answered(session: Session, *, since: datetime, until: datetime) -> tuple[int, int]:
    """New cases in the window, and how many of them have had their first response (the stored wait is set)."""
    found = session.execute(
        select(func.count(), func.count(Case.first_response_wait)).where(
            Case.created_at > since, Case.created_at <= until
        )
    ).one()
    return int(found[0]), int(found[1])


# -- the surges in the figures -----------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """A surge as `/care stats`, the digest and the Home tab name it: when, how many, how many answered so far."""

    started_at: datetime
    ended_at: datetime | None  # None: it is going on
    mentions: int
    cases: int  # new cases it brought
    answered: int  # of those, how many have had their first response
    peak_per_min: int
    channel: str
    ts: str | None  # the alert, once Slack has taken it


def during(session: Session, *, start: datetime, end: datetime, now: datetime) -> list[Figures]:
    """The surges that were on at some moment of [start, end), oldest first, with their totals as they stand at
    `now` (a surge still on counts up to now). Counted as the alert counts: from a minute before it started."""
    found = session.scalars(
        select(Surge)
        .where(Surge.started_at < end, or_(Surge.ended_at.is_(None), Surge.ended_at >= start))
        .order_by(Surge.started_at)
    ).all()
    listed = []
    for surge in found:
        since, until = surge.started_at - WINDOW, surge.ended_at or now
        mentions = session.scalar(
            select(func.count()).select_from(Mention).where(Mention.received_at > since, Mention.received_at <= until)
        )
        new, answered = _cases_answered(session, since=since, until=until)
        listed.append(
            Figures(
                started_at=surge.started_at,
                ended_at=surge.ended_at,
                mentions=int(mentions or 0),
                cases=new,
                answered=answered,
                peak_per_min=surge.peak_per_min,
                channel=surge.slack_channel,
                ts=surge.slack_ts,
            )
        )
    return listed


def _worst(session: Session, window: tuple[Any, ...]) -> list[tuple[int, int]]:
    """The most negative mentions of the window, one per case: (case id, mention id), worst first."""
    rows = session.execute(
        select(Mention.case_id, Mention.id)
        .where(*window, Mention.sentiment <= NEGATIVE)
        .order_by(Mention.sentiment, Mention.id)
        .limit(WORST * 4)
    ).all()
    picked: dict[int, int] = {}
    for case_id, mention_id in rows:
        picked.setdefault(case_id, mention_id)
    return list(picked.items())[:WORST]


def _states(session: Session, case_ids: list[int]) -> list[Any]:
    if not case_ids:
        return []
    return list(session.execute(select(Case.id, Case.status, Case.owner_id).where(Case.id.in_(case_ids))))


# English function words, and what social posts are full of without saying anything (rt, amp from &amp;, via)
_STOP_TEXT = """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's i i'd i'll i'm i've if im in into is isn't it it's its itself just let's
    me more most mustn't my myself no nor not now of off on once only or other ought our ours ourselves out over
    own same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through to too under
    until up us very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves also still really one will yes yeah ok okay oh please thanks thank hi hey
    rt amp via http https www com"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_WORD = re.compile(r"#?[a-z0-9][a-z0-9']*")
_CLAUSE = re.compile(r"[.,;:!?()\n]+")


def words(text: str) -> list[str]:
    """A post's words, lower case, in order: links and @handles left out (they name the brand, not the problem)."""
    return _words(_clean(text))


def _clean(text: str) -> str:
    return _HANDLE.sub(" ", _URL.sub(" ", text.lower().replace("\u2019", "'")))


def _words(cleaned: str) -> list[str]:
    return [w.rstrip("'") for w in _WORD.findall(cleaned)]


def _content(word: str) -> bool:
    bare = word.lstrip("#")
    return len(bare) >= 3 and word not in STOP_WORDS and not bare.isdigit()


def common_terms(
    texts: Iterable[str], *, terms: int = TERMS, phrases: int = PHRASES
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The most common words and two-word phrases (adjacent, neither a stop word), each counted once per post so one
    angry thread cannot outweigh a hundred customers; only those in at least two posts. Ties go alphabetically,
    so the same posts always give the same answer."""
    single: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for text in texts:
        cleaned = _clean(text)
        single.update({w for w in _words(cleaned) if _content(w)})
        post_pairs: set[str] = set()
        for clause in _CLAUSE.split(cleaned):  # a phrase never runs across a full stop or a comma
            found = _words(clause)
            post_pairs.update(f"{a} {b}" for a, b in zip(found, found[1:], strict=False) if _content(a) and _content(b))
        pairs.update(post_pairs)
    return _top(single, terms), _top(pairs, phrases)


def _top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(((k, v) for k, v in counts.items() if v >= 2), key=lambda kv: (-kv[1], kv[0]))[:n]


# -- rendering's data ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    case: Case
    mention: Mention


@dataclass(frozen=True)
class Alert:
    """A surge as its alert shows it: read by the Slack lane at delivery, rendered by bot/blocks/surge.py."""

    surge_id: int
    channel: str
    ts: str | None
    started_at: datetime
    ended_at: datetime | None
    shown: dict[str, Any]
    examples: list[Example]


def alert(session: Session, *, surge_id: int) -> Alert | None:
    surge = session.get(Surge, surge_id)
    if surge is None:
        return None
    examples = []
    for case_id, mention_id, *_ in surge.shown.get("worst", []):
        found_case, found_mention = session.get(Case, case_id), session.get(Mention, mention_id)
        if found_case is not None and found_mention is not None:  # an erased case is no longer shown
            examples.append(Example(found_case, found_mention))
    return Alert(
        surge_id=surge.id,
        channel=surge.slack_channel,
        ts=surge.slack_ts,
        started_at=surge.started_at,
        ended_at=surge.ended_at,
        shown=dict(surge.shown),
        examples=examples,
    )


@dataclass(frozen=True)
class Entry:
    """One post listed in a batch, with its case as it stands: `opened_by` says who opened it as a case."""

    case: Case
    mention: Mention
    again: bool
    opened: bool
    opened_by: str | None


@dataclass(frozen=True)
class Batch:
    """A batch message as the Slack lane renders it when sent (bot/blocks/surge.py `batch_message`)."""

    batch_id: int
    channel: str
    alert_ts: str | None  # the alert's thread: the batch waits until Slack has taken the alert
    ts: str | None
    entries: list[Entry]


def batch(session: Session, *, batch_id: int) -> Batch | None:
    found = session.get(SurgeBatch, batch_id)
    surge = session.get(Surge, found.surge_id) if found is not None else None
    if found is None or surge is None:
        return None
    listed = []
    for case_id, mention_id, again in found.entries:
        listed_case, mention = session.get(Case, case_id), session.get(Mention, mention_id)
        if listed_case is None or mention is None:  # erased since: no longer shown
            continue
        opened = listed_case.gathered_in is None
        opened_by = (
            session.scalar(
                select(CaseEvent.actor)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == OPENED)
                .order_by(CaseEvent.id.desc())
                .limit(1)
            )
            if opened
            else None
        )
        listed.append(Entry(listed_case, mention, bool(again), opened, opened_by))
    return Batch(
        batch_id=found.id, channel=surge.slack_channel, alert_ts=surge.slack_ts, ts=found.slack_ts, entries=listed
    )
