"""Jobs a scheduler runs on a timer: each opens its own unit of work on the runtime and calls one service.

They are idempotent and keep their state in the database, so any number of processes may run them
as often as they like (every minute is the intent) and a restarted process carries on where things stand.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta

from bot.observe import metrics
from bot.runtime import Runtime
from bot.services import digest, erasure, once, reminders, surge

logger = logging.getLogger(__name__)

# Between the pages of a job that works in pages (the sweep, a storm's gathering) it pauses as long as the page
# took (PAGE_BREATH at least, MAX_BREATH at most): a thread that just let go of a lock tends to take it again, and
# with 5 ms breaths after 30 ms pages a storm's gathering held SQLite's write lock six parts in seven while
# webhooks queued; pausing as long as it held keeps a paged job to half the lock at most.
PAGE_BREATH = 0.005
MAX_BREATH = 0.1


def breathe(since: float) -> None:
    """Pause after a page that began at `since` (time.monotonic()) as long as it took, within the bounds above."""
    time.sleep(min(MAX_BREATH, max(PAGE_BREATH, time.monotonic() - since)))


def recheck_reminders(rt: Runtime) -> bool:
    """At a process's start: if the SLA settings changed, every open case is looked at by the first sweep."""
    with rt.unit() as session:
        changed = reminders.recheck_if_changed(session, policy=rt.settings.sla)
    if changed:
        logger.info("the SLA settings are new to this desk: the first sweep looks at every open case")
    return changed


def sweep_tick(rt: Runtime) -> list[reminders.Sent]:
    """Queue the SLA, follow-through and follow-up reminders that are due now, a page of cases per transaction
    (webhooks and clicks write between the pages instead of waiting for the whole sweep)."""
    settings = rt.settings
    now = rt.now()
    sent: list[reminders.Sent] = []
    after: int | None = 0
    while after is not None:
        began = time.monotonic()
        with rt.unit() as session:
            page = reminders.sweep_page(
                session,
                policy=settings.sla,
                now=now,
                escalate_to=settings.care_escalate_to,
                managers=settings.managers,
                after_id=after,
                limit=reminders.SWEEP_PAGE,
            )
        sent += page.sent
        after = page.last_id if not rt.stopping.is_set() else None  # shutting down: the next process goes on
        if after is not None:
            breathe(began)  # the lock is free for a while: waiting webhooks take it before the next page
    for item in sent:
        metrics.REMINDERS.labels(item.clock, item.stage).inc()
        logger.info(
            "reminder queued: case %s %s %s", item.case_id, item.clock, item.stage, extra={"case_id": item.case_id}
        )
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


def retention_tick(rt: Runtime) -> erasure.Erased:
    """Erase the cases closed longer ago than CARE_RETENTION_DAYS (nothing when it is unset); returns the total.

    Found in a read, then erased one case per transaction, so a first run over years of history never holds
    the write lock for long; a case reopened or being answered meanwhile is left for a later run.
    """
    days = rt.settings.retention_days
    total = erasure.Erased()
    if days is None:
        return total
    older_than, skipped = timedelta(days=days), 0
    while True:
        now = rt.now()
        with rt.read() as session:
            batch = erasure.expired_case_ids(session, older_than=older_than, now=now, limit=100 + skipped)[skipped:]
        if not batch:
            break
        for case_id in batch:
            with rt.unit() as session:
                erased = erasure.erase_expired(session, case_id=case_id, older_than=older_than, now=now)
            skipped += not erased.changed
            total += erased
    if total.changed:
        logger.info("retention: erased %s cases closed more than %s days ago", total.cases, days)
    return total


def prune_tick(rt: Runtime) -> int:
    """Forget the keys of deliveries handled more than `once.KEEP` ago: Slack retries within minutes, so older
    keys only grow the table. Returns how many went."""
    with rt.unit() as session:
        return once.prune(session, before=rt.now() - once.KEEP)


def surge_tick(rt: Runtime) -> surge.Tick:
    """Start, update in place or end the spike alert, as the last minute's mentions and the backlog say, and gather
    a storm's normal and low posts into batches. What it decides from (the figures of thousands of posts, the waiting
    case messages) is read on a snapshot; the write lock is held only to write it, page by page."""
    settings = rt.settings
    now = rt.now()
    with rt.read() as session:
        verdict = surge.judge(session, now=now, threshold=settings.spike_per_min)
        # a surge on or about to start: its waiting normal and low posts (the search is the slow part of a page)
        on = verdict.start is not None or verdict.surge_id is not None
        waiting = surge.waiting_parents(session, now=now) if on else []
    began = time.monotonic()
    with rt.unit() as session:
        done = surge.write(
            session, verdict, now=now, channel=settings.care_channel, escalate_to=settings.care_escalate_to
        )
        first = surge.gather(session, now=now, waiting=waiting)
    gathered, looked = first.cases, first.looked
    # a storm's backlog: the rest a page per transaction, as the sweep does (until the process shuts down)
    while looked >= surge.GATHER_LIMIT and not rt.stopping.is_set():
        breathe(began)
        with rt.read() as session:
            waiting = surge.waiting_parents(session, now=now)
        began = time.monotonic()
        with rt.unit() as session:
            page = surge.gather(session, now=now, waiting=waiting)
        gathered, looked = gathered + page.cases, page.looked
    if done.started or done.ended:
        logger.info("surge %s %s", done.surge_id, "started" if done.started else "ended")
    return replace(done, gathered=gathered)
