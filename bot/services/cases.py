"""Case actions staff take from Slack: claim, reassign, escalate, ignore, resolve, reopen, drafting.

Every action appends to the case's event log and queues, in the same transaction, a note in the case
thread and a refresh of the parent message, so Slack always ends up showing what the database holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.db import note as db_note
from bot.errors import CaseClosed, CaseNotFound, OwnedByOther, UserError
from bot.models import Case, CaseEvent, CaseStatus
from bot.services import outbox, triage

IGNORE_REASONS = {"troll": "Troll", "spam": "Spam", "not_for_us": "Not for us"}
OUTCOMES = {"resolved": "Resolved", "moved_offline": "Moved offline", "walked_away": "Customer walked away"}
DRAFTING_EXPIRES = timedelta(minutes=20)


def get_case(session: Session, case_id: int, *, for_update: bool = False) -> Case:
    case = session.get(Case, case_id, with_for_update=for_update or None)
    if case is None:
        raise CaseNotFound(f"Case #{case_id} does not exist (any more).")
    return case


def lock_author(session: Session, *, platform: str, author_id: str) -> None:
    """Serialise the writes about one author's cases on PostgreSQL until the transaction ends: two posts arriving
    together join one case (ingest), and a post arriving during an erasure cannot write the name back.

    SQLite needs nothing here: every write transaction there already holds the database write lock.
    """
    lock_authors(session, [(platform, author_id)])


def lock_authors(session: Session, authors: Iterable[tuple[str, str]]) -> None:
    """`lock_author` for many (platform, author id) pairs in one round trip, always in the same order (by key),
    so two replicas locking overlapping sets never wait for each other in a circle."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {int.from_bytes(hashlib.sha256(f"{p}:{a}".encode()).digest()[:8], "big", signed=True) for p, a in authors}
    )
    if keys:  # unnest keeps the array's order, and the function runs once per element in that order
        session.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys}
        )


def record(
    session: Session,
    case: Case,
    *,
    actor: str,
    kind: str,
    now: datetime,
    text_sent: str | None = None,
    detail: dict[str, Any] | None = None,
    note: bool = True,
) -> CaseEvent:
    """Append an event; queue its thread note and a refresh of the parent message."""
    event = CaseEvent(case_id=case.id, at=now, actor=actor, kind=kind, text_sent=text_sent, detail=detail or {})
    session.add(event)
    db_note(session, "case_event", case_id=case.id, platform=case.platform, kind=kind, actor=actor)
    case.updated_at = now
    session.flush()
    rank = triage.PRIORITY_RANK[case.priority]
    if note:
        outbox.enqueue(
            session,
            lane=outbox.SLACK,
            kind="thread_note",
            case_id=case.id,
            priority_rank=rank,
            payload={"event_id": event.id},
            now=now,
        )
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=rank, now=now)
    return event


def require_open(session: Session, case_id: int) -> Case:
    case = get_case(session, case_id, for_update=True)
    if not case.is_open:
        raise CaseClosed(f"Case #{case.id} is {case.status}; reopen it first.")
    return case


def claim(session: Session, *, case_id: int, user_id: str, now: datetime, take_over: bool = False) -> Case:
    """Make `user_id` the owner. Taking a case from someone else must be confirmed (`take_over`)."""
    case = require_open(session, case_id)
    if case.owner_id == user_id:
        return case
    previous = case.owner_id
    if previous and not take_over:
        raise OwnedByOther(previous)
    case.owner_id = user_id
    record(
        session,
        case,
        actor=user_id,
        kind="took_over" if previous else "claimed",
        now=now,
        detail={"previous_owner": previous} if previous else {},
    )
    return case


def reassign(session: Session, *, case_id: int, user_id: str, new_owner: str, now: datetime) -> Case:
    """Hand the case to a teammate (from a reminder's Reassign button); the thread mentions them."""
    if not new_owner:
        raise UserError("Pick the teammate who should take this case.")
    case = require_open(session, case_id)
    if case.owner_id == new_owner:
        raise UserError("That teammate already owns this case.")
    previous = case.owner_id
    case.owner_id = new_owner
    record(
        session,
        case,
        actor=user_id,
        kind="reassigned",
        now=now,
        detail={"previous_owner": previous, "new_owner": new_owner},
    )
    return case


ESCALATE_AGAIN_AFTER = timedelta(minutes=15)


def escalate(session: Session, *, case_id: int, user_id: str, now: datetime, targets: tuple[str, ...]) -> Case:
    """Mark urgent and ping the escalation targets. A second Escalate soon after the first (two people, or one
    double click, which Slack delivers as two clicks) pings nobody again: the group was told minutes ago."""
    case = require_open(session, case_id)
    if case.escalated_at is not None and now - case.escalated_at < ESCALATE_AGAIN_AFTER:
        minutes = int((now - case.escalated_at).total_seconds() // 60)
        ago = f"{minutes} min ago" if minutes else "less than a minute ago"
        wait = int(ESCALATE_AGAIN_AFTER.total_seconds() // 60)
        raise UserError(
            f"This case was escalated {ago}, so nobody was pinged again. "
            f"Escalate again after {wait} minutes if nobody has picked it up."
        )
    case.priority = "urgent"
    case.escalated_at = now
    record(session, case, actor=user_id, kind="escalated", now=now, detail={"targets": list(targets)})
    return case


def _close(
    session: Session, *, case_id: int, user_id: str, status: str, outcome: str, detail: dict[str, Any], now: datetime
) -> Case:
    case = require_open(session, case_id)
    case.status, case.outcome, case.closed_at = status, outcome, now
    case.drafting_by = None
    # a closed case waits for nobody: no follow-up promise, no next-response clock if it is reopened
    case.follow_up_at, case.follow_up_by, case.awaiting_reply_since = None, None, None
    record(session, case, actor=user_id, kind=status, now=now, detail=detail)
    return case


def ignore(session: Session, *, case_id: int, user_id: str, reason: str, comment: str | None, now: datetime) -> Case:
    """Close without answering (troll, spam, not for us); the reason is kept for the record."""
    if reason not in IGNORE_REASONS:
        raise UserError("Pick a reason for ignoring this case.")
    return _close(
        session,
        case_id=case_id,
        user_id=user_id,
        status=CaseStatus.IGNORED,
        outcome=reason,
        detail={"reason": reason, "comment": comment},
        now=now,
    )


def resolve(session: Session, *, case_id: int, user_id: str, outcome: str, comment: str | None, now: datetime) -> Case:
    if outcome not in OUTCOMES:
        raise UserError("Pick the outcome of this case.")
    return _close(
        session,
        case_id=case_id,
        user_id=user_id,
        status=CaseStatus.RESOLVED,
        outcome=outcome,
        detail={"outcome": outcome, "comment": comment},
        now=now,
    )


def reopen(session: Session, *, case_id: int, user_id: str, now: datetime) -> Case:
    case = get_case(session, case_id, for_update=True)
    if case.is_open:
        return case
    previous = case.status
    case.status, case.outcome, case.closed_at = CaseStatus.OPEN, None, None
    record(session, case, actor=user_id, kind="reopened", now=now, detail={"was": previous})
    return case


def start_drafting(session: Session, *, case_id: int, user_id: str, now: datetime) -> Case:
    """Show on the parent message that `user_id` is writing a reply, so nobody else answers at once."""
    case = require_open(session, case_id)
    if case.drafting_by != user_id:
        case.drafting_by, case.drafting_since = user_id, now
        outbox.staff_action(session, case_id=case.id)  # "drafting" must show at once, ahead of new cases
        outbox.enqueue_parent_refresh(
            session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now
        )
    else:
        case.drafting_since = now
    return case


def stop_drafting(session: Session, *, case_id: int, user_id: str, now: datetime, draft: str | None = None) -> Case:
    """The Reply modal closed: keep whatever was typed, and clear the drafting marker."""
    case = get_case(session, case_id, for_update=True)
    if draft is not None and draft.strip():
        case.draft_text, case.draft_by = draft, user_id
    if case.drafting_by == user_id:
        case.drafting_by, case.drafting_since = None, None
        outbox.staff_action(session, case_id=case.id)
        outbox.enqueue_parent_refresh(
            session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now
        )
    return case


@dataclass(frozen=True)
class ReplyDraft:
    """What the Reply modal opens with: the case, who else is writing to this customer right now, and the case's
    last note in its thread (what happened last, beside the customer's post the modal shows anyway)."""

    case: Case
    other_drafter: str | None
    last_note: CaseEvent | None = None


# Events the Reply modal does not show as the thread's last note: the customer's posts (shown above it) and what
# posts no note at all (a case's arrival is its message, not a note).
NOT_NOTES = ("received", "mention_added", "mention_edited", "opened_from_surge")


def open_reply(session: Session, *, case_id: int, user_id: str, now: datetime) -> ReplyDraft:
    """`user_id` starts a reply: note it on the case message, and say if someone else is drafting already."""
    case = get_case(session, case_id)
    other = someone_else_drafting(case, user_id=user_id, now=now)
    last = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.not_in(NOT_NOTES))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    return ReplyDraft(start_drafting(session, case_id=case.id, user_id=user_id, now=now), other, last)


def someone_else_drafting(case: Case, *, user_id: str, now: datetime) -> str | None:
    """Who else is writing a reply right now, if anyone (a stale marker is ignored)."""
    if (
        case.drafting_by
        and case.drafting_by != user_id
        and case.drafting_since
        and now - case.drafting_since < DRAFTING_EXPIRES
    ):
        return case.drafting_by
    return None
