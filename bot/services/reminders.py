"""SLA reminders: nudge the team before a customer waits too long, and tell the managers when they have.

Why the database decides everything: each sweep recomputes, from the case rows alone, which clocks
are running and which stage each has reached. A `reminders` row (unique per case, clock, stage and
clock start), written in the same transaction as the reminder's outbox items, records that it went
out. So a restarted process, or a second one sweeping the same database, sends nothing twice; and a
stage missed while no process ran goes out at the next sweep. Only the highest stage a clock has
reached is sent: a "due in 12 min" arriving after the breach would only confuse.

Who is nudged: the owner, or CARE_ESCALATE_TO while nobody owns the case (decided when the message is
delivered, so a claim in between is honoured). Cancelling needs no bookkeeping: a reply stops its
clock, so the sweep finds nothing due, and `cancelled()` drops a reminder already queued when the
reply lands before it is delivered. A claim cancels the first-response near-breach reminder (its job
is to get someone to pick the case up); breach and escalation still come, to the owner, because the
customer is still waiting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot import sla
from bot.models import Case, CaseStatus, Reminder
from bot.services import desk, outbox, triage
from bot.services.cases import record, require_open

SNOOZE = timedelta(minutes=15)
REMINDER = "reminder"  # outbox kind: a reminder in the case thread, with buttons
DIRECT_MESSAGE = "direct_message"  # outbox kind: a DM to one user (conversations.open + chat.postMessage)
ESCALATION_DM, FOLLOW_UP_DM = "escalation", "follow_up"  # what a DIRECT_MESSAGE is about


@dataclass(frozen=True)
class RunningClock:
    name: str
    start: datetime
    limit: timedelta
    stages: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Sent:
    case_id: int
    clock: str
    stage: str


def running_clocks(case: Case, policy: sla.SlaPolicy) -> list[RunningClock]:
    """The SLA clocks of an open case that are still counting."""
    targets = policy.targets(case.priority)
    clocks = []
    if case.first_response_at is None:
        clocks.append(RunningClock(sla.FIRST_RESPONSE, case.created_at, targets.first_response, sla.SLA_STAGES))
    if case.awaiting_reply_since is not None:
        clocks.append(RunningClock(sla.NEXT_RESPONSE, case.awaiting_reply_since, targets.next_response, sla.SLA_STAGES))
    clocks.append(RunningClock(sla.RESOLUTION, case.created_at, targets.resolution, sla.SLA_STAGES))
    follow_through = case.follow_through_since  # the move to DM, or the customer's last message after it
    if follow_through is not None:
        clocks.append(RunningClock(sla.OFFLINE, follow_through, policy.offline, sla.OFFLINE_STAGES))
    return clocks


def stage_reached(clock: RunningClock, policy: sla.SlaPolicy, now: datetime) -> str | None:
    reached = None
    for stage, fraction in clock.stages:
        if policy.due(clock.start, clock.limit, fraction) > now:
            break
        reached = stage
    return reached


def _stage_index(clock: RunningClock, stage: str) -> int:
    return [name for name, _ in clock.stages].index(stage)


def _already_sent(case: Case, clock: RunningClock, stage: str) -> bool:
    """This stage, or a later one of the same round of this clock, has gone out."""
    index = _stage_index(clock, stage)
    return any(
        r.clock == clock.name and r.clock_start == clock.start and r.stage in [name for name, _ in clock.stages[index:]]
        for r in case.reminders
    )


def _held(case: Case, clock: str, stage: str, now: datetime) -> bool:
    if clock == sla.FIRST_RESPONSE and stage == sla.NEAR and case.owner_id:
        return True  # claimed: the "someone pick this up" nudge has done its job
    snoozed = case.snoozed_until is not None and now < case.snoozed_until
    return snoozed and stage != sla.ESCALATION  # the managers' safety net is not snoozable


def _mark(session: Session, case: Case, *, clock: str, stage: str, start: datetime, now: datetime) -> bool:
    """Claim the right to send this reminder; False if another sweep already has."""
    try:
        with session.begin_nested():
            # through the case's collection, so this sweep's next_check sees it as sent
            case.reminders.append(Reminder(case_id=case.id, clock=clock, stage=stage, clock_start=start, sent_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def _queue_dm(session: Session, case: Case, *, user: str, facts: dict[str, Any], now: datetime) -> None:
    """A direct message about `case`; the Slack lane words it (with the thread's link) when it delivers it."""
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=DIRECT_MESSAGE,
        case_id=case.id,
        priority_rank=triage.PRIORITY_RANK[case.priority],
        now=now,
        payload={"user": user, **facts},
    )


def _queue_reminder(session: Session, case: Case, facts: dict[str, Any], now: datetime) -> None:
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=REMINDER,
        case_id=case.id,
        priority_rank=triage.PRIORITY_RANK[case.priority],
        now=now,
        payload=facts,
    )


def _sla_reminder(
    session: Session,
    case: Case,
    clock: RunningClock,
    stage: str,
    *,
    policy: sla.SlaPolicy,
    now: datetime,
    escalate_to: tuple[str, ...],
    managers: tuple[str, ...],
) -> None:
    waited = policy.elapsed(clock.start, now)
    facts = {
        "clock": clock.name,
        "stage": stage,
        "clock_start": clock.start.isoformat(),
        "limit": clock.limit.total_seconds(),
        "waited": waited.total_seconds(),
        "remaining": max(timedelta(0), clock.limit - waited).total_seconds(),
        "targets": list(escalate_to),
        "managers": list(managers) if stage == sla.ESCALATION else [],
    }
    _queue_reminder(session, case, facts, now)
    if stage == sla.ESCALATION:
        for manager in managers:
            _queue_dm(
                session,
                case,
                user=manager,
                now=now,
                facts={"dm": ESCALATION_DM, "clock": clock.name, "limit": clock.limit.total_seconds()},
            )
    # the parent message shows the breach from now on (the escalation may be the first stage sent: after a
    # restart past twice the target, or a snooze that held the breach)
    if stage in (sla.BREACH, sla.ESCALATION):
        outbox.enqueue_parent_refresh(
            session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now
        )


def _follow_up(session: Session, case: Case, *, now: datetime, escalate_to: tuple[str, ...]) -> bool:
    due = case.follow_up_at
    if due is None or due > now or _held(case, sla.FOLLOW_UP, sla.DUE, now):
        return False
    if not _mark(session, case, clock=sla.FOLLOW_UP, stage=sla.DUE, start=due, now=now):
        return False
    facts = {
        "clock": sla.FOLLOW_UP,
        "stage": sla.DUE,
        "clock_start": due.isoformat(),
        "set_by": case.follow_up_by,
        "targets": list(escalate_to),
    }
    _queue_reminder(session, case, facts, now)
    people = [case.owner_id] if case.owner_id else [t for t in escalate_to if not t.startswith("S")]
    for user in people:  # a user group (S…) cannot be messaged directly; it is mentioned in the thread
        _queue_dm(session, case, user=user, now=now, facts={"dm": FOLLOW_UP_DM, "set_by": case.follow_up_by})
    case.follow_up_at, case.follow_up_by = None, None  # kept: the promise is now in the thread and the DM
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    return True


def sweep(
    session: Session,
    *,
    policy: sla.SlaPolicy,
    now: datetime,
    escalate_to: tuple[str, ...] = (),
    managers: tuple[str, ...] = (),
) -> list[Sent]:
    """Queue every reminder that is due now and has not gone out yet; returns what was queued.

    Only the open cases whose `reminder_check_at` has come (or was cleared by a change) are read; each is
    given its next check, the moment its next reminder can fall due.
    """
    return sweep_page(session, policy=policy, now=now, escalate_to=escalate_to, managers=managers).sent


@dataclass(frozen=True)
class SweptPage:
    sent: list[Sent]
    last_id: int | None  # the last case looked at; None when there was none (the sweep is over)


# Cases per transaction of a paged sweep: each costs ~0.6 ms of ORM work under the write lock, so a page of 50
# holds it ~30 ms (200 held it up to 370 ms, and every webhook waited that long during a first sweep).
SWEEP_PAGE = 50


def sweep_page(
    session: Session,
    *,
    policy: sla.SlaPolicy,
    now: datetime,
    escalate_to: tuple[str, ...] = (),
    managers: tuple[str, ...] = (),
    after_id: int = 0,
    limit: int | None = None,
) -> SweptPage:
    """`sweep` over the cases due a look with an id above `after_id`, at most `limit` of them.

    So a caller can sweep in short transactions: after a storm thousands of new cases have no check yet,
    and one transaction over all of them would hold SQLite's write lock (and every webhook) for seconds.
    """
    sent: list[Sent] = []
    open_cases = session.scalars(
        select(Case)
        .where(
            Case.status == CaseStatus.OPEN,
            Case.id > after_id,
            or_(Case.reminder_check_at.is_(None), Case.reminder_check_at <= now),
        )
        .options(selectinload(Case.reminders))
        .order_by(Case.id)
        .limit(limit)
    ).all()
    for case in open_cases:
        for clock in running_clocks(case, policy):
            stage = stage_reached(clock, policy, now)
            if stage is None or _held(case, clock.name, stage, now) or _already_sent(case, clock, stage):
                continue
            if not _mark(session, case, clock=clock.name, stage=stage, start=clock.start, now=now):
                continue
            _sla_reminder(
                session, case, clock, stage, policy=policy, now=now, escalate_to=escalate_to, managers=managers
            )
            sent.append(Sent(case.id, clock.name, stage))
        if _follow_up(session, case, now=now, escalate_to=escalate_to):
            sent.append(Sent(case.id, sla.FOLLOW_UP, sla.DUE))
        case.reminder_check_at = next_check(case, policy, now)
    return SweptPage(sent, open_cases[-1].id if open_cases else None)


IDLE_CHECK = timedelta(hours=6)  # a case with nothing pending is still looked at now and then


def next_check(case: Case, policy: sla.SlaPolicy, now: datetime) -> datetime:
    """When the next reminder of `case` can fall due: its clocks' next unsent stages, a follow-up, a snooze's end.

    Never later than the truth (an early check only costs a look); `now` if something may be due already.
    """
    snoozed = case.snoozed_until if case.snoozed_until is not None and now < case.snoozed_until else None
    moments = [now + IDLE_CHECK]
    for clock in running_clocks(case, policy):
        for stage, fraction in clock.stages:
            if _already_sent(case, clock, stage) or (
                clock.name == sla.FIRST_RESPONSE and stage == sla.NEAR and case.owner_id
            ):
                continue
            due = policy.due(clock.start, clock.limit, fraction)
            moments.append(max(due, snoozed) if snoozed and stage != sla.ESCALATION else due)
            break  # the first unsent stage of a clock comes before its others
    if case.follow_up_at is not None:
        moments.append(max(case.follow_up_at, snoozed) if snoozed else case.follow_up_at)
    return max(now, min(moments))


# Bump when `next_check` plans differently: the next start then looks at every open case again.
PLANNING = "1"


def sla_fingerprint(policy: sla.SlaPolicy) -> str:
    """A digest of what each case's next reminder check depends on: the SLA settings and how checks are planned."""
    return hashlib.sha256(f"{PLANNING}|{policy!r}".encode()).hexdigest()


def recheck_if_changed(session: Session, *, policy: sla.SlaPolicy) -> bool:
    """At a process's start: every open case is looked at by the next sweep only when the SLA settings differ
    from those their checks were planned with (a restart with the same ones changes nothing: at a million
    cases that sweep was 2,000 pages of write transactions beside the webhooks). Returns whether it will be."""
    fingerprint = sla_fingerprint(policy)
    if desk.sla_fingerprint(session) == fingerprint:
        return False
    recheck_all(session)
    desk.remember_sla(session, fingerprint)
    return True


def recheck_all(session: Session) -> None:
    """Look at every open case at the next sweep (a process starts with other SLA settings)."""
    session.execute(
        update(Case)
        .where(Case.status == CaseStatus.OPEN)
        .values(reminder_check_at=None)
        .execution_options(synchronize_session=False)
    )


def cancelled(case: Case, facts: dict[str, Any]) -> str | None:
    """Why a queued reminder should not be posted any more (the reply or claim landed first), or None."""
    clock, stage, start = facts["clock"], facts["stage"], facts["clock_start"]
    if not case.is_open:
        return "case closed"
    if clock == sla.FIRST_RESPONSE:
        if case.first_response_at is not None:
            return "answered"
        if stage == sla.NEAR and case.owner_id:
            return "claimed"
    if clock == sla.NEXT_RESPONSE and _iso(case.awaiting_reply_since) != start:
        return "answered"
    if clock == sla.OFFLINE and _iso(case.follow_through_since) != start:
        return "no longer moved to DM" if case.moved_offline_at is None else "the customer wrote again"
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snooze(session: Session, *, case_id: int, user_id: str, now: datetime) -> Case:
    """Hold this case's next reminder for 15 minutes (the managers' escalation excepted)."""
    case = require_open(session, case_id)
    case.snoozed_until = now + SNOOZE
    record(
        session,
        case,
        actor=user_id,
        kind="snoozed",
        now=now,
        detail={"until": case.snoozed_until.isoformat(), "minutes": int(SNOOZE.total_seconds() // 60)},
    )
    return case
