"""When the desk started, and so the first day it can report on.

The first process that ever runs on a database records the moment (insert-if-absent, so replicas
starting together agree on one row). Cases older than that row (an upgraded installation, imported
data) move the start back: a desk that holds a case clearly existed when it arrived.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Case, DeskStart

_THE_DESK = 1


def record_start(session: Session, *, now: datetime) -> datetime:
    """Note `now` as the desk's start unless a start is already recorded; returns the recorded start."""
    found = session.get(DeskStart, _THE_DESK)
    if found is not None:
        return found.started_at
    try:
        with session.begin_nested():
            session.add(DeskStart(id=_THE_DESK, started_at=now))
            session.flush()
    except IntegrityError:  # another process recorded it between our look and our insert
        pass
    stored = session.get(DeskStart, _THE_DESK, populate_existing=True)
    return stored.started_at if stored is not None else now


def sla_fingerprint(session: Session) -> str | None:
    """The SLA settings the open cases' reminder checks were last planned with (bot/services/reminders.py)."""
    return session.scalar(select(DeskStart.sla_fingerprint).where(DeskStart.id == _THE_DESK))


def remember_sla(session: Session, fingerprint: str) -> None:
    found = session.get(DeskStart, _THE_DESK)
    if found is not None:  # recorded by every process's start (record_start)
        found.sla_fingerprint = fingerprint


def started_at(session: Session) -> datetime | None:
    """The earlier of the recorded start and the first case; None for a desk that has never run."""
    recorded = session.scalar(select(DeskStart.started_at).where(DeskStart.id == _THE_DESK))
    first_case = session.scalar(select(Case.created_at).order_by(Case.created_at).limit(1))
    known = [moment for moment in (recorded, first_case) if moment is not None]
    return min(known) if known else None


def first_whole_day(started: datetime, tz: ZoneInfo) -> date:
    """The first local day the desk ran from its midnight to the next."""
    local = started.astimezone(tz)
    day = local.date()
    return day if local == datetime.combine(day, time(0), tzinfo=tz) else day + timedelta(days=1)
