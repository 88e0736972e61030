"""Set-up mistakes an operator makes, through the real `care-bot`: each is one sentence on stderr naming the
variable, exit status 2, no traceback, and nothing migrated or served first."""

from __future__ import annotations

import errno
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import db
from bot.__main__ import listening_socket
from bot.errors import ConfigError
from tests.support.serve import free_port, start_serve, stop, valid_settings, wait_healthy
from tests.test_cli import assert_one_sentence, run_cli

DURATION_SENTENCE = "a duration like 90s, 30m, 1h30m, 1.5h or 2d, up to a year"


def serve_refuses(tmp_path: Path, variable: str, **overrides: str) -> str:
    """`care-bot serve` with one bad setting: its one line, after checking nothing was opened or migrated."""
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, **overrides))
    line = assert_one_sentence(result, variable)
    assert result.stdout == ""
    assert not (tmp_path / "care.db").exists()  # refused before the database was created or migrated
    return line.removeprefix("care-bot: ")


# -- 1. durations ---------------------------------------------------------------------------------
def test_an_absurd_sla_is_one_sentence_not_an_overflow_traceback(tmp_path):
    line = serve_refuses(tmp_path, "CARE_SLA_FIRST_RESPONSE", CARE_SLA_FIRST_RESPONSE="99999999999d")
    assert line == f"CARE_SLA_FIRST_RESPONSE must be {DURATION_SENTENCE}, got '99999999999d'."


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARE_SLA_RESOLUTION", "366d"),
        ("CARE_SLA_NEXT_RESPONSE", "0m"),
        ("CARE_SLA_OFFLINE", "nan"),
        ("CARE_READY_SLACK_FAILING", "-5m"),
        ("CARE_READY_QUEUE_AGE", "soon"),
    ],
)
def test_a_bad_duration_is_one_sentence(tmp_path, variable, value):
    assert serve_refuses(tmp_path, variable, **{variable: value}) == (
        f"{variable} must be {DURATION_SENTENCE}, got {value!r}."
    )


# -- 2. a port already in use ---------------------------------------------------------------------
@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port another program is listening on (on 127.0.0.1, like the app under test)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def test_a_port_in_use_is_one_sentence_before_anything_is_migrated(tmp_path, occupied_port):
    line = serve_refuses(tmp_path, "PORT", HOST="127.0.0.1", PORT=str(occupied_port))
    assert line == (
        f"PORT {occupied_port} is already in use on HOST 127.0.0.1: stop the other program or set PORT to a free port."
    )


def test_binding_keeps_the_port_so_nothing_can_take_it_before_uvicorn_serves(occupied_port):
    port = free_port()
    held = listening_socket("127.0.0.1", port)
    try:
        with socket.socket() as late, pytest.raises(OSError) as info:
            late.bind(("127.0.0.1", port))
        assert info.value.errno == errno.EADDRINUSE
    finally:
        held.close()
    with pytest.raises(ConfigError, match=f"^PORT {occupied_port} is already in use on HOST 127.0.0.1: "):
        listening_socket("127.0.0.1", occupied_port)


def test_a_host_that_is_not_an_address_of_this_machine_is_one_sentence(tmp_path):
    try:  # 192.0.2.1 is for documentation only; a machine that may bind any address would start
        listening_socket("192.0.2.1", free_port()).close()
        pytest.skip("this machine binds addresses it does not have (ip_nonlocal_bind)")
    except ConfigError:
        pass
    line = serve_refuses(tmp_path, "HOST", HOST="192.0.2.1")
    assert (
        line
        == "HOST 192.0.2.1 is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all."
    )


def test_serve_listens_on_host(tmp_path):
    served = start_serve(tmp_path, valid_settings(tmp_path, HOST="127.0.0.1"))
    try:
        assert wait_healthy(served).json()["ok"] is True
    finally:
        code = stop(served)
    output = served.output()
    assert code in (0, -signal.SIGTERM), output
    assert f"starting HTTP on {served.url}" in output
    # migrations ran (a fresh database) without a line of alembic's at the default level
    assert "alembic" not in output and "Running upgrade" not in output and "setup plugin" not in output, output
    assert "Traceback" not in output, output


# -- 3. SQLite: a file, in a directory that exists --------------------------------------------------
@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused(tmp_path, url):
    line = serve_refuses(tmp_path, "DATABASE_URL", DATABASE_URL=url)
    assert line == (
        "DATABASE_URL must name a SQLite database file, like sqlite:///care.db (in the working directory), "
        f"but {url!r} is an in-memory database: empty, and a different one on every connection."
    )


def test_a_sqlite_file_in_a_missing_directory_is_one_sentence(tmp_path):
    missing = tmp_path / "no" / "such"
    line = serve_refuses(tmp_path, "DATABASE_URL", DATABASE_URL=f"sqlite:///{missing / 'care.db'}")
    assert line == (
        f"DATABASE_URL names a SQLite file in a directory that does not exist ({str(missing)!r}): "
        "create the directory or correct the path."
    )


def test_db_upgrade_refuses_an_in_memory_database_too(tmp_path):
    result = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": "sqlite:///"})
    assert_one_sentence(result, "DATABASE_URL")
    assert result.stdout == ""


# -- 4. CARE_ENV_FILE -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "what"), [("missing.env", "missing"), (".", "not a regular file")])
def test_a_care_env_file_that_is_not_there_is_one_sentence(tmp_path, name, what):
    line = serve_refuses(tmp_path, "CARE_ENV_FILE", CARE_ENV_FILE=str(tmp_path / name))
    assert line == (
        f"CARE_ENV_FILE names {str(tmp_path / name)!r}, which is {what}: point it at the settings file or unset it."
    )


def test_care_env_file_dev_null_means_no_settings_file(tmp_path):
    (tmp_path / ".env").write_text("LOG_LEVEL=LOUD\n")  # read, it would stop serve at LOG_LEVEL
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, CARE_ENV_FILE="/dev/null", LOG_FORMAT="xml"))
    assert_one_sentence(result, "LOG_FORMAT")  # checked after LOG_LEVEL: the .env was not read


def test_db_upgrade_checks_care_env_file_too(tmp_path):
    result = run_cli(tmp_path, "db", "upgrade", env={"CARE_ENV_FILE": "nope.env"})
    assert_one_sentence(result, "CARE_ENV_FILE")
    assert not (tmp_path / "care.db").exists()


# -- 5. migrations keep quiet ---------------------------------------------------------------------
def test_db_upgrade_on_a_fresh_database_prints_one_line_and_nothing_on_stderr(tmp_path):
    result = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "database is up to date\n"
    assert result.stderr == ""


@pytest.fixture
def alembic_logger() -> Iterator[logging.Logger]:
    """The "alembic" logger as a fresh process has it (another test may have configured the app's logging)."""
    log = logging.getLogger("alembic")
    before = log.level
    log.setLevel(logging.NOTSET)
    yield log
    log.setLevel(before)


@pytest.mark.parametrize(("level", "shown"), [(logging.INFO, False), (logging.DEBUG, True)])
def test_alembic_lines_show_only_at_debug(tmp_path, caplog, alembic_logger, level, shown):
    caplog.set_level(level)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'care.db'}")
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    alembic = [r for r in caplog.records if r.name.startswith("alembic")]
    assert bool(alembic) is shown, [r.getMessage() for r in alembic]
    assert any("Running upgrade" in r.getMessage() for r in alembic) is shown
    assert alembic_logger.level == logging.NOTSET  # left as it was found


# -- 6. new settings ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value"),
    [("HOST", "not a host"), ("HOST", "0.0.0.0:3000"), ("LOG_FORMAT", "xml"), ("PORT", "３０００")],
)
def test_a_bad_server_setting_is_one_sentence(tmp_path, variable, value):
    serve_refuses(tmp_path, variable, **{variable: value})


# -- 7. the playbook ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("format = 1\n[[replies]\n", "is not valid TOML"),
        ('format = 1\n[[replies]]\nid = "sorry"\ntitle = "Sorry"\n', "[[replies]] 'sorry' needs a text."),
        (
            'format = 1\n[[replies]]\nid = "sorry"\ntitle = "Sorry"\ntext = "Hi {name}"\n',
            "[[replies]] 'sorry' text uses unknown placeholder {name}: only {customer}, {agent}, {case}, {due} "
            "and {contact} are available.",
        ),
    ],
    ids=["missing", "bad-toml", "no-text", "unknown-placeholder"],
)
def test_a_bad_playbook_is_one_sentence_before_anything_is_opened(tmp_path, content, expected):
    path = tmp_path / "playbook.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    line = serve_refuses(tmp_path, "CARE_PLAYBOOK_FILE", CARE_PLAYBOOK_FILE=str(path))
    assert line.startswith(f"CARE_PLAYBOOK_FILE ({path})") and expected in line
