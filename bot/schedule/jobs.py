"""Jobs a scheduler runs on a timer: each opens its own unit of work on the runtime and calls one service.

They are idempotent and keep their state in the database, so any number of processes may run them
as often as they like (every minute is the intent) and a restarted process carries on where things stand.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from bot.services import digest, reminders

logger = logging.getLogger(__name__)


def recheck_reminders(rt: Runtime) -> None:
    """At a process's start: every open case is looked at by the first sweep (the SLA settings may differ now)."""
    with rt.unit() as session:
        reminders.recheck_all(session)


def sweep_tick(rt: Runtime) -> list[reminders.Sent]:
    """Queue the SLA, follow-through and follow-up reminders that are due now."""
    settings = rt.settings
    with rt.unit() as session:
        sent = reminders.sweep(
            session,
            policy=settings.sla,
            now=rt.now(),
            escalate_to=settings.care_escalate_to,
            managers=settings.managers,
        )
    for item in sent:
        logger.info("reminder queued: case %s %s %s", item.case_id, item.clock, item.stage)
    return sent


def digest_tick(rt: Runtime) -> int:
    """Queue every daily digest now due (CARE_DIGEST_TIME reached, not yet queued today); returns how many."""
    settings = rt.settings
    if not settings.managers:
        return 0
    with rt.unit() as session:
        return digest.enqueue_due(
            session, now=rt.now(), tz=settings.timezone, at=settings.digest_time, managers=settings.managers
        )
