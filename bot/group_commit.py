"""Group commit: one writer thread that writes queued units of work a batch per transaction.

Part of the kernel beside `bot.db` (whose `session_scope` each batch runs in): the webhooks hand it their
posts (`bot.services.intake`) so that many requests share one transaction instead of queueing for
SQLite's one write lock one by one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from bot.db import SessionFactory, session_scope

logger = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class WriterStopped(RuntimeError):
    """The group-commit writer has stopped (the process is shutting down): nothing was written."""


class Unit(Protocol[T_co]):
    """A unit of work for `GroupCommit`. It may also offer `write_all(session, units) -> results`, a static
    method that writes a run of units of its own type together (fewer statements than one by one)."""

    def prepare(self) -> object:
        """The slow part that needs no database (scoring, parsing): run before the transaction opens."""

    def write(self, session: Session) -> T_co:
        """Write this unit alone in `session`'s transaction, which the caller commits."""


@dataclass
class _Job(Generic[T]):
    """A queued unit and whoever waits for it: a thread (`future`) or a coroutine (`waiter`, on `loop`)."""

    unit: Unit[T]
    future: Future[T] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[T] | None = None
    outcome: tuple[bool, Any] | None = None  # (True, result) or (False, exception), once known

    def start(self) -> bool:
        """False if whoever waited has gone (a cancelled request): nobody would be told it is stored."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.waiter is not None and not self.waiter.cancelled()


def _answer(jobs: list[_Job[Any]]) -> None:
    """Hand each job its outcome: a thread's future directly, coroutines with one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
    for job in jobs:
        if job.outcome is None:
            continue
        if job.future is not None:
            if job.future.done():
                continue
            ok, value = job.outcome
            job.future.set_result(value) if ok else job.future.set_exception(value)
        elif job.loop is not None:
            by_loop.setdefault(job.loop, []).append(job)
    for loop, waiting in by_loop.items():
        with suppress(RuntimeError):  # that loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, waiting)


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        if job.waiter is not None and not job.waiter.done() and job.outcome is not None:
            ok, value = job.outcome
            job.waiter.set_result(value) if ok else job.waiter.set_exception(value)


class GroupCommit:
    """One writer thread that writes queued units of work a batch per transaction (group commit).

    Webhooks arrive many at a time and each is a few small INSERTs: what costs is the transaction around
    them (BEGIN IMMEDIATE, COMMIT) and, on SQLite, the threads queueing for its one write lock. Here a
    request hands its unit to this thread and awaits its own future; the thread runs every unit's
    `prepare` (scoring, outside any transaction), then all the units queued meanwhile in one `session_scope`,
    and answers each future only after the COMMIT. So a unit's answer always means "stored", and a failed
    transaction answers nobody with success: the batch is rolled back and each unit is retried alone in a
    transaction of its own, so one bad unit fails only its own request and never leaves a partial write.
    On PostgreSQL each replica has its own writer; the units must be correct under concurrency by themselves
    (unique constraints, locks), exactly as they are when run one per transaction.
    """

    def __init__(
        self,
        factory: SessionFactory,
        *,
        on_commit: Callable[[], None] = lambda: None,
        max_batch: int = 256,
        name: str = "group-commit",
        wake_every: float = 0.2,
    ) -> None:
        """`on_commit` (waking the outbox workers) runs after a commit, at most once every `wake_every` seconds
        while commits keep coming, and always after the last: a wake costs the workers a transaction each,
        and under load, once per batch, it was a fifth of the process's time."""
        self._factory = factory
        self._on_commit = on_commit
        self._wake_every = wake_every
        self._woken_at = 0.0
        self._wake_owed = False
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.batches = 0  # transactions committed, for tests and the benchmark's curiosity

    def submit(self, unit: Unit[T]) -> Future[T]:
        """Queue a unit; its future holds its result once committed, or the exception that stopped it."""
        future: Future[T] = Future()
        self._put(_Job(unit, future=future))
        return future

    async def run(self, unit: Unit[T]) -> T:
        """`submit` for a coroutine: the event loop waits for the commit without holding a thread, and is
        answered once per batch (not once per unit through a thread's future)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._put(_Job(unit, loop=loop, waiter=waiter))
        return await waiter

    def _put(self, job: _Job[Any]) -> None:
        with self._lock:
            if self._stopped:
                raise WriterStopped("the writer has stopped")
            if self._thread is None:  # started on first use, so runtimes that never ingest start no thread
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(job)

    def stop(self, timeout: float | None = 30) -> None:
        """Refuse new units, write every unit already queued, then end the thread."""
        with self._lock:
            self._stopped = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            if self._wake_owed:
                try:
                    first = self._queue.get(timeout=max(0.0, self._woken_at + self._wake_every - time.monotonic()))
                except queue.Empty:
                    self._wake()
                    continue
            else:
                first = self._queue.get()
            batch = [] if first is None else [first]
            stopping = first is None
            while not stopping and len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                else:
                    batch.append(job)
            try:
                self._write_batch(batch)
                _answer(batch)
            except BaseException as exc:  # not an ordinary failure (those answer their futures): end, answering all
                self._give_up(batch, exc)
                raise
        if self._wake_owed:
            self._wake()

    def _committed(self) -> None:
        self.batches += 1
        self._wake_owed = True
        if time.monotonic() - self._woken_at >= self._wake_every:
            self._wake()

    def _wake(self) -> None:
        self._wake_owed, self._woken_at = False, time.monotonic()
        try:
            self._on_commit()
        except Exception:  # waking is a courtesy (the workers poll anyway); it must not stop the writer
            logger.exception("waking after a commit failed")

    def _give_up(self, batch: list[_Job[Any]], exc: BaseException) -> None:
        with self._lock:
            self._stopped = True
        stopped = WriterStopped(f"the writer stopped: {type(exc).__name__}")
        leftover: list[_Job[Any] | None] = []
        while True:
            try:
                leftover.append(self._queue.get_nowait())
            except queue.Empty:
                break
        unanswered = [job for job in [*batch, *leftover] if job is not None]
        for job in unanswered:
            job.outcome = job.outcome or (False, stopped)
        _answer(unanswered)

    def _write_batch(self, batch: list[_Job[Any]]) -> None:
        ready = []
        for job in batch:
            if not job.start():
                continue  # its request went away before we began: nobody was told it is stored, so it is not
            try:
                job.unit.prepare()
            except Exception as exc:  # a unit that cannot even be prepared fails alone, before any transaction
                job.outcome = (False, exc)
            else:
                ready.append(job)
        if not ready:
            return
        try:
            with session_scope(self._factory) as session:
                results = _write_runs(session, [job.unit for job in ready])
        except Exception as exc:
            if len(ready) == 1:
                ready[0].outcome = (False, exc)
                return
            logger.warning("a batch of %d writes failed (%s); writing each alone", len(ready), type(exc).__name__)
            for job in ready:
                self._write_batch_alone(job)
            return
        for job, result in zip(ready, results, strict=True):
            job.outcome = (True, result)
        self._committed()

    def _write_batch_alone(self, job: _Job[Any]) -> None:
        try:
            with session_scope(self._factory) as session:
                result = job.unit.write(session)
        except Exception as exc:
            job.outcome = (False, exc)
            return
        job.outcome = (True, result)
        self._committed()


def _write_runs(session: Session, units: list[Unit[Any]]) -> list[Any]:
    """Each unit's result, in order; consecutive units of a type with `write_all` are written together."""
    results: list[Any] = []
    start = 0
    while start < len(units):
        kind = type(units[start])
        end = start + 1
        while end < len(units) and type(units[end]) is kind:
            end += 1
        write_all = getattr(kind, "write_all", None)
        if write_all is not None:
            results.extend(write_all(session, units[start:end]))
        else:
            results.extend(unit.write(session) for unit in units[start:end])
        start = end
    return results
