"""Lists of open cases for people: mine, the unclaimed queue, the oldest. Plain rows, links added by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Case, CaseStatus, Mention
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
    return _line(
        case.id,
        case.platform,
        case.author_name,
        case.author_handle,
        case.priority,
        case.owner_id,
        case.slack_channel,
        case.slack_ts,
        case.created_at,
        case.first_response_at,
        case.mentions[-1].text if case.mentions else "",
    )


def _line(
    case_id: int,
    platform: str,
    author_name: str | None,
    author_handle: str,
    priority: str,
    owner_id: str | None,
    channel: str,
    ts: str | None,
    created_at: datetime,
    first_response_at: datetime | None,
    latest: str | None,
) -> CaseLine:
    customer = f"{author_name} (@{author_handle})" if author_name else f"@{author_handle}"
    return CaseLine(
        case_id, platform, customer, priority, owner_id, channel, ts, created_at, first_response_at, clip(latest or "")
    )


def case_lines(session: Session, ids: Iterable[int], *, chunk: int = 2000) -> dict[int, CaseLine]:
    """The lines of many cases, from plain rows with each one's latest post: a storm's day of breaches may
    name tens of thousands, which as ORM objects with all their posts would cost seconds."""
    latest = (
        select(Mention.text)
        .where(Mention.case_id == Case.id)
        .order_by(Mention.id.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    columns = (
        Case.id,
        Case.platform,
        Case.author_name,
        Case.author_handle,
        Case.priority,
        Case.owner_id,
        Case.slack_channel,
        Case.slack_ts,
        Case.created_at,
        Case.first_response_at,
        latest,
    )
    wanted = sorted(set(ids))
    found: dict[int, CaseLine] = {}
    for first in range(0, len(wanted), chunk):
        for row in session.execute(select(*columns).where(Case.id.in_(wanted[first : first + chunk]))):
            found[row[0]] = _line(*row)
    return found


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
