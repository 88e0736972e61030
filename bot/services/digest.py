"""The managers' daily digest: yesterday against the seven days before, queued once a day per manager.

Queuing is what must happen exactly once, so it is the part guarded by the database: a marker row
unique on (day, recipient) is inserted in the same transaction as the digest's outbox item. Several
processes ticking in the same minute race on that insert; the losers find the row and queue nothing.
The figures themselves are built when the outbox worker delivers the item (`build`), from the same
stats functions `/care stats` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot import sla
from bot.models import Case, CaseStatus, DigestMarker, Mention, OutboxItem, Reminder
from bot.services import desk, erasure, outbox, surge
from bot.services.queues import CaseLine, case_line, case_lines, clip, oldest_open
from bot.services.stats import (
    FACT_COLUMNS,
    MICROSECOND,
    CaseFacts,
    DueMoments,
    Figures,
    Tally,
    due_by,
    first_instant,
    limit_groups,
    mean_sentiment,
    merged,
    sentiment_by_day,
    tallies,
    whole_days,
)
from bot.services.triage import PRIORITIES
from bot.sla import SlaPolicy, SlaTargets

KIND = "digest"  # outbox kind, delivered by bot/outbox/slack_lane.py
RANK = len(PRIORITIES)  # after every case message: a complaint is never held up by a report
COMPARE_DAYS = 7
PRAISE_SCORE = 0.5  # VADER compound at or above this reads as clear praise
PRAISE_LIMIT = 3
OLDEST_LIMIT = 5
BREACH_LOOKBACK = timedelta(days=31)  # a first response cannot be due later than this after the post
# The breaches a digest lists (20 in it, the rest in its thread); past that it counts them: a day of thousands
# is an outage to talk about, not a list to scroll, and each one is still in its case thread.
BREACHES_LISTED = 200


@dataclass(frozen=True)
class DayPoint:
    """One day of the chart."""

    day: date
    new: int
    sentiment: float | None
    median_first_response: timedelta | None
    p90_first_response: timedelta | None


@dataclass(frozen=True)
class Breach:
    """A target that ran out on the digest's day: a first response (from the case's timestamps), or a
    next response, resolution or follow-through (from the breach reminders the sweep recorded)."""

    case: CaseLine
    due: datetime
    waited: timedelta | None  # first response: until it came, or until now; None for the other clocks
    answered: bool
    clock: str = sla.FIRST_RESPONSE


@dataclass(frozen=True)
class Praise:
    case: CaseLine
    text: str
    score: float
    post_url: str | None


@dataclass(frozen=True)
class Digest:
    day: date
    now: datetime
    yesterday: Figures
    week: Figures  # the seven days before `day`
    backlog: int  # open at the end of `day`
    week_backlog: float  # mean of the open cases at the end of each of those seven days
    sentiment: float | None
    week_sentiment: float | None
    breaches: tuple[Breach, ...]
    oldest_open: tuple[CaseLine, ...]
    praise: tuple[Praise, ...]
    daily: tuple[DayPoint, ...]  # the seven days and `day`, oldest first
    posts: int  # posts received on `day`, new cases or not
    breach_count: int | None = None  # every breach of `day`; `breaches` lists the first BREACHES_LISTED of them
    surges: tuple[surge.Figures, ...] = ()  # the surges on during `day` (storm mode), oldest first

    @property
    def breaches_total(self) -> int:
        return self.breach_count if self.breach_count is not None else len(self.breaches)

    @property
    def quiet(self) -> bool:
        """No post all day: the digest says so in one line, with no figures to compare and no chart."""
        return self.posts == 0 and self.yesterday.new.total == 0


@dataclass(frozen=True)
class NotYet:
    """No digest about the day asked for: the desk did not run all of it (or has not run at all)."""

    asked: date
    started: datetime | None
    first_day: date | None  # the first whole day the desk ran: the first digest reports on it


def report_day(now: datetime, tz: ZoneInfo) -> date:
    """The day a digest sent at `now` reports on: yesterday, in the team's time zone."""
    return now.astimezone(tz).date() - timedelta(days=1)


def first_report_day(session: Session, tz: ZoneInfo) -> date | None:
    """The first day a digest may report on: the desk's first whole day (None before it ever ran)."""
    started = desk.started_at(session)
    return None if started is None else desk.first_whole_day(started, tz)


def build(session: Session, *, day: date, now: datetime, policy: SlaPolicy, tz: ZoneInfo) -> Digest:
    """Each of the eight days is tallied once in SQL; the week's figures are its days' tallies added up."""
    target = whole_days(day, day, tz)
    week = whole_days(day - timedelta(days=COMPARE_DAYS), day - timedelta(days=1), tz)
    days = [*week.days, day]
    per_day: list[Tally] = []
    for point in days:
        span = whole_days(point, point, tz)
        found = tallies(session, start=span.start, end=span.end, now=now, policy=policy, by_group=False)
        per_day.append(merged(found.values()))
    sentiments = sentiment_by_day(session, days, tz)
    daily = []
    for point, tally, mood in zip(days, per_day, sentiments, strict=True):
        times = tally.figures().first_response
        daily.append(DayPoint(point, sum(tally.new.values()), mood.average, times.median, times.p90))
    week_days = per_day[:COMPARE_DAYS]
    week_tally = merged(week_days)
    week_tally.open = week_days[-1].open.copy()  # open at the week's end, not summed over its days
    listed, breach_count = breaches(session, start=target.start, end=target.end, now=now, policy=policy)
    return Digest(
        day=day,
        now=now,
        yesterday=per_day[-1].figures(),
        week=week_tally.figures(),
        backlog=sum(per_day[-1].open.values()),
        week_backlog=sum(sum(t.open.values()) for t in week_days) / COMPARE_DAYS,
        sentiment=sentiments[-1].average,
        week_sentiment=mean_sentiment(session, start=week.start, end=week.end),
        breaches=tuple(listed),
        breach_count=breach_count,
        oldest_open=tuple(oldest_open(session, limit=OLDEST_LIMIT)),
        praise=tuple(praise(session, start=target.start, end=target.end)),
        daily=tuple(daily),
        posts=sentiments[-1].mentions,
        surges=tuple(surge.during(session, start=target.start, end=target.end, now=now)),
    )


def breaches(
    session: Session, *, start: datetime, end: datetime, now: datetime, policy: SlaPolicy, limit: int | None = None
) -> tuple[list[Breach], int]:
    """The targets that ran out in [start, end): the first `limit` (BREACHES_LISTED) by due moment, with their
    cases, and how many there were in all. First responses are judged here, the other clocks from the sweep's
    records (`other_breaches`); each is judged on plain rows, and only the listed ones are read as case lines (a
    day of 30,000 breaches took 3.6 s, most of it building lines nobody would scroll to).

    Only the cases created when their target would run out in [start, end) are read (`_started_for_due`)."""
    limit = BREACHES_LISTED if limit is None else limit
    windows, dues = [], {}
    for target, rule in limit_groups(policy):
        first, last = _started_for_due(policy, target, start=start, end=end)
        dues[target] = DueMoments(policy, target, start=first, end=last)
        # an answer within the target on the wall clock met it under any hours; a case closed unanswered owed none
        late = or_(
            and_(Case.first_response_at.is_(None), Case.status == CaseStatus.OPEN),
            Case.first_response_wait > target // MICROSECOND,
        )
        windows.append(and_(rule, Case.created_at >= first, Case.created_at < last, late))
    candidates = [
        CaseFacts(*row)
        for row in session.execute(
            select(*FACT_COLUMNS).where(
                or_(*windows),
                or_(Case.first_response_at.is_(None), Case.first_response_at >= start),
            )
        )
    ]
    found: list[_Found] = []
    for c in candidates:
        due = dues[policy.targets(c.priority).first_response](c.created_at)
        if start <= due < end and _missed(c, due, policy=policy, now=now):
            answered = c.first_response_at is not None
            waited = (c.first_response_at if c.first_response_at is not None else now) - c.created_at
            found.append(_Found(due, c.id, sla.FIRST_RESPONSE, waited, answered))
    found += other_breaches(session, start=start, end=end, policy=policy)
    found.sort(key=lambda b: (b.due, b.case_id, b.clock))
    shown = found[:limit]
    lines = case_lines(session, {b.case_id for b in shown})
    return [Breach(lines[b.case_id], b.due, b.waited, b.answered, b.clock) for b in shown], len(found)


class _Found(NamedTuple):
    """A breach judged, before its case is read: what `breaches` sorts and counts."""

    due: datetime
    case_id: int
    clock: str
    waited: timedelta | None
    answered: bool


def _limit(clock: str, priority: str, policy: SlaPolicy) -> timedelta:
    return policy.offline if clock == sla.OFFLINE else CLOCK_TARGETS[clock](policy.targets(priority))


CLOCK_TARGETS: dict[str, Callable[[SlaTargets], timedelta]] = {
    sla.NEXT_RESPONSE: lambda targets: targets.next_response,
    sla.RESOLUTION: lambda targets: targets.resolution,
}


def _missed(case: CaseFacts, due: datetime, *, policy: SlaPolicy, now: datetime) -> bool:
    """`first_response_outcome(case) == MISSED`, asked from the due moment (exactly the target's working time
    after the creation): the answer, or for an open case `now`, missed it if any working time lies between."""
    if case.first_response_at is None and case.status != CaseStatus.OPEN:
        return False  # closed without a reply: owed none
    until = case.first_response_at if case.first_response_at is not None else now
    return until > due and policy.elapsed(due, until) > timedelta(0)


def _started_for_due(
    policy: SlaPolicy, limit: timedelta, *, start: datetime, end: datetime
) -> tuple[datetime, datetime]:
    """The clock starts [first, last) whose due moment after `limit` falls in [start, end).

    The due moment only moves later with the start, so two bisections find them, and only the rows
    between are read and judged per row.
    """
    first = first_instant(start - BREACH_LOOKBACK, end, due_by(policy, limit, start))
    return first, first_instant(first, end, due_by(policy, limit, end))


def _due_windows(
    policy: SlaPolicy, *, start: datetime, end: datetime
) -> tuple[list[ColumnElement[bool]], dict[tuple[str, timedelta], DueMoments]]:
    """Per clock and target, the reminder rounds whose due moment falls in [start, end), and their due moments."""
    found, dues = [], {}
    for clock in (sla.NEXT_RESPONSE, sla.RESOLUTION, sla.OFFLINE):
        groups: list[tuple[timedelta, ColumnElement[bool]]] = (
            [(policy.offline, true())] if clock == sla.OFFLINE else limit_groups(policy, CLOCK_TARGETS[clock])
        )
        for limit, rule in groups:
            first, last = _started_for_due(policy, limit, start=start, end=end)
            dues[(clock, limit)] = DueMoments(policy, limit, start=first, end=last)
            found.append(
                and_(Reminder.clock == clock, rule, Reminder.clock_start >= first, Reminder.clock_start < last)
            )
    return found, dues


def other_breaches(session: Session, *, start: datetime, end: datetime, policy: SlaPolicy) -> list[_Found]:
    """Next-response, resolution and follow-through targets that ran out in [start, end).

    The sweep records a breach (or, if it only caught up later, an escalation) exactly once per clock
    round, so those rows are the breaches; the due moment is recomputed from the round's start. Only the
    rounds whose start puts their due moment in [start, end) are read (`_due_windows`), on plain rows.
    """
    windows, dues = _due_windows(policy, start=start, end=end)
    rows = session.execute(
        select(
            Reminder.case_id,
            Reminder.clock,
            Reminder.clock_start,
            Case.priority,
            Case.status,
            Case.awaiting_reply_since,
        )
        .join(Case, Case.id == Reminder.case_id)
        .where(
            or_(*windows),
            Reminder.stage.in_((sla.BREACH, sla.ESCALATION, sla.DUE)),
        )
    ).all()
    due_in_day: dict[tuple[int, str, datetime], tuple[datetime, bool]] = {}
    for case_id, clock, clock_start, priority, status, awaiting_since in rows:
        limit = _limit(clock, priority, policy)
        due = dues[(clock, limit)](clock_start) if (clock, limit) in dues else policy.due(clock_start, limit)
        key = (case_id, clock, clock_start)
        if start <= due < end and key not in due_in_day:
            settled = status != CaseStatus.OPEN if clock != sla.NEXT_RESPONSE else awaiting_since != clock_start
            due_in_day[key] = (due, settled)
    return [_Found(due, case_id, clock, None, settled) for (case_id, clock, _), (due, settled) in due_in_day.items()]


def praise(session: Session, *, start: datetime, end: datetime, limit: int = PRAISE_LIMIT) -> list[Praise]:
    """The warmest posts received in [start, end), worth sharing with the wider team (not from ignored cases)."""
    rows = session.scalars(
        select(Mention)
        .join(Case)
        .options(selectinload(Mention.case).selectinload(Case.mentions))
        .where(
            Mention.received_at >= start,
            Mention.received_at < end,
            Mention.sentiment >= PRAISE_SCORE,
            Mention.text != erasure.REMOVED,  # a forgotten customer's words are not quoted, even as a placeholder
            Case.status != CaseStatus.IGNORED,
        )
        .order_by(Mention.sentiment.desc(), Mention.id)
        .limit(limit)
    )
    return [Praise(case_line(m.case), clip(m.text, 280), m.sentiment, m.url) for m in rows]


# -- queuing -----------------------------------------------------------------------------------------


def enqueue(session: Session, *, user_id: str, day: date, now: datetime) -> OutboxItem:
    """Queue the digest about `day` for `user_id` (the worker opens the DM, posts it, uploads the chart)."""
    return outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=KIND,
        priority_rank=RANK,
        now=now,
        payload={"user": user_id, "day": day.isoformat()},
    )


def request(session: Session, *, user_id: str, now: datetime, tz: ZoneInfo) -> date | NotYet:
    """`/care digest`: queue yesterday's digest for `user_id` now, unless the desk did not run all of yesterday."""
    day = report_day(now, tz)
    first = first_report_day(session, tz)
    if first is None or day < first:
        return NotYet(asked=day, started=desk.started_at(session), first_day=first)
    enqueue(session, user_id=user_id, day=day, now=now)
    return day


def enqueue_due(session: Session, *, now: datetime, tz: ZoneInfo, at: time, managers: tuple[str, ...]) -> int:
    """Queue today's digest for each manager who has not had it, once the local time has reached `at`.

    Idempotent: safe to call every minute from every process. A process started after `at` catches up
    the same day. Nothing is queued about a day before the desk's first whole day, so a new installation
    never reports on a day it did not see. Returns how many digests it queued.
    """
    local = now.astimezone(tz)
    if local.time() < at:
        return 0
    today = local.date()
    first = first_report_day(session, tz)
    if first is None or today - timedelta(days=1) < first:
        return 0
    queued = 0
    for manager in dict.fromkeys(managers):
        exists = session.scalar(
            select(DigestMarker.id).where(DigestMarker.day == today, DigestMarker.recipient == manager)
        )
        if exists is not None:
            continue
        marker = DigestMarker(day=today, recipient=manager, created_at=now)
        try:
            with session.begin_nested():
                session.add(marker)
                session.flush()
        except IntegrityError:
            continue  # another process queued it between our look and our insert
        marker.outbox_id = enqueue(session, user_id=manager, day=today - timedelta(days=1), now=now).id
        queued += 1
    return queued
