"""Lists of open cases for people: mine, the unclaimed queue, the oldest. Plain rows, links added by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Case, CaseStatus
from bot.services.triage import PRIORITY_RANK

EXCERPT = 120


@dataclass(frozen=True)
class CaseLine:
    """One case as a line in a list: enough to recognise it and to link to its thread."""

    case_id: int
    platform: str
    customer: str
    priority: str
    owner_id: str | None
    channel: str
    ts: str | None
    created_at: datetime
    first_response_at: datetime | None
    excerpt: str


def clip(text: str, limit: int = EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def case_line(case: Case) -> CaseLine:
    customer = f"{case.author_name} (@{case.author_handle})" if case.author_name else f"@{case.author_handle}"
    latest = case.mentions[-1].text if case.mentions else ""
    return CaseLine(
        case.id,
        case.platform,
        customer,
        case.priority,
        case.owner_id,
        case.slack_channel,
        case.slack_ts,
        case.created_at,
        case.first_response_at,
        clip(latest),
    )


def _open_cases(session: Session, *conditions: ColumnElement[bool], limit: int | None = None) -> list[Case]:
    query = (
        select(Case)
        .options(selectinload(Case.mentions))
        .where(Case.status == CaseStatus.OPEN, *conditions)
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _by_urgency(cases: list[Case]) -> list[CaseLine]:
    """Most urgent first, then the longest waiting."""
    ordered = sorted(cases, key=lambda c: (PRIORITY_RANK.get(c.priority, 2), c.created_at, c.id))
    return [case_line(c) for c in ordered]


def mine(session: Session, *, user_id: str) -> list[CaseLine]:
    """The open cases `user_id` owns, most urgent first."""
    return _by_urgency(_open_cases(session, Case.owner_id == user_id))


@dataclass(frozen=True)
class Queue:
    """Open cases as a person sees them: at most a few of each priority, most urgent first, and how many in all."""

    lines: tuple[CaseLine, ...]
    counts: dict[str, int]  # every case of the queue, by priority

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of(self, priority: str) -> list[CaseLine]:
        return [line for line in self.lines if line.priority == priority]


def _queue(session: Session, *conditions: ColumnElement[bool], per_priority: int) -> Queue:
    """Counted in SQL, and only the cases shown loaded: a storm's queue may hold tens of thousands."""
    counts = {
        str(priority): int(n)
        for priority, n in session.execute(
            select(Case.priority, func.count())
            .where(Case.status == CaseStatus.OPEN, *conditions)
            .group_by(Case.priority)
        )
    }
    lines: list[CaseLine] = []
    for priority in sorted(counts, key=lambda p: (PRIORITY_RANK.get(p, 2), p)):
        lines += [
            case_line(c) for c in _open_cases(session, Case.priority == priority, *conditions, limit=per_priority)
        ]
    return Queue(tuple(lines), counts)


def my_queue(session: Session, *, user_id: str, per_priority: int) -> Queue:
    """The open cases `user_id` owns: counted, and the first `per_priority` of each priority."""
    return _queue(session, Case.owner_id == user_id, per_priority=per_priority)


def unclaimed_queue(session: Session, *, per_priority: int) -> Queue:
    """The open cases nobody owns yet: counted, and the longest waiting `per_priority` of each priority."""
    return _queue(session, Case.owner_id.is_(None), per_priority=per_priority)


def oldest_open(session: Session, *, limit: int) -> list[CaseLine]:
    """The open cases waiting longest, oldest first."""
    return [case_line(c) for c in _open_cases(session, limit=limit)]
