"""Each staff action happens once: a delivery's key is claimed in the database before anything is done.

Slack can deliver the same click, submission or event more than once (a double submit, its retries with
X-Slack-Retry-Num, a flaky network), and with several replicas the copies may reach different processes.
So the key lives in a table with a unique key: the first `claim` inserts it and acts; any later one,
in this process or another, finds it taken. The insert is atomic on SQLite (one writer at a time) and on
PostgreSQL (the second insert waits for the first to commit, then conflicts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import HandledDelivery

# How long a key is kept: Slack retries an event within about five minutes and a person double-submits
# within seconds, so a day is ample; the daily job calls `prune(session, before=now - KEEP)`.
KEEP = timedelta(days=1)


def key_of(*parts: object) -> str:
    """A fixed-length key for whatever identifies a delivery (JSON-able parts, in order)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, *, key: str, kind: str, now: datetime) -> bool:
    """True for the first delivery with this key (now recorded); False if it was already handled."""
    if session.get(HandledDelivery, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(HandledDelivery(key=key, kind=kind[:32], handled_at=now))
            session.flush()
    except IntegrityError:  # another request (or replica) claimed it between our look and our insert
        return False
    return True


@dataclass(frozen=True)
class Claiming:
    """`claim` as a unit of work (`Runtime.write`: on SQLite through the group-commit writer): every click's ack
    waits for its key to be stored, and fifty clicks at once were fifty write transactions queueing for SQLite's
    lock before their acks (p50 0.6 s with Slack slow); in the writer's batches they are a few. Its result is
    `claim`'s."""

    key: str
    kind: str
    now: datetime

    def prepare(self) -> None:
        return None

    def write(self, session: Session) -> bool:
        return claim(session, key=self.key, kind=self.kind, now=self.now)


def release(session: Session, *, key: str) -> None:
    """Forget a claim whose work did not happen (a problem shown in the modal), so a corrected submit acts."""
    session.execute(delete(HandledDelivery).where(HandledDelivery.key == key))


def prune(session: Session, *, before: datetime) -> int:
    """Delete the keys handled before `before` (Slack retries within minutes); returns how many went."""
    result = session.execute(delete(HandledDelivery).where(HandledDelivery.handled_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
