"""Team figures for a period: volume, first-response times, SLA attainment, breakdowns and sentiment.

`/care stats`, the daily digest and the Home tab all read their numbers here, so they always agree.
Days are calendar days in `CARE_TIMEZONE`; a period runs from local midnight of its first day.

How each figure is counted (the README repeats this for the people reading the numbers):

- *new*: cases created in the period; *resolved*: cases resolved in it (ignored ones are not
  "resolved"); *open*: cases open at the period's end. All by the case's current priority.
- *first-response time*: `first_response_at - created_at` (wall-clock time, what the customer felt)
  of the cases created in the period that have been answered, to the microsecond (as the case stores it).
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

How they are computed: in SQL, a handful of GROUP BY queries over covering indexes per period (a 30-day period
at a million cases holds half a million), never by loading the cases. Each case's wait is a stored column
(`Case.first_response_wait`, microseconds), so the waits come back as plain values, one per answered case,
sorted per platform and owner (the figures are the database's own, to the microsecond) and merged here into
the team's, each platform's and each owner's. The SLA outcome is judged at read time, with the current
priority and policy: `wait <= target` in SQL (working time never exceeds wall-clock time, so that answer
*met* under any hours; with round-the-clock hours it is the whole answer, otherwise only the later answers are
checked per case). An
open unanswered case has missed when it was created before the instant from which the working time until `now`
stays within its target: working time is monotone in the creation instant, so that instant is found by
bisection once per target and the cases before it are counted in SQL."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal, or_, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from bot.models import Case, CaseStatus, Mention, UTCDateTime
from bot.services import surge
from bot.services.triage import PRIORITIES
from bot.sla import SlaPolicy, SlaTargets

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
    return sorted_percentile(sorted(values), q)


def sorted_percentile(ordered: Sequence[float], q: float) -> float | None:
    """`percentile` of values already in order (the figures sort each group's waits once for both percentiles)."""
    return _interpolate(len(ordered), q, ordered.__getitem__)


def _interpolate(count: int, q: float, at: Callable[[int], float]) -> float | None:
    if not count:
        return None
    position = (count - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return at(low) + (at(high) - at(low)) * (position - low)


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

    @classmethod
    def counted(cls, by_priority: Counter[str]) -> PriorityCounts:
        """From counts per stored priority; a priority this version does not know counts as normal."""
        counts = dict.fromkeys(PRIORITIES, 0)
        for priority, n in by_priority.items():
            counts[priority if priority in counts else "normal"] += n
        return cls(**counts)


@dataclass(frozen=True)
class ResponseTimes:
    answered: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, waits: Sequence[timedelta]) -> ResponseTimes:
        """From the waits themselves (counted in whole microseconds, as the stored column holds them)."""
        return cls.counted(sorted(w // MICROSECOND for w in waits))

    @classmethod
    def counted(cls, microseconds: Sequence[int]) -> ResponseTimes:
        """From the exact waits in microseconds, in order."""
        median, p90 = sorted_percentile(microseconds, 0.5), sorted_percentile(microseconds, 0.9)
        return cls(
            len(microseconds),
            None if median is None else timedelta(microseconds=median),
            None if p90 is None else timedelta(microseconds=p90),
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
    surges: tuple[surge.Figures, ...] = ()  # the surges on during the period (storm mode), oldest first


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


# -- over a period, in SQL ---------------------------------------------------------------------------

GroupKey = tuple[str, str | None]  # (platform, owner): the finest grouping the figures need
TEAM: GroupKey = ("", None)  # the one key of tallies not split by platform and owner
SECOND_US = 1_000_000
MICROSECOND = timedelta(microseconds=1)
LONGEST_PAUSE = timedelta(days=8)  # business hours have a working window every week (BusinessHours.parse)


@dataclass
class Tally:
    """A period's figures before they are final: counts and waits, which add up across groups and days."""

    new: Counter[str] = field(default_factory=Counter)  # by priority
    resolved: Counter[str] = field(default_factory=Counter)
    open: Counter[str] = field(default_factory=Counter)
    # the exact waits in microseconds, in order once `tallies` returns. Exact, not whole seconds: the figures
    # must be the database's own (a wait of 2.6 s is not one of 2 s). A plain list, not a histogram: real waits
    # are seldom equal, and counting equal ones cost a dictionary entry per wait and a sort per merge.
    waits: list[int] = field(default_factory=list)
    met: int = 0
    missed: int = 0

    def add(self, other: Tally) -> None:
        self.new.update(other.new)
        self.resolved.update(other.resolved)
        self.open.update(other.open)
        self.waits.extend(other.waits)
        self.met += other.met
        self.missed += other.missed

    @property
    def active(self) -> bool:
        return any(n for n in (*self.new.values(), *self.resolved.values(), *self.open.values()))

    def figures(self) -> Figures:
        return Figures(
            new=PriorityCounts.counted(self.new),
            resolved=PriorityCounts.counted(self.resolved),
            open=PriorityCounts.counted(self.open),
            first_response=ResponseTimes.counted(sorted(self.waits)),
            sla=Attainment(met=self.met, missed=self.missed),
        )


def merged(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


def first_instant(low: datetime, high: datetime, holds: Callable[[datetime], bool]) -> datetime:
    """The earliest instant in [low, high] (to the microsecond) from which `holds` stays true.

    `holds` must be monotone (false, then true for good) and true at `high`: that is what makes a
    bisection exact, and why a working-time threshold costs some 40 policy calls instead of one per case.
    """
    if holds(low):
        return low
    while high - low > MICROSECOND:
        middle = low + (high - low) // 2
        if holds(middle):
            high = middle
        else:
            low = middle
    return high


def first_response(targets: SlaTargets) -> timedelta:
    return targets.first_response


def limit_groups(
    policy: SlaPolicy, target: Callable[[SlaTargets], timedelta] = first_response
) -> list[tuple[timedelta, ColumnElement[bool]]]:
    """The limits of one clock in force and, for each, which cases it applies to (by their priority).

    The target of "normal" also covers any priority this version does not know, as `SlaPolicy.targets` does.
    """
    limits: dict[timedelta, list[str]] = {}
    for priority in PRIORITIES:
        limits.setdefault(target(policy.targets(priority)), []).append(priority)
    fallback = target(policy.targets("normal"))
    others = [p for limit, group in limits.items() if limit != fallback for p in group]
    return [
        (limit, Case.priority.not_in(others) if limit == fallback else Case.priority.in_(group))
        for limit, group in limits.items()
    ]


def _limit_us(policy: SlaPolicy) -> ColumnElement[int]:
    """Each case's first-response target in microseconds, by its current priority."""
    groups = limit_groups(policy)
    fallback = policy.targets("normal").first_response // MICROSECOND
    return when(*((rule, limit // MICROSECOND) for limit, rule in groups), else_=fallback)


def _at(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UTCDateTime())


def _grouped(session: Session, *conditions: ColumnElement[bool]) -> Iterator[tuple[GroupKey, str, int]]:
    """How many cases meet `conditions`, per (platform, owner) and priority."""
    query = select(Case.platform, Case.owner_id, Case.priority, func.count()).where(*conditions)
    for platform, owner, priority, n in session.execute(query.group_by(Case.platform, Case.owner_id, Case.priority)):
        yield (platform, owner), priority, int(n)


def _working_edges(policy: SlaPolicy, first: datetime, last: datetime) -> set[datetime]:
    """The instants in (first, last) at which working time starts or stops."""
    tz, day = policy.hours.tz, first.astimezone(policy.hours.tz).date() - timedelta(days=1)
    edges: set[datetime] = set()
    while day <= last.astimezone(tz).date() + timedelta(days=1):
        edges.update(edge for span in policy.hours._spans(day) for edge in span if first < edge < last)
        day += timedelta(days=1)
    return edges


def _answer_deadline(policy: SlaPolicy, created: datetime, target: timedelta) -> datetime:
    """The first instant at which an answer to a case created at `created` no longer meets `target`."""
    due = policy.due(created, target)
    if policy.elapsed(created, due + MICROSECOND) > target:
        return due + MICROSECOND
    # `due` fell on the end of a working window: answers meet the target until working time resumes
    return first_instant(due, due + LONGEST_PAUSE, lambda t: policy.elapsed(created, t) > target)


def _stretch_starts(policy: SlaPolicy, limit: timedelta, *, start: datetime, end: datetime) -> list[datetime]:
    """Where, among clock starts in [start, end), the due moment changes shape (see `late_answers`), and `start`."""
    edges = _working_edges(policy, start, end)
    for window_edge in _working_edges(policy, policy.due(start, limit), policy.due(end, limit) + MICROSECOND):
        edges.add(first_instant(start, end, due_by(policy, limit, window_edge)))
    return sorted({start, *(e for e in edges if start < e < end)})


class DueMoments:
    """`policy.due(started, limit)` for many clock starts in [start, end), each in constant time.

    Between the instants `_stretch_starts` finds, the due moment is the start plus a fixed shift or one
    fixed instant; each stretch is read off two of its inner points once (a stretch of neither shape, and
    the instants between stretches, are asked of the policy). The digest needs the due moment of every
    breach of a day, tens of thousands on a storm's day, and business hours make each answer cost days
    of windows.
    """

    def __init__(self, policy: SlaPolicy, limit: timedelta, *, start: datetime, end: datetime) -> None:
        self.policy, self.limit, self.end = policy, limit, end
        self.points = _stretch_starts(policy, limit, start=start, end=end)
        self.shapes: list[tuple[timedelta | None, datetime | None]] = []
        for low, high in zip(self.points, [*self.points[1:], end], strict=True):
            shape: tuple[timedelta | None, datetime | None] = (None, None)
            if high - low >= 3 * MICROSECOND:
                first, second = low + (high - low) // 3, low + 2 * ((high - low) // 3)
                one, two = policy.due(first, limit), policy.due(second, limit)
                shape = (one - first, None) if one - first == two - second else (None, one) if one == two else shape
            self.shapes.append(shape)

    def __call__(self, started: datetime) -> datetime:
        index = bisect_right(self.points, started) - 1
        if index < 0 or started >= self.end or started == self.points[index]:
            return self.policy.due(started, self.limit)
        shift, fixed = self.shapes[index]
        if shift is not None:
            return started + shift
        return fixed if fixed is not None else self.policy.due(started, self.limit)


def late_answers(
    policy: SlaPolicy, target: timedelta, *, start: datetime, end: datetime
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """Which answers later than `target` on the wall clock, to cases created in [start, end), met it in working time.

    The deadline of an answer moves with the creation instant in stretches: while a case is created in
    working time and its deadline stays inside one working window, the deadline is the creation plus a
    fixed shift (a condition on the stored wait); while it is created outside working time, the deadline
    is one fixed instant. The stretches end where working time starts or stops and where the deadline
    reaches the end of a window (found by bisection), so each stretch is a plain condition counted in SQL.
    Returned: those conditions, and the cases to judge one by one (created exactly at a stretch's end, or
    in a stretch that is not one of the two shapes, which complete edges rule out but is checked anyway).
    """
    points = _stretch_starts(policy, target, start=start, end=end)
    stretches: list[ColumnElement[bool]] = []
    one_by_one: list[ColumnElement[bool]] = [Case.created_at.in_([_at(p) for p in points])]
    for low, high in zip(points, [*points[1:], end], strict=True):
        inside = and_(Case.created_at > _at(low), Case.created_at < _at(high))
        if high - low < 3 * MICROSECOND:
            one_by_one.append(inside)
            continue
        first, second = low + (high - low) // 3, low + 2 * ((high - low) // 3)
        one, two = _answer_deadline(policy, first, target), _answer_deadline(policy, second, target)
        if one - first == two - second:
            stretches.append(and_(inside, Case.first_response_wait < (one - first) // MICROSECOND))
        elif one == two:
            stretches.append(and_(inside, Case.first_response_at < _at(one)))
        else:
            one_by_one.append(inside)
    return stretches, one_by_one


def due_by(policy: SlaPolicy, limit: timedelta, moment: datetime) -> Callable[[datetime], bool]:
    """Whether a clock started at a given instant is due at or after `moment` (monotone: for `first_instant`)."""
    return lambda started: policy.due(started, limit) >= moment


def _within(policy: SlaPolicy, now: datetime, target: timedelta) -> Callable[[datetime], bool]:
    return lambda created: policy.elapsed(created, now) <= target


STREAM_ROWS = 5000  # rows fetched at a time from a query that may return hundreds of thousands


def tallies(
    session: Session, *, start: datetime, end: datetime, now: datetime, policy: SlaPolicy, by_group: bool = True
) -> dict[GroupKey, Tally]:
    """The figures of [start, end) as they stand at `now`, per (platform, owner); a few GROUP BYs, no case loaded.

    `by_group=False` is for callers that only want the team's figures (the digest): the cases created and
    resolved are then grouped by less, which leaves SQLite fewer rows to sort and Python fewer to add up.
    """
    found: dict[GroupKey, Tally] = {}

    def of(key: GroupKey) -> Tally:
        tally = found.get(key)
        if tally is None:
            tally = found[key] = Tally()
        return tally

    keys = (Case.platform, Case.owner_id) if by_group else ()

    def key_of(row: Sequence[Any]) -> GroupKey:
        return (row[0], row[1]) if by_group else TEAM

    width = len(keys)
    created = (Case.created_at >= _at(start), Case.created_at < _at(end))
    wait, limit = Case.first_response_wait, _limit_us(policy)
    within = func.sum(when((wait <= limit, 1), else_=0))
    answered_late = 0
    for row in session.execute(
        select(*keys, Case.priority, func.count(), func.count(wait), within)
        .where(*created)
        .group_by(*keys, Case.priority)
    ):
        priority, new, answered, met = row[width:]
        tally = of(key_of(row))
        tally.new[priority] += int(new)
        tally.met += int(met or 0)
        tally.missed += int(answered) - int(met or 0)
        answered_late += int(answered) - int(met or 0)
    if answered_late and not policy.hours.always:
        # Outside business hours the wall clock runs on while the working clock stops: a wait longer than the
        # target may still have met it (a Friday-evening post answered on Monday morning). See late_answers.
        for target, rule in limit_groups(policy):
            stretches, one_by_one = late_answers(policy, target, start=start, end=end)
            # each stretch's own creation range, not the period's, is the one SQLite should narrow by
            late = (rule, wait > target // MICROSECOND)
            for met_rule in stretches:
                for row in session.execute(select(*keys, func.count()).where(*late, met_rule).group_by(*keys)):
                    tally = of(key_of(row))
                    tally.met, tally.missed = tally.met + int(row[width]), tally.missed - int(row[width])
            if not one_by_one:
                continue
            for row in session.execute(
                select(*keys, Case.created_at, Case.first_response_at).where(*late, or_(*one_by_one))
            ):
                created_at, answered_at = row[width:]
                if answered_at is not None and policy.met(created_at, answered_at, target):
                    tally = of(key_of(row))
                    tally.met, tally.missed = tally.met + 1, tally.missed - 1

    # one row per answered case (its wait, to the microsecond), in the index's order: neither grouped nor sorted
    # by SQLite, fetched as plain rows (no ORM), so a 30-day period's 400,000 cost what reading them costs
    answers = select(*keys, wait).where(*created, wait.is_not(None))
    rows = session.connection().execute(answers.execution_options(yield_per=STREAM_ROWS))
    for part in rows.partitions():
        if by_group:
            for platform, owner, exact in cast("Sequence[tuple[str, str | None, int]]", part):
                of((platform, owner)).waits.append(exact)
        else:
            of(TEAM).waits.extend(exact for (exact,) in cast("Sequence[tuple[int]]", part))
    for tally in found.values():
        tally.waits.sort()  # each group in order once: merged groups are then runs that Python's sort joins fast

    unanswered = (Case.status == CaseStatus.OPEN, wait.is_(None))
    for target, rule in limit_groups(policy):
        # the latest creation whose working time until now stays within the target; everything before has missed
        since = first_instant(start, max(start, now), _within(policy, now, target))
        before = min(since, end)
        if before > start:
            for row in session.execute(
                select(*keys, func.count())
                .where(*unanswered, rule, created[0], Case.created_at < _at(before))
                .group_by(*keys)
            ):
                of(key_of(row)).missed += int(row[width])

    # grouped by status rather than filtered on it: an equality on status would lure SQLite to the open
    # cases' index (no sort, but every resolved case read); the range on closing times is the narrow one
    for row in session.execute(
        select(*keys, Case.priority, Case.status, func.count())
        .where(Case.closed_at >= _at(start), Case.closed_at < _at(end))
        .group_by(*keys, Case.priority, Case.status)
    ):
        priority, status, n = row[width:]
        if status == CaseStatus.RESOLVED:
            of(key_of(row)).resolved[priority] += int(n)

    # open at `end` (see open_at): still open, or closed after `end` or without a closing time; always
    # grouped by (platform, owner, priority), the order of the open cases' index, which SQLite reads unsorted
    before_end = Case.created_at < _at(end)
    closed = Case.status != CaseStatus.OPEN
    for conditions in (
        (Case.status == CaseStatus.OPEN, before_end),
        (closed, Case.closed_at >= _at(end), before_end),
        # spelled as the closed statuses, so the index skips the open cases (which have no closing time)
        (Case.closed_at.is_(None), Case.status.in_(CaseStatus.CLOSED), before_end),
    ):
        for key, priority, n in _grouped(session, *conditions):
            of(key if by_group else TEAM).open[priority] += n
    return found


def _breakdowns(found: dict[GroupKey, Tally], key: Callable[[GroupKey], str | None]) -> tuple[Breakdown, ...]:
    groups: dict[str, Tally] = {}
    for group, tally in found.items():
        name = key(group)
        if name:
            groups.setdefault(name, Tally()).add(tally)
    active = [Breakdown(name, tally.figures()) for name, tally in groups.items() if tally.active]
    return tuple(sorted(active, key=lambda b: (-b.figures.new.total, -b.figures.open.total, b.key)))


def _mentions(session: Session, start: datetime, end: datetime) -> tuple[int, float]:
    """How many mentions were received in [start, end), and the sum of their scores (one covering-index range)."""
    n, total = session.execute(
        select(func.count(), func.sum(Mention.sentiment)).where(
            Mention.received_at >= _at(start), Mention.received_at < _at(end)
        )
    ).one()
    return int(n), float(total or 0.0)


def sentiment_by_day(session: Session, days: Sequence[date], tz: ZoneInfo) -> tuple[SentimentDay, ...]:
    """Mean compound score of the mentions received on each local day.

    One range per day between local midnights computed here, so a 23- or 25-hour day and any zone
    offset (half hours, 45 minutes) are exact, which grouping by a UTC hour in SQL would not be.
    """
    return _as_days(_day_sums(session, days, tz))


def _as_days(sums: Iterable[tuple[date, int, float]]) -> tuple[SentimentDay, ...]:
    return tuple(SentimentDay(day, total / n if n else None, n) for day, n, total in sums)


def _day_sums(session: Session, days: Sequence[date], tz: ZoneInfo) -> list[tuple[date, int, float]]:
    return [
        (day, *_mentions(session, local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))) for day in days
    ]


def mean_sentiment(session: Session, *, start: datetime, end: datetime) -> float | None:
    n, total = _mentions(session, start, end)
    return total / n if n else None


def compute(session: Session, *, period: Period, now: datetime, policy: SlaPolicy, tz: ZoneInfo) -> Stats:
    """The figures of `period` as they stand at `now`."""
    start, end = period.start, period.end
    found = tallies(session, start=start, end=end, now=now, policy=policy)
    previous = period.previous(tz)
    sums = _day_sums(session, period.days, tz)
    # the period's mean from its days' sums: only what came after `end` on its last day is taken off
    tail_n, tail_total = _mentions(session, end, local_midnight(period.last_day + timedelta(days=1), tz))
    n, total = sum(d[1] for d in sums) - tail_n, sum(d[2] for d in sums) - tail_total
    trend = SentimentTrend(
        days=_as_days(sums),
        average=total / n if n else None,
        previous=mean_sentiment(session, start=previous.start, end=previous.end),
    )
    return Stats(
        period=period,
        team=merged(found.values()).figures(),
        platforms=_breakdowns(found, lambda key: key[0]),
        staff=_breakdowns(found, lambda key: key[1]),
        sentiment=trend,
        surges=tuple(surge.during(session, start=start, end=end, now=now)),
    )
