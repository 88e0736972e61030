"""The transactional outbox: what must reach Slack or a platform, stored with the change that caused it.

Items are written in the caller's transaction, so a committed change always has its delivery queued
and a rolled-back one never does. Workers lease items with a conditional UPDATE (works the same on
SQLite and PostgreSQL), so several processes can share one queue and an item whose worker died is
picked up again when its lease runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.db import updated
from bot.models import Case, CaseEvent, ChannelPace, OutboxItem

SLACK = "slack"
PLATFORM = "platform"

PENDING = "pending"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

# Short leases, renewed by the worker every RENEW_SECONDS while it holds an item (bot/outbox/worker.py): an item
# whose worker was killed is taken up by another process within seconds, not after a minute.
LEASE_SECONDS = 15
RENEW_SECONDS = 5

# What a person's click changes goes before new case messages, whatever the case's priority: the clicker
# waits to see it, and a chat.update is not bound by chat.postMessage's per-channel pace. The band is a
# priority_rank below every case priority (0 = urgent), so the ready index still orders the queue.
STAFF_RANK = -1
# chat.update of a message already posted: rendered from the database when sent, so idempotent, and only
# ever waiting for the case message itself to be posted (never for thread notes). "surge_update" is the spike
# alert's (bot/services/surge.py UPDATE): it belongs to no case, so nothing waits on it; "surge_batch_update" marks
# a post gathered in the alert's thread as opened as a case (surge.BATCH_UPDATE).
UPDATE_KINDS = ("update_parent", "redact_message", "surge_update", "surge_batch_update")


@dataclass(frozen=True)
class Leased:
    id: int
    kind: str
    case_id: int | None
    payload: dict[str, Any]
    attempts: int
    lease_owner: str
    progress: dict[str, Any] = field(default_factory=dict)  # checkpoints of a multi-step item's earlier attempts


def enqueue(
    session: Session,
    *,
    lane: str,
    kind: str,
    now: datetime,
    case_id: int | None = None,
    priority_rank: int = 2,
    payload: dict[str, Any] | None = None,
    delay: timedelta | None = None,
) -> OutboxItem:
    if lane == SLACK and _staff_caused(session, kind, payload or {}):
        priority_rank = STAFF_RANK
        if case_id is not None:  # the refresh of the case message this click also queues goes first too
            session.info.setdefault(_STAFF_CASES, set()).add(case_id)
    item = OutboxItem(
        lane=lane,
        kind=kind,
        case_id=case_id,
        priority_rank=priority_rank,
        payload=payload or {},
        state=PENDING,
        attempts=0,
        available_at=now + delay if delay else now,
        created_at=now,
        result={},
    )
    session.add(item)
    session.flush()
    return item


def row(
    kind: str,
    case_id: int | None,
    rank: int,
    now: datetime,
    payload: dict[str, Any] | None = None,
    *,
    severity: float = 0.0,
) -> dict[str, Any]:
    """A Slack-lane outbox row as `enqueue` writes it, for Core INSERTs of many at once (ingest, a storm's
    batches)."""
    return {
        "severity": severity,
        "lane": SLACK,
        "kind": kind,
        "case_id": case_id,
        "priority_rank": rank,
        "payload": payload or {},
        "state": PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
        "result": {},
    }


_STAFF_CASES = "care_outbox_staff_cases"  # session.info: cases a person acted on in this unit of work
_ECHO_CASES = "care_outbox_echo_cases"  # session.info: cases whose click the listener shows in place itself
# How long a clicked case's refresh waits for the listener to send it through the click's response_url
# (bot/outbox/echo.py) before a worker sends it by chat.update: the echo's own timeout is shorter.
ECHO_GRACE = timedelta(seconds=3)


def staff_action(session: Session, *, case_id: int) -> None:
    """Mark this unit of work as a person's action on the case: its parent refresh goes in the staff band
    (a thread note of a person's event marks it by itself; this is for an action that writes no note)."""
    session.info.setdefault(_STAFF_CASES, set()).add(case_id)


def answer_in_place(session: Session, *, case_id: int, channel: str, ts: str) -> bool:
    """A click on message `ts`: when that is the case's own message, mark this unit of work so the refresh it
    queues waits ECHO_GRACE for the listener to send it through the click's response_url (bot/outbox/echo.py)
    instead of a worker sending it by chat.update. False for a click elsewhere (a spike alert's example)."""
    case = session.get(Case, case_id)
    if case is None or (case.slack_channel, case.slack_ts) != (channel, ts):
        return False
    session.info.setdefault(_ECHO_CASES, set()).add(case_id)
    return True


def echo_refresh(session: Session, *, case_id: int, now: datetime) -> int | None:
    """The case's refresh a listener may send now, whatever its `available_at`: pending, free, and with no
    earlier render of the case message still pending (its updates keep their order, as `ready` keeps them)."""
    older = aliased(OutboxItem)
    earlier = (
        select(older.id)
        .where(
            older.case_id == case_id,
            older.lane == SLACK,
            older.state == PENDING,
            older.id < OutboxItem.id,
            older.kind.in_(("post_parent", "update_parent")),
        )
        .exists()
    )
    return session.scalar(
        select(OutboxItem.id)
        .where(
            OutboxItem.case_id == case_id,
            OutboxItem.lane == SLACK,
            OutboxItem.kind == "update_parent",
            OutboxItem.state == PENDING,
            or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            ~earlier,
        )
        .order_by(OutboxItem.id)
        .limit(1)
    )


def _staff_caused(session: Session, kind: str, payload: dict[str, Any]) -> bool:
    """A redaction (an erasure someone asked for), or a thread note of something a person did (not a
    customer's post, not a sweep's reminder)."""
    if kind == "redact_message":
        return True
    if kind != "thread_note" or "event_id" not in payload:
        return False
    event = session.get(CaseEvent, payload["event_id"])  # just flushed by the caller: no query
    return event is not None and event.actor[:1] in ("U", "W")


def lease_next(
    session: Session,
    *,
    lane: str,
    owner: str,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    except_kinds: tuple[str, ...] | None = None,
) -> Leased | None:
    """Lease the most urgent ready item of `lane` in one transaction (`ready` then `claim`)."""
    found = ready(session, lane=lane, now=now, kinds=kinds, except_kinds=except_kinds)
    return claim(session, found, owner=owner, now=now)


def ready(
    session: Session,
    *,
    lane: str,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    except_kinds: tuple[str, ...] | None = None,
    limit: int = 10,
) -> list[int]:
    """The most urgent ready items of `lane`, keeping each case's items in the order they were written.

    Most urgent: by priority (the staff band first), then by severity (a new case's sentiment: in a storm the
    worst complaint goes before the milder ones that came earlier), then the longest waiting.

    An item is ready when it is pending, due, unleased (or its lease expired) and no older pending item
    of the same case is still waiting: a thread note must not overtake the parent message it hangs on.
    `kinds` limits it to those kinds (only updates: the updates worker, or posts paused); `except_kinds`
    leaves those out (the posts worker).

    Only reads, so a worker runs it on a read snapshot and holds no write lock while it scans the queue
    (with a storm's thousands of pending posts the scan, not the claim, is what costs). A stale snapshot is
    safe: items only ever leave the pending state, so it can only show an item as still blocking, and
    `claim` re-checks that each item is still free.
    """
    key = (lane, kinds, except_kinds, limit)
    query = _READY.get(key)
    if query is None:
        query = _READY[key] = _ready_query(lane, kinds, except_kinds, limit)
    return list(session.scalars(query, {"now": now}))


_READY: dict[tuple[str, tuple[str, ...] | None, tuple[str, ...] | None, int], Select[Any]] = {}


def _ready_query(
    lane: str, kinds: tuple[str, ...] | None, except_kinds: tuple[str, ...] | None, limit: int
) -> Select[Any]:
    """Built once per worker's question and reused with `now` bound: every worker asks it several times a
    second, and building it each time cost more than PostgreSQL took to answer it."""
    now = bindparam("now", type_=OutboxItem.__table__.c.available_at.type)
    older = aliased(OutboxItem)
    blocked_by_older = (
        select(older.id)
        .where(
            older.case_id == OutboxItem.case_id,
            older.lane == OutboxItem.lane,
            older.state == PENDING,
            older.id < OutboxItem.id,
            # an update waits only for the case message (and an earlier update); a note for all but updates
            or_(
                and_(OutboxItem.kind.in_(UPDATE_KINDS), older.kind.in_(("post_parent", "update_parent"))),
                and_(OutboxItem.kind.not_in(UPDATE_KINDS), older.kind.not_in(UPDATE_KINDS)),
            ),
        )
        .exists()
    )
    return (
        select(OutboxItem.id)
        .where(
            OutboxItem.lane == lane,
            OutboxItem.state == PENDING,
            OutboxItem.available_at <= now,
            or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            or_(OutboxItem.case_id.is_(None), ~blocked_by_older),
            *([OutboxItem.kind.in_(kinds)] if kinds else []),
            *([OutboxItem.kind.not_in(except_kinds)] if except_kinds else []),
        )
        .order_by(OutboxItem.priority_rank, OutboxItem.severity, OutboxItem.available_at, OutboxItem.id)
        .limit(limit)
    )


def claim(session: Session, ids: list[int], *, owner: str, now: datetime) -> Leased | None:
    """Lease the first of `ids` still pending and free (a conditional UPDATE: one process wins each item)."""
    found = claim_many(session, ids, owner=owner, now=now, limit=1)
    return found[0] if found else None


def claim_many(session: Session, ids: list[int], *, owner: str, now: datetime, limit: int) -> list[Leased]:
    """Lease up to `limit` of `ids`, in their order, in one transaction (fifty clicks' updates were fifty
    write transactions queueing behind the clicks' own). `ready` never offers two items of one case that
    must go in order, so leasing several at once keeps each case's order."""
    leased: list[Leased] = []
    for item_id in ids:
        if len(leased) >= limit:
            break
        claimed = updated(
            session,
            update(OutboxItem)
            .where(
                OutboxItem.id == item_id,
                OutboxItem.state == PENDING,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .values(
                lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=OutboxItem.attempts + 1
            )
            .execution_options(synchronize_session=False),
        )
        if claimed == 1:
            item = session.get(OutboxItem, item_id, populate_existing=True)
            assert item is not None
            leased.append(
                Leased(
                    item.id, item.kind, item.case_id, dict(item.payload), item.attempts, owner, dict(item.result or {})
                )
            )
    return leased


def renew(session: Session, *, ids: list[int], owner: str, now: datetime) -> int:
    """Extend the leases `owner` still holds on `ids` (its calls in flight); returns how many it still holds."""
    if not ids:
        return 0
    return updated(
        session,
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.lease_owner == owner, OutboxItem.state == PENDING)
        .values(lease_until=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False),
    )


ORPHAN_GRACE = 2.0  # seconds left to a dead process's lease: a call it had in flight has landed by then


def end_orphan_leases(
    session: Session, *, owner_prefix: str, gone: Callable[[str], bool], now: datetime, grace: float = ORPHAN_GRACE
) -> int:
    """Shorten to `grace` seconds the leases held by owners (named `owner_prefix…`) that `gone` proves dead.

    A process killed while holding items would have them waited out for up to LEASE_SECONDS; its successor
    on the same host knows better. Not at once: a post the dead process had in flight may still be landing
    in Slack, and the next attempt looks for it by its metadata before posting (see slack_lane), so it
    should look after it has landed. Returns how many leases were shortened.
    """
    until = now + timedelta(seconds=grace)
    owners = session.scalars(
        select(OutboxItem.lease_owner)
        .where(
            OutboxItem.state == PENDING,
            OutboxItem.lease_until > until,
            OutboxItem.lease_owner.startswith(owner_prefix, autoescape=True),
        )
        .distinct()
    ).all()
    dead = [owner for owner in owners if owner is not None and gone(owner)]
    if not dead:
        return 0
    return updated(
        session,
        update(OutboxItem)
        .where(OutboxItem.state == PENDING, OutboxItem.lease_owner.in_(dead), OutboxItem.lease_until > until)
        .values(lease_until=until)
        .execution_options(synchronize_session=False),
    )


def release(
    session: Session,
    leased: Leased,
    *,
    error: str | None = None,
    unsent: bool = False,
    available_at: datetime | None = None,
) -> None:
    """Give the item back where it stood in the queue (its `available_at` untouched unless given), for any
    worker to take next: the lane is paused (an outage, a channel's pace) or stopping. `unsent`: nothing
    reached Slack in this attempt, so it does not count as one (a later attempt need not look for an earlier
    post)."""
    item = _owned(session, leased)
    if item is None:
        return
    item.lease_until = None
    if available_at is not None:
        item.available_at = available_at
    if unsent:
        item.attempts = max(0, item.attempts - 1)
    if error is not None:
        item.last_error = error


def _owned(session: Session, leased: Leased) -> OutboxItem | None:
    """The item, if our lease still holds: a worker that lost its lease must not overwrite another's result."""
    item = session.get(OutboxItem, leased.id, populate_existing=True)
    if item is None or item.state != PENDING or item.lease_owner != leased.lease_owner:
        return None
    return item


def complete(session: Session, leased: Leased, *, now: datetime, result: dict[str, Any] | None = None) -> bool:
    item = _owned(session, leased)
    if item is None:
        return False
    item.state, item.done_at, item.lease_until, item.result = DONE, now, None, result or {}
    return True


def checkpoint(session: Session, leased: Leased, *, progress: dict[str, Any]) -> bool:
    """Record how far a multi-step item got (e.g. the digest was posted, the chart not yet uploaded),
    so the next attempt after a failure or a crash resumes there instead of repeating a step."""
    item = _owned(session, leased)
    if item is None:
        return False
    item.result = dict(progress)
    return True


def retry_later(session: Session, leased: Leased, *, now: datetime, delay: float, error: str) -> None:
    item = _owned(session, leased)
    if item is None:
        return
    item.available_at = now + timedelta(seconds=delay)
    item.lease_until = None
    item.last_error = error


def give_up(session: Session, leased: Leased, *, now: datetime, error: str) -> None:
    item = _owned(session, leased)
    if item is None:
        return
    item.state, item.done_at, item.lease_until, item.last_error = FAILED, now, None, error


def cancel_pending_sends(
    session: Session, *, case_id: int, purpose: str, now: datetime, reason: str
) -> list[dict[str, Any]]:
    """Withdraw a case's queued platform sends of one purpose that no worker holds; returns their payloads."""
    items = session.scalars(
        select(OutboxItem).where(
            OutboxItem.case_id == case_id,
            OutboxItem.lane == PLATFORM,
            OutboxItem.kind == "send",
            OutboxItem.state == PENDING,
        )
    ).all()
    cancelled = []
    for item in items:
        held = item.lease_owner is not None and item.lease_until is not None and item.lease_until > now
        if item.payload.get("purpose") == purpose and not held:
            item.state, item.done_at, item.last_error = CANCELLED, now, reason
            cancelled.append(dict(item.payload))
    return cancelled


# A render of a case message that has not started yet (its first post, or a refresh): it will show every change
# made before it is sent, so a new change need not queue another. Ingest's Core statements use it too.
PARENT_WAITING = and_(
    OutboxItem.kind.in_(("post_parent", "update_parent")),
    OutboxItem.state == PENDING,
    OutboxItem.lease_until.is_(None),
)


def enqueue_parent_refresh(session: Session, *, case_id: int, priority_rank: int, now: datetime) -> None:
    """Queue a re-render of the case's parent message, unless one not yet started is already queued.

    The parent message is rendered from the database at delivery time, so one queued refresh (or the
    not-yet-posted parent itself) already shows every change made before it is sent. A refresh for a
    person's action in this unit of work (its thread note was queued just before) goes in the staff band,
    and so does a waiting refresh it joins.
    """
    if case_id in session.info.get(_STAFF_CASES, ()):
        priority_rank = STAFF_RANK
    waiting = session.execute(
        select(OutboxItem.id, OutboxItem.kind).where(OutboxItem.case_id == case_id, PARENT_WAITING).limit(1)
    ).first()
    echo = case_id in session.info.get(_ECHO_CASES, ())
    if waiting is None:
        enqueue(
            session,
            lane=SLACK,
            kind="update_parent",
            case_id=case_id,
            priority_rank=priority_rank,
            now=now,
            delay=ECHO_GRACE if echo else None,
        )
    elif waiting.kind == "update_parent" and priority_rank == STAFF_RANK:  # it now carries a click: to the front
        values: dict[str, Any] = {"priority_rank": STAFF_RANK}
        if echo:  # ... and the listener will send it in place
            values["available_at"] = now + ECHO_GRACE
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == waiting.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def claim_post(session: Session, *, channel: str, now: datetime, interval: float) -> float:
    """Take the channel's next posting moment if it has come (then 0.0), else say how many seconds remain.

    One row per channel, shared by every replica: the conditional UPDATE lets exactly one of them have
    each moment, on SQLite and PostgreSQL alike, so the channel sees one pace however many processes post.
    """
    step = timedelta(seconds=interval)
    taken = updated(
        session,
        update(ChannelPace)
        .where(ChannelPace.channel == channel, ChannelPace.next_at <= now)
        .values(next_at=now + step)
        .execution_options(synchronize_session=False),
    )
    if taken:
        return 0.0
    next_at = session.scalar(select(ChannelPace.next_at).where(ChannelPace.channel == channel))
    if next_at is not None:
        return max(0.0, (next_at - now).total_seconds()) or 0.001  # taken by another replica at this instant
    try:
        with session.begin_nested():
            session.add(ChannelPace(channel=channel, next_at=now + step))
    except IntegrityError:  # another replica wrote the row first: its moment, not ours
        return interval
    return 0.0


def defer_channel(session: Session, *, channel: str, until: datetime) -> None:
    """Slack said to wait (429 Retry-After): no replica posts to the channel before `until`."""
    moved = updated(
        session,
        update(ChannelPace)
        .where(ChannelPace.channel == channel, ChannelPace.next_at < until)
        .values(next_at=until)
        .execution_options(synchronize_session=False),
    )
    if not moved and session.get(ChannelPace, channel) is None:
        try:
            with session.begin_nested():
                session.add(ChannelPace(channel=channel, next_at=until))
        except IntegrityError:
            defer_channel(session, channel=channel, until=until)


def pending_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxItem.lane, func.count()).where(OutboxItem.state == PENDING).group_by(OutboxItem.lane)
    )
    return {lane: int(count) for lane, count in rows}


@dataclass(frozen=True)
class LaneQueue:
    """A lane's waiting items: how many, and since when the oldest has waited (None: nothing waits)."""

    pending: int
    oldest_since: datetime | None


def queues(session: Session) -> dict[str, LaneQueue]:
    """Every lane's queue, both lanes always present: what /metrics and /readyz report, the same from every
    replica because it is read from the database."""
    rows = session.execute(
        select(OutboxItem.lane, func.count(), func.min(OutboxItem.created_at))
        .where(OutboxItem.state == PENDING)
        .group_by(OutboxItem.lane)
    )
    found = {lane: LaneQueue(int(count), oldest) for lane, count, oldest in rows}
    return {lane: found.get(lane, LaneQueue(0, None)) for lane in (SLACK, PLATFORM)} | found
