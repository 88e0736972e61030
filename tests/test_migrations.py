"""The Alembic migrations and the ORM models describe the same schema, on SQLite and on PostgreSQL.

Runs on whatever `database_url` gives (a fresh SQLite file, or a fresh PostgreSQL schema when
TEST_DATABASE_URL is set), so the CI runs it against both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)

from bot import db
from bot.models import Base, StaffMember, UTCDateTime
from bot.services import desk

APP_TABLES = {
    "cases",
    "mentions",
    "case_events",
    "outbox",
    "staff",
    "poll_cursors",
    "reminders",
    "digests",
    "connector_credentials",
    "desk_start",
    "handled_deliveries",
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    yield eng
    eng.dispose()


def head_revision(engine: Engine) -> str:
    script = ScriptDirectory.from_config(db.alembic_config(engine.url.render_as_string(False)))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def schema_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))


def test_upgrade_creates_every_table_of_the_models(engine: Engine) -> None:
    db.upgrade(engine)

    tables = table_names(engine)
    assert tables >= APP_TABLES
    assert set(Base.metadata.tables) <= tables, "a model has no migration creating its table"
    assert current_revision(engine) == head_revision(engine)
    if engine.dialect.name == "postgresql":
        # the tables must land in the test's own schema (search_path), not in `public`
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            in_schema = set(inspect(conn).get_table_names(schema=schema))
        assert schema.startswith("t_")
        assert in_schema >= APP_TABLES


def test_downgrade_to_base_removes_every_app_table_and_upgrade_again_works(engine: Engine) -> None:
    db.upgrade(engine)
    db.downgrade(engine, "base")

    assert table_names(engine) - {"alembic_version"} == set()
    assert current_revision(engine) is None

    db.upgrade(engine)
    assert table_names(engine) >= APP_TABLES
    assert current_revision(engine) == head_revision(engine)
    assert schema_diff(engine) == []


def test_each_revision_downgrades_and_upgrades_cleanly(engine: Engine) -> None:
    """Stairway: every revision's downgrade undoes exactly its upgrade, so it can be re-applied."""
    script = ScriptDirectory.from_config(db.alembic_config(engine.url.render_as_string(False)))
    revisions = list(reversed(list(script.walk_revisions("base", "heads"))))
    assert revisions, "no migrations found"
    for rev in revisions:
        db.upgrade(engine, rev.revision)
        db.downgrade(engine, rev.down_revision or "base")  # type: ignore[arg-type]
        db.upgrade(engine, rev.revision)
        assert current_revision(engine) == rev.revision
    assert schema_diff(engine) == []


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    db.upgrade(engine)

    diff = schema_diff(engine)

    assert diff == [], f"models and migrations disagree; write a migration for: {diff}"


def test_the_comparison_sees_real_type_drift(engine: Engine) -> None:
    """Guards the test above against passing vacuously: it must flag a changed type, and it must
    compare UTCDateTime as its impl (TIMESTAMP WITH TIME ZONE), not skip it or always flag it."""
    in_db = MetaData()
    Table(
        "probe",
        in_db,
        Column("id", Integer, primary_key=True),
        Column("name", String(10), nullable=False),
        Column("naive_at", DateTime(timezone=False), nullable=False),
        Column("aware_at", DateTime(timezone=True), nullable=False),
    )
    in_db.create_all(engine)

    in_models = MetaData()
    Table(
        "probe",
        in_models,
        Column("id", Integer, primary_key=True),
        Column("name", String(20), nullable=False),
        Column("naive_at", UTCDateTime(), nullable=False),
        Column("aware_at", UTCDateTime(), nullable=False),
    )

    changed = {op[0][3] for op in schema_diff(engine, in_models) if isinstance(op, list) and op[0][0] == "modify_type"}

    if engine.dialect.name == "postgresql":
        assert changed == {"name", "naive_at"}
    else:
        # SQLite stores both as DATETIME: there is no time zone to disagree about
        assert changed == {"name"}


def test_upgrading_twice_is_harmless(engine: Engine) -> None:
    db.upgrade(engine)
    fetched = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    with db.session_scope(db.make_session_factory(engine)) as session:
        session.add(StaffMember(user_id="U0ALICE", first_name="Alice", display_name="Alice Moreau", fetched_at=fetched))

    db.upgrade(engine)
    db.upgrade(engine, "head")

    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head_revision(engine)]
    with db.session_scope(db.make_session_factory(engine)) as session:
        staff = session.scalars(select(StaffMember)).all()
        assert [(s.user_id, s.fetched_at) for s in staff] == [("U0ALICE", fetched)]
    assert schema_diff(engine) == []


def test_an_upgraded_desk_is_taken_to_have_started_with_its_first_case(engine: Engine) -> None:
    """0006 backfills the desk's start from the oldest case, so an existing desk keeps its digests."""
    db.upgrade(engine, "0005")
    first, later = datetime(2026, 10, 1, 8, 30, tzinfo=UTC), datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    cases = Table("cases", MetaData(), autoload_with=engine)
    row = {
        "platform": "twitter",
        "connector": "generic",
        "author_id": "1",
        "author_handle": "a",
        "status": "open",
        "priority": "normal",
        "slack_channel": "C0CARE",
        "updated_at": later,
    }
    with engine.begin() as conn:
        conn.execute(cases.insert(), [{**row, "created_at": later}, {**row, "author_id": "2", "created_at": first}])
    db.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        assert desk.started_at(session) == first
        assert desk.record_start(session, now=datetime(2026, 11, 26, tzinfo=UTC)) == first  # kept, not replaced


def test_a_new_desk_has_no_start_until_it_first_runs(engine: Engine) -> None:
    db.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        assert desk.started_at(session) is None
