"""Engine, sessions and schema upgrades.

SQLite is the embedded default. Several threads write to it (webhooks, clicks, the outbox workers), so
every write transaction takes the write lock up front (`BEGIN IMMEDIATE`): two deferred transactions that
both try to upgrade a read lock would otherwise fail with "database is locked" instead of waiting. And the
writers of one process queue on a lock of their own (`session_scope`) instead of all polling SQLite's lock
with its sleeping busy handler, which under load wastes most of the time asleep.

Reads (`/care stats`, the Home tab, rendering a message) use a read-only session factory: a plain
deferred `BEGIN`, which in WAL mode reads a snapshot and never waits for, or holds up, a writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib import resources
from typing import Any

from sqlalchemy import CursorResult, Engine, Update, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

SessionFactory = sessionmaker[Session]


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here: it is the driver we ship and test with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" hook below issue BEGIN
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL survives any crash of the app (kill -9 included) and syncs at checkpoints,
                # not at every commit; only an OS crash or power cut may lose the last commits. FULL made each
                # commit wait for the disk: about 100 a second was the ceiling of ingest, whatever else we did.
                cur.execute("PRAGMA synchronous=NORMAL")
                # the process's Checkpointer keeps the WAL short from a thread of its own; SQLite's own
                # checkpoint, run inside a commit, is only the safety net for a process without one
                cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of WAL: never reached while a Checkpointer runs
CHECKPOINT_EVERY = 0.5  # seconds between the Checkpointer's checkpoints


class Checkpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own.

    By default SQLite checkpoints inside whichever commit takes the WAL past 1,000 pages, with the write lock
    still held: under webhook load that commit, and every webhook queued behind it, waited up to 230 ms (a
    lock-hold probe; with this thread the longest write batch was 40 ms). A PASSIVE checkpoint takes no lock a
    writer needs, so here it costs the writers nothing. Not for PostgreSQL or an in-memory database."""

    def __init__(self, engine: Engine, *, every: float = CHECKPOINT_EVERY) -> None:
        self._engine, self._every = engine, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: tuple[int, int, int] | None = None  # the thread's latest checkpoint, as run_once reports it

    @staticmethod
    def applies(engine: Engine) -> bool:
        return engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "", ":memory:")

    def start(self) -> Checkpointer:
        if self.applies(self._engine) and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, WAL frames, frames checkpointed), as SQLite reports them."""
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            found = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        return (int(found[0]), int(found[1]), int(found[2])) if found else (0, 0, 0)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.last = self.run_once()
            except Exception:  # a checkpoint that could not run now runs next time (or SQLite's own does)
                logger.debug("WAL checkpoint skipped", exc_info=True)


READ_ONLY = "care_read_only"  # an execution option: this connection's transactions only read
_WRITERS: dict[str, threading.RLock] = {}  # one queue of writers per SQLite file, shared by its factories
_WRITERS_GUARD = threading.Lock()


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions for units of work that write."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_factory(engine: Engine) -> SessionFactory:
    """Sessions that only read: on SQLite a deferred BEGIN (a snapshot, no write lock); elsewhere the same."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def _writer_queue(factory: SessionFactory) -> AbstractContextManager[object]:
    """The in-process queue of SQLite writers on this file (re-entrant: a unit may open another inside it)."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite" or bind.get_execution_options().get(READ_ONLY):
        return nullcontext()
    key = bind.url.render_as_string(hide_password=False)
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    with _writer_queue(factory):
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


@contextmanager
def read_scope(factory: SessionFactory) -> Iterator[Session]:
    """A read: a session from `make_read_factory`, rolled back and closed at the end (it never writes)."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def updated(session: Session, statement: Update) -> int:
    """How many rows an UPDATE changed: a conditional UPDATE is how a lease is taken on every backend."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)  # what an UPDATE always returns; typed here once
    return int(result.rowcount)


def alembic_config(engine_url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("migrations")))
    cfg.set_main_option("sqlalchemy.url", normalise_url(engine_url).replace("%", "%%"))
    return cfg


@contextmanager
def alembic_at_debug() -> Iterator[None]:
    """Alembic reports every step at INFO ("Context impl SQLiteImpl.", "Running upgrade 0016 -> 0017", a
    "setup plugin" line per plugin when it is first imported): 7 to 25 lines on every start, before any line
    of ours. They matter only when debugging, so below DEBUG they are held back; warnings still show.
    Only alembic's level changes, and back again after: the app's handlers and format are never touched
    (no fileConfig here or in migrations/env.py)."""
    log = logging.getLogger("alembic")
    with _MIGRATING:  # one migration at a time in a process, so two threads never restore each other's level
        before = log.level
        if not log.isEnabledFor(logging.DEBUG):
            log.setLevel(logging.WARNING)
        try:
            yield
        finally:
            log.setLevel(before)


_MIGRATING = threading.RLock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call on every start and from several processes."""
    with alembic_at_debug():
        from alembic import command  # its first import logs each plugin it sets up

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # replicas starting together must not race each other through the same migration
                conn.execute(text("SELECT pg_advisory_xact_lock(7283401)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with alembic_at_debug():
        from alembic import command

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# -- what a unit of work did, told once it has committed ------------------------------------------------
# Metrics and the INFO log lines ("case 12 opened") must count what really happened: a group-commit batch
# that fails is written again unit by unit, and a rolled-back unit did nothing. So a service notes an event
# on its session, and the observers hear of it only after the outermost transaction commits.

CommittedObserver = Callable[[str, dict[str, Any]], None]
_EVENTS_KEY = "care.committed_events"
_OBSERVERS: list[CommittedObserver] = []


def note(session: Session, event_name: str, **fields: Any) -> None:
    """Tell the observers `event_name` happened, if and when this unit of work commits."""
    session.info.setdefault(_EVENTS_KEY, []).append((event_name, fields))


def on_committed(observer: CommittedObserver) -> None:
    """Register an observer of committed events (once; registering it again does nothing)."""
    if observer not in _OBSERVERS:
        _OBSERVERS.append(observer)


@event.listens_for(Session, "after_commit")
def _tell_observers(session: Session) -> None:
    for event_name, fields in session.info.pop(_EVENTS_KEY, ()):
        for observer in _OBSERVERS:
            try:
                observer(event_name, fields)
            except Exception:  # an observer's bug must never undo or fail a committed unit
                logger.exception("an observer of %s failed", event_name)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: nothing happened
        session.info.pop(_EVENTS_KEY, None)
