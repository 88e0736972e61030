"""Returning customers: the author's earlier cases on the desk, so an agent knows a repeat complainer before answering.

"Earlier" means opened before this case by the same author on the same platform (any connector: a customer who
wrote once through the generic webhook and once by X API is still one person to the team). Read with one query
over `ix_cases_author_history` (platform, author_id, id): the count and the newest of them, from the index, then
its row by primary key in the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from bot.models import Case
from bot.services import erasure


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
