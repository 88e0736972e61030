"""`care-bot db backup FILE`: a consistent copy of the SQLite desk, taken while the app runs and writes.

SQLite's online backup API copies the database page by page from a read snapshot. Done in one step, as here,
it holds only a reader's lock: in WAL mode the app's writers go on committing while it copies, and the copy
is the database as it was when the step began. (Copied in several steps, a write from another connection
would restart it, possibly for ever under load.) The copy is written beside FILE, checked with
`PRAGMA integrity_check`, and only then renamed onto FILE, so FILE is never a half-written database.

PostgreSQL has its own tool for this, `pg_dump`; this command points to it instead of copying.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.errors import CareError, ConfigError, UserError

PG_DUMP = (
    "DATABASE_URL is a PostgreSQL database: back it up with PostgreSQL's own tool, "
    'pg_dump --format=custom --file=care.dump "$DATABASE_URL" (see docs/operations.md).'
)


class BackupFailed(CareError):
    """The copy could not be written or did not check out; FILE was left as it was."""


@dataclass(frozen=True)
class Backup:
    path: Path
    cases: int | None  # None: the database has no cases table (it was never upgraded)
    size: int  # bytes

    def summary(self) -> str:
        what = "a database without the desk's tables" if self.cases is None else _plural(self.cases, "case")
        return f"backed up {what} to {self.path} ({self.size / 1e6:.1f} MB)"


def command(file: str, *, force: bool, environ: Mapping[str, str] | None = None) -> int:
    """The command: one line saying what was copied; a FILE that cannot be written is one sentence and status 2,
    like a bad argument, and a copy that went wrong status 1. A DATABASE_URL problem raises ConfigError."""
    from bot.config import read_database_url, read_environment

    url = read_database_url(read_environment(environ))
    try:
        done = backup(url, Path(file), force=force)
    except UserError as exc:
        print(f"care-bot: {exc}", file=sys.stderr)
        return 2
    except BackupFailed as exc:
        print(f"care-bot: {exc}", file=sys.stderr)
        return 1
    print(done.summary())
    return 0


def sqlite_file(database_url: str) -> Path:
    """The file a SQLite DATABASE_URL names, which must exist; a ConfigError for anything else."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise ConfigError(PG_DUMP)
    if url.database in (None, "", ":memory:"):
        raise ConfigError("DATABASE_URL names an in-memory SQLite database: there is no file to back up.")
    path = Path(url.database)
    if not path.is_file():
        raise ConfigError(f"DATABASE_URL names a SQLite file that does not exist ({path}).")
    return path


def backup(database_url: str, target: Path, *, force: bool = False) -> Backup:
    """Copy the database DATABASE_URL names into `target`, safely while the app writes to it.

    ConfigError: DATABASE_URL is not a SQLite file that can be read. UserError: `target` cannot be
    written (it exists and `force` is off, or its directory does not). BackupFailed: the copy went wrong.
    """
    source = sqlite_file(database_url)
    _check_target(source, target, force=force)
    partial = target.with_name(target.name + ".tmp")
    _remove(partial)
    src = _open_source(source)
    try:
        dst = sqlite3.connect(partial, timeout=30)
        try:
            src.backup(dst)  # one step: a read snapshot, no lock a writer needs
            # a file on its own: the source's WAL flag would leave a -wal beside the copy whenever it is opened
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupFailed(
                    f"the copy failed SQLite's integrity check ({problems[0]}); {target} was left as it was."
                )
            cases = _count_cases(dst)
        finally:
            dst.close()
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except (sqlite3.Error, OSError) as exc:  # e.g. the disk filled up, or the directory is not writable
        _remove(partial)
        raise BackupFailed(f"the backup to {target} failed ({_reason(exc)}); {target} was left as it was.") from None
    except BaseException:
        _remove(partial)
        raise
    finally:
        src.close()
    return Backup(target, cases, target.stat().st_size)


def _check_target(source: Path, target: Path, *, force: bool) -> None:
    if not target.parent.is_dir():
        raise UserError(f"the directory of {target} does not exist: create it first.")
    if target.is_dir():
        raise UserError(f"{target} is a directory: name the file to write the backup to.")
    if target.exists() and target.resolve() == source.resolve():
        raise UserError(f"{target} is the database DATABASE_URL names: back it up to another file.")
    if target.exists() and not force:
        raise UserError(f"{target} exists already: choose another file, or add --force to replace it.")


def _open_source(path: Path) -> sqlite3.Connection:
    """The database read-write (a WAL reader needs its shared memory), but never created if missing."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise ConfigError(f"DATABASE_URL names a database that could not be opened ({_reason(exc)}).") from None
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # reads page 1: is it a database at all?
    except sqlite3.Error as exc:
        conn.close()
        raise ConfigError(f"DATABASE_URL names a database that could not be read ({_reason(exc)}).") from None
    return conn


def _count_cases(conn: sqlite3.Connection) -> int | None:
    try:
        return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    except sqlite3.OperationalError:  # no such table
        return None


def _fsync(path: Path) -> None:
    """Make the copy (or its rename) durable before saying it is done."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"
