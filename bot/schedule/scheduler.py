"""Periodic jobs: APScheduler calls them on time; the database decides what each call does.

The job store is in memory on purpose. Nothing about *what* to send lives in the scheduler: every
run reads the database, and unique markers written with the outbox items make a second process, or
a run repeated after a restart, send nothing twice. So a job here must be idempotent and cheap
enough to run every few seconds, and it reads the time from `rt.clock` (tests move a manual one).

Adding a job is one line in `jobs()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config import Settings
from bot.runtime import Runtime
from bot.schedule.jobs import digest_tick, prune_tick, recheck_reminders, retention_tick, surge_tick, sweep_tick

logger = logging.getLogger(__name__)

RETENTION_SECONDS = 3600.0  # CARE_RETENTION_DAYS is counted in days; an hourly look is plenty
SURGE_SECONDS = 10.0  # how soon a surge is noticed, and how often its alert may change while it lasts
PRUNE_SECONDS = 3600.0  # handled deliveries are kept for a day (once.KEEP); an hourly prune keeps the table small


@dataclass(frozen=True)
class PeriodicJob:
    id: str
    run: Callable[[Runtime], object]
    seconds: float


def jobs(settings: Settings) -> list[PeriodicJob]:
    """Every periodic job, with an explicit id (one line each)."""
    periodic = [
        PeriodicJob("sla_sweep", sweep_tick, settings.sweep_seconds),
        PeriodicJob("daily_digest", digest_tick, min(30.0, settings.sweep_seconds)),
        PeriodicJob("surge_watch", surge_tick, SURGE_SECONDS),
        PeriodicJob("prune_handled", prune_tick, PRUNE_SECONDS),
    ]
    if settings.retention_days is not None:  # a case is erased within the hour after its days are up
        periodic.append(PeriodicJob("retention", retention_tick, RETENTION_SECONDS))
    return periodic


class Scheduler:
    """Runs `jobs()` in a background thread pool from `start()` until `stop()` (the app's lifespan)."""

    def __init__(self, rt: Runtime, periodic: list[PeriodicJob] | None = None) -> None:
        self._rt = rt
        self._jobs = periodic if periodic is not None else jobs(rt.settings)
        # one run of a job at a time; runs missed while busy are merged into one, not queued up
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        try:
            recheck_reminders(self._rt)
        except Exception:  # the first sweeps still run; only a changed SLA setting waits for each case's check
            logger.exception("could not ask the sweep to look at every open case again")
        for job in self._jobs:
            # the first run is immediate: a restarted process catches up with what fell due meanwhile
            self._scheduler.add_job(
                self._run,
                "interval",
                seconds=job.seconds,
                args=[job],
                id=job.id,
                name=job.id,
                next_run_time=datetime.now(UTC),
                replace_existing=True,
            )
        self._scheduler.start()

    def stop(self) -> None:
        """Waits for a running job, which stops after its current page (`Runtime.stopping`)."""
        self._rt.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def _run(self, job: PeriodicJob) -> None:
        try:
            job.run(self._rt)
        except Exception:  # the next run tries again; the database keeps what is still due
            logger.exception("scheduled job %s failed", job.id)
