"""Poll cursors: which process polls a platform now, when it may poll next, and where it got to.

A process leases a connector's row with a conditional UPDATE (as the outbox does), so several replicas
share the work without polling twice. The new cursor is stored by `advance` in the same transaction as
the mentions the poll found: a crash before that commit repeats the poll (ingest is idempotent), a crash
after it resumes from the new cursor. Either way nothing is missed and nothing is posted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import updated
from bot.models import PollCursor

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class PollLease:
    connector: str
    owner: str
    cursor: str | None
    failures: int


def _ensure_row(session: Session, connector: str, now: datetime) -> None:
    if session.get(PollCursor, connector) is not None:
        return
    try:
        with session.begin_nested():
            session.add(PollCursor(connector=connector, cursor=None, next_poll_at=now, failures=0))
            session.flush()
    except IntegrityError:
        pass  # another process created it first


def lease(session: Session, *, connector: str, owner: str, now: datetime) -> PollLease | None:
    """Take the right to poll `connector` now, if it is due and nobody else holds it."""
    _ensure_row(session, connector, now)
    taken = updated(
        session,
        update(PollCursor)
        .where(
            PollCursor.connector == connector,
            PollCursor.next_poll_at <= now,
            or_(PollCursor.lease_until.is_(None), PollCursor.lease_until < now, PollCursor.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        return None
    row = session.scalar(
        select(PollCursor).where(PollCursor.connector == connector).execution_options(populate_existing=True)
    )
    assert row is not None
    return PollLease(connector, owner, row.cursor, row.failures)


def _release(session: Session, held: PollLease, **values: object) -> bool:
    done = updated(
        session,
        update(PollCursor)
        .where(PollCursor.connector == held.connector, PollCursor.lease_owner == held.owner)
        .values(lease_owner=None, lease_until=None, **values)
        .execution_options(synchronize_session=False),
    )
    return done == 1


def advance(session: Session, held: PollLease, *, cursor: str | None, next_poll_at: datetime, now: datetime) -> bool:
    """Store the new cursor (same transaction as the mentions). False if our lease was lost meanwhile."""
    return _release(
        session,
        held,
        cursor=cursor,
        next_poll_at=next_poll_at,
        last_success_at=now,
        last_error=None,
        last_error_kind=None,
        failures=0,
    )


def failed(session: Session, held: PollLease, *, next_poll_at: datetime, error: str, kind: str = "failed") -> None:
    """Keep the cursor; try again at `next_poll_at`. `kind`: rate_limited, refused or failed."""
    _release(
        session,
        held,
        next_poll_at=next_poll_at,
        last_error=error[:2000],
        last_error_kind=kind,
        failures=held.failures + 1,
    )


def next_due(session: Session, *, connector: str) -> datetime | None:
    """When the connector may next be polled; a held lease counts as busy until it runs out."""
    row = session.get(PollCursor, connector)
    if row is None:
        return None
    if row.lease_until is not None:
        return max(row.next_poll_at, row.lease_until)
    return row.next_poll_at


def status(session: Session) -> dict[str, PollCursor]:
    return {row.connector: row for row in session.scalars(select(PollCursor))}
