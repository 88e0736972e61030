"""The database kernel's promises: a read never waits for a writer, and writers take turns without failing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot import db
from bot.db import SessionFactory
from bot.models import StaffMember


@pytest.fixture
def factories(database_url: str) -> Iterator[tuple[SessionFactory, SessionFactory]]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield db.make_session_factory(engine), db.make_read_factory(engine)
    engine.dispose()


def staff(n: int) -> StaffMember:
    from datetime import UTC, datetime

    return StaffMember(user_id=f"U{n:04d}", first_name="Ann", display_name="Ann Lee", fetched_at=datetime.now(UTC))


def test_a_read_answers_while_a_writer_holds_its_transaction_open(factories) -> None:
    writes, reads = factories
    with db.session_scope(writes) as writer:
        writer.add(staff(1))
        writer.flush()  # the writer now holds the write lock (SQLite) / an open transaction (PostgreSQL)
        answered: list[tuple[int, float]] = []

        def read() -> None:
            started = time.monotonic()
            with db.read_scope(reads) as session:
                answered.append(
                    (session.scalar(select(func.count()).select_from(StaffMember)) or 0, time.monotonic() - started)
                )

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(5)
        assert answered, "the read waited for the writer"
        count, took = answered[0]
        assert count == 0 and took < 1.0  # the snapshot before the writer's row, at once
    with db.read_scope(reads) as session:
        assert session.scalar(select(func.count()).select_from(StaffMember)) == 1


def test_a_read_scope_keeps_nothing(factories) -> None:
    writes, reads = factories
    with db.read_scope(reads) as session:
        session.add(staff(2))
        session.flush()
    with db.read_scope(reads) as session:
        assert session.scalar(select(func.count()).select_from(StaffMember)) == 0


def test_many_writers_at_once_all_commit(factories) -> None:
    writes, reads = factories
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with db.session_scope(writes) as session:
                session.add(staff(100 + n))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    with db.read_scope(reads) as session:
        assert session.scalar(select(func.count()).select_from(StaffMember)) == 40


def test_the_checkpointer_moves_the_wal_into_the_file_outside_any_commit(tmp_path) -> None:
    """SQLite's own checkpoint runs inside a commit only as a safety net (10,000 pages); the process's
    checkpointer thread copies the WAL into the database file, so a commit never waits for that copy."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'care.db'}")
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == db.AUTOCHECKPOINT_PAGES
    for batch in range(20):
        with db.session_scope(sessions) as s:
            s.add_all(staff(batch * 100 + n) for n in range(100))
    checkpointer = db.Checkpointer(engine)
    busy, frames, copied = checkpointer.run_once()
    assert busy == 0 and frames > 0 and copied == frames  # every frame of the WAL is in the file now
    running = db.Checkpointer(engine, every=0.01).start()
    try:
        with db.session_scope(sessions) as s:
            s.add(staff(99_999))
        deadline = time.monotonic() + 5
        while (running.last is None or running.last[1] == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.last is not None
        busy, frames, copied = running.last
        assert busy == 0 and frames > 0 and copied == frames  # the thread copied the new commit's pages
    finally:
        running.stop()
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://care@127.0.0.1:1/none"])
def test_the_checkpointer_is_for_sqlite_files_only(url: str) -> None:
    engine = db.make_engine(url)
    assert not db.Checkpointer.applies(engine)
    assert db.Checkpointer(engine).start()._thread is None  # nothing to do: no thread
    engine.dispose()
