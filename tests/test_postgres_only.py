"""Behaviour that only PostgreSQL has: concurrent schema upgrades, time zones, JSON column types.

Skipped on SQLite; the CI runs the suite a second time with TEST_DATABASE_URL set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, select, text

from bot import db
from bot.models import StaffMember

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only: set TEST_DATABASE_URL"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    assert eng.dialect.name == "postgresql"
    yield eng
    eng.dispose()


def test_replicas_starting_together_upgrade_the_schema_once(database_url: str) -> None:
    """bot.db.upgrade takes an advisory lock, so simultaneous starts queue instead of colliding."""
    replicas = 4
    barrier = threading.Barrier(replicas)
    errors: list[BaseException] = []

    def start_replica() -> None:
        eng = db.make_engine(database_url)
        try:
            barrier.wait(timeout=30)
            db.upgrade(eng)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=start_replica) for _ in range(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    eng = db.make_engine(database_url)
    try:
        with eng.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = set(inspect(conn).get_table_names())
    finally:
        eng.dispose()
    assert len(versions) == 1
    assert {"cases", "mentions", "case_events", "outbox", "staff"} <= tables


def test_datetimes_are_stored_as_instants_whatever_the_session_time_zone(database_url: str, engine: Engine) -> None:
    db.upgrade(engine)
    with engine.connect() as conn:
        column_type = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'staff' AND column_name = 'fetched_at'"
            )
        ).scalar_one()
    assert column_type == "timestamp with time zone"

    paris = timezone(timedelta(hours=1))
    written = datetime(2026, 11, 22, 11, 30, tzinfo=paris)
    with db.session_scope(db.make_session_factory(engine)) as session:
        session.add(StaffMember(user_id="U0ALICE", first_name="Alice", display_name="Alice Moreau", fetched_at=written))

    tokyo = db.make_engine(database_url)

    @event.listens_for(tokyo, "connect")
    def _tokyo_time(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'Asia/Tokyo'")
        dbapi_conn.commit()

    try:
        with tokyo.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar_one() == "Asia/Tokyo"
        with db.session_scope(db.make_session_factory(tokyo)) as session:
            read = session.scalars(select(StaffMember.fetched_at)).one()
            later = session.scalars(
                select(StaffMember.user_id).where(StaffMember.fetched_at > datetime(2026, 11, 22, 10, 29, tzinfo=UTC))
            ).all()
    finally:
        tokyo.dispose()
    assert read == written
    assert read.utcoffset() == timedelta(0)
    assert later == ["U0ALICE"]


def test_json_columns_hold_json(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.connect() as conn:
        types = dict(
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND data_type IN ('json', 'jsonb')"
                )
            ).all()
        )
    assert set(types) == {
        "mentions.extra",
        "case_events.detail",
        "outbox.payload",
        "outbox.result",
        "surges.shown",
        "surge_batches.entries",
    }
