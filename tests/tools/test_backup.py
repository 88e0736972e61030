"""`care-bot db backup FILE`: a copy of the SQLite desk taken while the app writes, which the app serves from once
restored; PostgreSQL is pointed to pg_dump, and an existing FILE is kept unless --force."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from bot import db
from bot.__main__ import main
from bot.models import Case
from bot.tools.slack_standin import SlackStandIn
from tests.support.env import WEBHOOK_SECRET
from tests.support.serve import start_serve, stop, valid_settings, wait_healthy
from tests.support.stats_dataset import add_case
from tests.support.webhooks import post_webhook, webhook_body

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quiet_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command as an operator runs it, minus what would outlive the test: its logging set-up, a .env."""
    monkeypatch.setattr("bot.__main__.configure_logging", lambda *args, **kwargs: None)
    monkeypatch.delenv("CARE_ENV_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # where no .env is


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[db.SessionFactory]:
    """A migrated SQLite desk (WAL, as the app runs it) with cases A, B and C; DATABASE_URL names it."""
    (tmp_path / "live").mkdir()
    url = f"sqlite:///{tmp_path / 'live' / 'care.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as s:
        for name in "ABC":
            add_case(s, name, platform="twitter", priority="normal", created=NOW, scores=[(NOW, -0.5)])
    yield sessions
    engine.dispose()


def backup(target: Path, *extra: str) -> int:
    return main(["db", "backup", str(target), *extra])


def cases_in(path: Path) -> set[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {row[0] for row in conn.execute("SELECT author_id FROM cases")}
    finally:
        conn.close()


def count(sessions: db.SessionFactory) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_backup_copies_the_desk_into_one_checked_file_and_says_what_it_copied(live, tmp_path, capsys) -> None:
    target = tmp_path / "backups" / "care-2026-11-23.db"
    target.parent.mkdir()
    assert backup(target) == 0
    out, err = capsys.readouterr()
    assert out == f"backed up 3 cases to {target} (0.2 MB)\n" and err == ""
    assert cases_in(target) == {"author-A", "author-B", "author-C"}
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no .tmp, no -wal or -shm left


def test_backup_while_another_connection_holds_an_open_write_transaction(live, tmp_path, capsys) -> None:
    """The app's writer keeps its lock; the backup reads a snapshot: what was committed, nothing half-done."""
    with live() as writing:
        add_case(writing, "D", platform="twitter", priority="normal", created=NOW, scores=[(NOW, -0.5)])
        writing.flush()  # BEGIN IMMEDIATE: the write lock is held
        assert backup(tmp_path / "copy.db") == 0
        writing.commit()
    assert "backed up 3 cases" in capsys.readouterr().out
    assert cases_in(tmp_path / "copy.db") == {"author-A", "author-B", "author-C"}
    assert count(live) == 4  # and the writer was never refused


def test_backup_while_the_app_keeps_writing(live, tmp_path, capsys) -> None:
    written: list[str] = []
    stop_writing = threading.Event()

    def write() -> None:
        while not stop_writing.is_set():
            name = f"W{len(written)}"
            with db.session_scope(live) as s:
                add_case(s, name, platform="twitter", priority="normal", created=NOW, scores=[(NOW, -0.5)])
            written.append(name)

    writer = threading.Thread(target=write, name="app-writes")
    writer.start()
    try:
        copies = []
        for n in range(3):
            before = len(written) + 3
            assert backup(tmp_path / f"copy-{n}.db") == 0
            copies.append((before, cases_in(tmp_path / f"copy-{n}.db")))
            after = len(written) + 3
            while len(written) + 3 < after + 5:  # the app wrote on after the copy, as before it
                assert writer.is_alive()
                stop_writing.wait(0.01)
    finally:
        stop_writing.set()
        writer.join(timeout=30)
    assert not writer.is_alive()
    for before, copied in copies:
        assert len(copied) >= before  # every case committed before the backup began, and whole ones only
        assert {"author-A", "author-B", "author-C"} <= copied
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_a_restored_backup_is_the_desk_the_app_serves(live, tmp_path, capsys) -> None:
    """Restore as docs/operations.md says (the app stopped, the copy over DATABASE_URL's file, the app started):
    the served app knows the complaints from before the backup."""
    with live() as s:
        case_a = s.scalars(select(Case.id).where(Case.author_id == "author-A")).one()
    target = tmp_path / "care-backup.db"
    assert backup(target) == 0
    restored = tmp_path / "restored" / "care.db"
    restored.parent.mkdir()
    shutil.copyfile(target, restored)

    with SlackStandIn(token="xoxb-cli-test-token") as standin:
        env = valid_settings(
            tmp_path,
            DATABASE_URL=f"sqlite:///{restored}",
            SLACK_API_URL=standin.api_url,
            CARE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            CARE_GENERIC_REPLY_URL=standin.reply_url,
        )
        served = start_serve(tmp_path, env)
        try:
            assert wait_healthy(served).json()["ok"] is True
            again = post_webhook(served.url, webhook_body(platform="twitter", id="A-0"))  # case A's post
            assert again.status_code == 202, again.text
            assert again.json() == {"case_id": case_a, "duplicate": True}
        finally:
            code = stop(served)
    assert code in (0, -signal.SIGTERM), served.output()
    assert "Traceback" not in served.output(), served.output()


def test_db_upgrade_brings_an_older_backups_schema_up_to_date(tmp_path, monkeypatch, capsys) -> None:
    old = tmp_path / "old.db"
    engine = db.make_engine(f"sqlite:///{old}")
    db.upgrade(engine, "0010")
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{old}")
    assert backup(tmp_path / "old-backup.db") == 0
    assert "backed up 0 cases" in capsys.readouterr().out

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'old-backup.db'}")
    assert main(["db", "upgrade"]) == 0
    conn = sqlite3.connect(tmp_path / "old-backup.db")
    try:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        conn.close()
    assert revision == ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head() != "0010"


# -- refusals: one sentence on stderr, exit status 2, nothing written ---------------------------------
def one_sentence(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("care-bot: ") and line.endswith(".")
    return line


def test_a_postgresql_desk_is_pointed_to_pg_dump(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://care:s3cret@db.internal/care")
    assert backup(tmp_path / "care.dump") == 2
    line = one_sentence(capsys)
    assert "PostgreSQL" in line and "pg_dump --format=custom" in line
    assert "s3cret" not in line
    assert not (tmp_path / "care.dump").exists()


def test_an_existing_file_is_kept_unless_force_is_given(live, tmp_path, capsys) -> None:
    target = tmp_path / "care-backup.db"
    target.write_bytes(b"last week's backup")
    assert backup(target) == 2
    assert "--force" in one_sentence(capsys)
    assert target.read_bytes() == b"last week's backup"

    assert backup(target, "--force") == 0
    assert capsys.readouterr().out.startswith("backed up 3 cases")
    assert cases_in(target) == {"author-A", "author-B", "author-C"}


@pytest.mark.parametrize(
    ("where", "named"),
    [
        pytest.param("no-such-dir/care.db", "does not exist", id="missing-directory"),
        pytest.param(".", "is a directory", id="a-directory"),
        pytest.param("live/care.db", "is the database DATABASE_URL names", id="the-database-itself"),
    ],
)
def test_a_file_that_cannot_be_written_is_refused(live, tmp_path, capsys, where, named) -> None:
    assert backup(tmp_path / where, "--force") == 2
    assert named in one_sentence(capsys)
    assert count(live) == 3


@pytest.mark.parametrize(
    ("database", "named"),
    [
        pytest.param("missing.db", "does not exist", id="missing"),
        pytest.param("garbage.db", "could not be read (file is not a database)", id="not-a-database"),
    ],
)
def test_a_database_that_cannot_be_read_names_database_url(tmp_path, monkeypatch, capsys, database, named) -> None:
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / database}")
    assert backup(tmp_path / "copy.db") == 2
    line = one_sentence(capsys)
    assert line.startswith("care-bot: DATABASE_URL") and named in line
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "missing.db").exists()
