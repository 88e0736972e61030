"""Team figures for a period: volume, first-response times, SLA attainment, breakdowns and sentiment.

`/care stats`, the daily digest and the Home tab all read their numbers here, so they always agree.
Days are calendar days in `CARE_TIMEZONE`; a period runs from local midnight of its first day.

How each figure is counted (the README repeats this for the people reading the numbers):

- *new*: cases created in the period; *resolved*: cases resolved in it (ignored ones are not
  "resolved"); *open*: cases open at the period's end. All by the case's current priority.
- *first-response time*: `first_response_at - created_at` (wall-clock time, what the customer felt)
  of the cases created in the period that have been answered.
- *percentiles* by linear interpolation between closest ranks: the value at position (n - 1) * p of
  the sorted times (numpy's default, `statistics.quantiles(method="inclusive")`), so the median of an
  even count is the mean of the middle two, and the 90th percentile of 1, 2, ..., 11 minutes is 10.
- *SLA attainment*, over cases created in the period: an answered case met its target when its
  first response came within `targets(priority).first_response` of *working* time (business hours,
  `SlaPolicy.met`); an open unanswered case whose working time already exceeds the target counts as
  missed; an open case still within it is pending (not counted yet); a case closed without any reply
  (ignored as spam, or resolved without a public answer) owed none and is not counted.
- *sentiment*: the mean VADER compound score of the mentions received, per local day and over the
  period, against the period of equal length just before it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.models import Case, CaseStatus, Mention
from bot.services.triage import PRIORITIES
from bot.sla import SlaPolicy

PERIOD_DAYS = {"today": 1, "7d": 7, "30d": 30}


class ClockedCase(Protocol):
    """What the figures read of a case: a stored `Case`, or the lighter `CaseFacts` the period queries load."""

    @property
    def priority(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


class CaseFacts(NamedTuple):
    """One case as the figures need it: a row of plain columns, not an ORM object (a period may hold 500,000)."""

    id: int
    platform: str
    priority: str
    status: str
    owner_id: str | None
    created_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None


FACT_COLUMNS = (
    Case.id,
    Case.platform,
    Case.priority,
    Case.status,
    Case.owner_id,
    Case.created_at,
    Case.first_response_at,
    Case.closed_at,
)
TREND_THRESHOLD = 0.05  # a change in mean compound score smaller than this is "steady"

MET, MISSED, PENDING, NOT_OWED = "met", "missed", "pending", "not_owed"


class UnknownPeriod(ValueError):
    pass


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local day starts (DST-correct: built in local time)."""
    return datetime.combine(day, time(0), tzinfo=tz)


@dataclass(frozen=True)
class Period:
    """From local midnight of `first_day` until `end` (now, or midnight after `last_day`)."""

    name: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def previous(self, tz: ZoneInfo) -> Period:
        """The whole days of equal number just before this period."""
        count = len(self.days)
        return whole_days(
            self.first_day - timedelta(days=count), self.first_day - timedelta(days=1), tz, name=f"previous {self.name}"
        )


def period(name: str, *, now: datetime, tz: ZoneInfo) -> Period:
    """`today`, `7d` (today and the six days before) or `30d`, up to `now`."""
    days = PERIOD_DAYS.get(name)
    if days is None:
        raise UnknownPeriod(name)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    return Period(name, first, today, local_midnight(first, tz), now)


def whole_days(first: date, last: date, tz: ZoneInfo, *, name: str = "days") -> Period:
    return Period(name, first, last, local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (see the module docstring); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class PriorityCounts:
    urgent: int = 0
    high: int = 0
    normal: int = 0
    low: int = 0

    @property
    def total(self) -> int:
        return self.urgent + self.high + self.normal + self.low

    @classmethod
    def of(cls, cases: Iterable[ClockedCase]) -> PriorityCounts:
        counts = dict.fromkeys(PRIORITIES, 0)
        for case in cases:
            counts[case.priority if case.priority in counts else "normal"] += 1
        return cls(**counts)


@dataclass(frozen=True)
class ResponseTimes:
    answered: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, waits: Sequence[timedelta]) -> ResponseTimes:
        seconds = [w.total_seconds() for w in waits]
        median, p90 = percentile(seconds, 0.5), percentile(seconds, 0.9)
        return cls(
            len(seconds),
            None if median is None else timedelta(seconds=median),
            None if p90 is None else timedelta(seconds=p90),
        )


@dataclass(frozen=True)
class Attainment:
    met: int
    missed: int

    @property
    def counted(self) -> int:
        return self.met + self.missed

    @property
    def rate(self) -> float | None:
        return self.met / self.counted if self.counted else None


@dataclass(frozen=True)
class Figures:
    new: PriorityCounts
    resolved: PriorityCounts
    open: PriorityCounts
    first_response: ResponseTimes
    sla: Attainment


@dataclass(frozen=True)
class Breakdown:
    key: str  # a platform name, or a staff member's Slack user ID
    figures: Figures


@dataclass(frozen=True)
class SentimentDay:
    day: date
    average: float | None
    mentions: int


@dataclass(frozen=True)
class SentimentTrend:
    days: tuple[SentimentDay, ...]
    average: float | None
    previous: float | None

    @property
    def direction(self) -> str:
        """`improving`, `worsening`, `steady`, or `unknown` when either period had no mentions."""
        if self.average is None or self.previous is None:
            return "unknown"
        change = self.average - self.previous
        if change >= TREND_THRESHOLD:
            return "improving"
        if change <= -TREND_THRESHOLD:
            return "worsening"
        return "steady"


@dataclass(frozen=True)
class Stats:
    period: Period
    team: Figures
    platforms: tuple[Breakdown, ...]
    staff: tuple[Breakdown, ...]
    sentiment: SentimentTrend


# -- per case --------------------------------------------------------------------------------------


def first_response_due(case: ClockedCase, policy: SlaPolicy) -> datetime:
    return policy.due(case.created_at, policy.targets(case.priority).first_response)


def first_response_outcome(case: ClockedCase, *, policy: SlaPolicy, now: datetime) -> str:
    """MET, MISSED, PENDING (open, unanswered, still within target) or NOT_OWED (closed without a reply)."""
    limit = policy.targets(case.priority).first_response
    if case.first_response_at is not None:
        return MET if policy.met(case.created_at, case.first_response_at, limit) else MISSED
    if case.status != CaseStatus.OPEN:
        return NOT_OWED
    return MISSED if policy.elapsed(case.created_at, now) > limit else PENDING


def open_at(case: ClockedCase, moment: datetime) -> bool:
    """Open at `moment`: created before it and not closed by then (a reopened case counts as open throughout)."""
    if case.created_at >= moment:
        return False
    return case.status == CaseStatus.OPEN or case.closed_at is None or case.closed_at >= moment


# -- over a set of cases -----------------------------------------------------------------------------


def relevant_cases(session: Session, *, start: datetime, end: datetime) -> list[CaseFacts]:
    """Every case that can count in [start, end): created in it, closed in it, or open at its end (as plain rows)."""
    rows = session.execute(
        select(*FACT_COLUMNS)
        .where(
            Case.created_at < end,
            or_(Case.created_at >= start, Case.status == CaseStatus.OPEN, Case.closed_at >= start),
        )
        .order_by(Case.id)
    )
    return [CaseFacts(*row) for row in rows]


def figures(cases: Sequence[CaseFacts], *, start: datetime, end: datetime, now: datetime, policy: SlaPolicy) -> Figures:
    created = [c for c in cases if start <= c.created_at < end]
    resolved = [
        c for c in cases if c.status == CaseStatus.RESOLVED and c.closed_at is not None and start <= c.closed_at < end
    ]
    waits = [c.first_response_at - c.created_at for c in created if c.first_response_at is not None]
    outcomes = [first_response_outcome(c, policy=policy, now=now) for c in created]
    return Figures(
        new=PriorityCounts.of(created),
        resolved=PriorityCounts.of(resolved),
        open=PriorityCounts.of(c for c in cases if open_at(c, end)),
        first_response=ResponseTimes.of(waits),
        sla=Attainment(met=outcomes.count(MET), missed=outcomes.count(MISSED)),
    )


def _breakdowns(
    cases: Sequence[CaseFacts],
    key: Callable[[CaseFacts], str | None],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    policy: SlaPolicy,
) -> tuple[Breakdown, ...]:
    groups: dict[str, list[CaseFacts]] = defaultdict(list)
    for case in cases:
        name = key(case)
        if name:
            groups[name].append(case)
    found = [
        Breakdown(name, figures(group, start=start, end=end, now=now, policy=policy)) for name, group in groups.items()
    ]
    active = [b for b in found if b.figures.new.total or b.figures.resolved.total or b.figures.open.total]
    return tuple(sorted(active, key=lambda b: (-b.figures.new.total, -b.figures.open.total, b.key)))


def sentiment_by_day(session: Session, days: Sequence[date], tz: ZoneInfo) -> tuple[SentimentDay, ...]:
    """Mean compound score of the mentions received on each local day."""
    if not days:
        return ()
    start, end = local_midnight(days[0], tz), local_midnight(days[-1] + timedelta(days=1), tz)
    scores: dict[date, list[float]] = defaultdict(list)
    rows = session.execute(
        select(Mention.received_at, Mention.sentiment).where(
            and_(Mention.received_at >= start, Mention.received_at < end)
        )
    )
    for received_at, score in rows:
        scores[received_at.astimezone(tz).date()].append(score)
    return tuple(SentimentDay(d, _mean(scores[d]), len(scores[d])) for d in days)


def mean_sentiment(session: Session, *, start: datetime, end: datetime) -> float | None:
    rows = session.scalars(select(Mention.sentiment).where(Mention.received_at >= start, Mention.received_at < end))
    return _mean(list(rows))


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compute(session: Session, *, period: Period, now: datetime, policy: SlaPolicy, tz: ZoneInfo) -> Stats:
    """The figures of `period` as they stand at `now`."""
    start, end = period.start, period.end
    cases = relevant_cases(session, start=start, end=end)
    previous = period.previous(tz)
    trend = SentimentTrend(
        days=sentiment_by_day(session, period.days, tz),
        average=mean_sentiment(session, start=start, end=end),
        previous=mean_sentiment(session, start=previous.start, end=previous.end),
    )
    return Stats(
        period=period,
        team=figures(cases, start=start, end=end, now=now, policy=policy),
        platforms=_breakdowns(cases, lambda c: c.platform, start=start, end=end, now=now, policy=policy),
        staff=_breakdowns(cases, lambda c: c.owner_id, start=start, end=end, now=now, policy=policy),
        sentiment=trend,
    )
