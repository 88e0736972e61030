"""Returning customers: the author's earlier cases on the desk, so an agent knows a repeat complainer before answering.

"Earlier" means opened before this case by the same author on the same platform (any connector: a customer who
wrote once through the generic webhook and once by X API is still one person to the team). Read with one query
over `ix_cases_author_history` (platform, author_id, id): the count and the newest of them, from the index, then
its row by primary key in the same statement.

And who they are, when their platform told us only later: `name_author` gives the name a platform looked up (a
Messenger or Instagram sender, known at first only by a scoped id) to their cases that lack one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from bot.models import Case
from bot.services import erasure, outbox, triage
from bot.services.cases import lock_author


@dataclass(frozen=True)
class EarlierCases:
    """How many cases the customer had before this one, and the newest of them: where it stands and its thread."""

    count: int
    last_id: int
    last_status: str
    last_outcome: str | None
    last_channel: str
    last_ts: str | None  # its case message, once posted


def earlier_cases(session: Session, *, case_id: int, platform: str, author_id: str) -> EarlierCases | None:
    """The author's cases opened before `case_id` on `platform`, or None when this is their first (or they were
    erased: every erased case has the same placeholder author, and they are no one's history)."""
    if author_id == erasure.REMOVED_ID:
        return None
    earlier = (
        select(func.count().label("n"), func.max(Case.id).label("last_id"))
        .where(Case.platform == platform, Case.author_id == author_id, Case.id < case_id)
        .subquery()
    )
    last = aliased(Case)
    row = session.execute(
        select(earlier.c.n, last.id, last.status, last.outcome, last.slack_channel, last.slack_ts).join(
            last, last.id == earlier.c.last_id
        )
    ).first()
    if row is None:
        return None
    count, last_id, status, outcome, channel, ts = row
    return EarlierCases(
        count=int(count), last_id=last_id, last_status=status, last_outcome=outcome, last_channel=channel, last_ts=ts
    )


def earlier_for(session: Session, case: Case) -> EarlierCases | None:
    return earlier_cases(session, case_id=case.id, platform=case.platform, author_id=case.author_id)


def name_author(
    session: Session, *, platform: str, author_id: str, name: str | None, handle: str | None, now: datetime
) -> list[int]:
    """Give the author's cases on `platform` that have no name yet the `name` (and the `handle`, where theirs is
    still the bare id) their platform told us, and queue each one's case message to show it. Returns the ids of
    the cases changed. A name already shown, from a post or a person, is never replaced."""
    if author_id == erasure.REMOVED_ID:
        return []
    lock_author(session, platform=platform, author_id=author_id)  # a post joining meanwhile must not undo it
    cases = session.scalars(
        select(Case)
        .where(Case.platform == platform, Case.author_id == author_id, Case.author_name.is_(None))
        .order_by(Case.id)
    ).all()
    changed: list[int] = []
    for case in cases:
        better_handle = handle if handle and handle != author_id and case.author_handle == author_id else None
        if not name and not better_handle:
            continue
        case.author_name = name or None
        case.author_handle = better_handle or case.author_handle
        outbox.enqueue_parent_refresh(
            session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now
        )
        changed.append(case.id)
    return changed
