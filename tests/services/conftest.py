"""The services take a session: each test gets a migrated database of its own (SQLite, or a PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import db


@pytest.fixture
def sessions(database_url: str) -> Iterator[db.SessionFactory]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield db.make_session_factory(engine)
    engine.dispose()
