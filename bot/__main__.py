"""The care-bot command line: serve, demo, connectors, db upgrade|backup, forget, triage.

A bad setting ends the program with one plain sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from bot.config import Settings, load_settings
from bot.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger("bot")


def configure_logging(level: str, fmt: str = "text") -> None:
    """The log's handler and format (bot/observe/logs.py); imported late so `--help` stays quick."""
    from bot.observe import logs

    logs.configure(level, fmt)


def database_error(exc: Exception) -> ConfigError:
    """A database that cannot be opened (or whose driver is missing) is a settings problem: one sentence."""
    if isinstance(exc, ImportError):
        return ConfigError(
            f"DATABASE_URL needs a database driver that is not installed ({exc.name}): "
            "for PostgreSQL install care-bot[postgres]."
        )
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = reason[0].rstrip(".") if reason else type(exc).__name__
    return ConfigError(f"DATABASE_URL names a database that could not be opened ({detail}).")


def serve(settings: Settings) -> int:
    from bot.services import playbook, triage_policy

    # the policy first: a bad policy file is one sentence before anything else is opened
    triage_policy.use(triage_policy.configured(settings.triage_file, settings.triage_model))
    playbook.configured(settings.playbook_file)  # and so is a bad playbook (CARE_PLAYBOOK_FILE)
    # then the port, before the migrations: one taken is one sentence, and since uvicorn serves on this very
    # socket, no other program can take the port between this check and serving
    sock = listening_socket(settings.host, settings.port)
    try:
        return _serve_on(sock, settings)
    finally:
        sock.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) as uvicorn binds one (SO_REUSEADDR: a restart need not wait out
    TIME_WAIT), or a ConfigError naming HOST or PORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise bind_error(exc, host, port) from None
    return sock


def bind_error(exc: OSError, host: str, port: int) -> ConfigError:
    """Why (host, port) could not be bound, as one sentence an operator can act on."""
    import errno

    if isinstance(exc, socket.gaierror):
        return ConfigError(f"HOST {host} could not be resolved to an address of this machine ({exc.strerror}).")
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"PORT {port} is already in use on HOST {host}: stop the other program or set PORT to a free port."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(
            f"HOST {host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all."
        )
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"PORT {port} on HOST {host} may only be opened with privileges this process lacks: "
            "set PORT to 1024 or above."
        )
    return ConfigError(f"PORT {port} on HOST {host} could not be opened ({exc.strerror or type(exc).__name__}).")


def _serve_on(sock: socket.socket, settings: Settings) -> int:
    import uvicorn
    from slack_sdk.errors import SlackApiError
    from sqlalchemy.exc import DBAPIError

    from bot.app import build_bolt_app
    from bot.runtime import build_runtime
    from bot.web.routes import build_http_app

    try:
        rt = build_runtime(settings)
    except (DBAPIError, ImportError) as exc:
        raise database_error(exc) from exc
    if settings.clock_offset is not None:
        logger.warning(
            "CARE_TEST_CLOCK_OFFSET shifts this process's clock by %s: it is %s here now",
            settings.clock_offset,
            rt.now().astimezone(settings.timezone).isoformat(timespec="seconds"),
        )
    try:
        identity = rt.links.identity()
        logger.info("connected to Slack as %s in team %s", identity.get("user"), identity.get("team"))
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
            raise ConfigError(
                f"SLACK_BOT_TOKEN was rejected by Slack ({error}): copy the Bot User OAuth Token again."
            ) from exc
        logger.warning("Slack auth.test failed (%s); starting anyway, deliveries will retry", error)
    except OSError as exc:
        logger.warning("Slack is unreachable (%s); starting anyway, deliveries will retry", type(exc).__name__)

    bolt = build_bolt_app(rt)
    socket_handler = None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_handler = SocketModeHandler(bolt, settings.slack_app_token)
        try:
            socket_handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        except SlackApiError as exc:  # apps.connections.open refused the app-level token
            with contextlib.suppress(Exception):
                socket_handler.close()  # type: ignore[no-untyped-call]
            error = exc.response.get("error")
            raise ConfigError(
                f"SLACK_APP_TOKEN was rejected by Slack ({error}): generate an app-level token "
                "with the connections:write scope (Basic Information → App-Level Tokens)."
            ) from None
        except OSError as exc:  # Socket Mode cannot work without Slack, unlike the queued HTTP deliveries
            with contextlib.suppress(Exception):
                socket_handler.close()  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"Slack could not be reached for Socket Mode ({type(exc).__name__}): check that "
                "this host can reach SLACK_API_URL, or unset SLACK_APP_TOKEN to use HTTP."
            ) from None
        logger.info("Slack traffic over Socket Mode; webhooks on port %s", settings.port)
    app = build_http_app(rt, None if settings.socket_mode else bolt)
    # uvicorn answers SIGTERM by shutting down (the lifespan drains the outbox), then raises the signal again
    # under the handler it found: this one turns that into a clean exit 0, as a process manager expects.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # log_config=None: uvicorn's lines go through the app's handler and format (bot/observe/logs.py); its own
    # default config would give its loggers handlers of their own again
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    _freeze_startup_heap()
    # uvicorn says where it listens only when it binds the socket itself
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    logger.info("starting HTTP on http://%s:%s", shown_host, settings.port)
    try:
        server.run(sockets=[sock])
    finally:
        if socket_handler is not None:
            socket_handler.close()  # type: ignore[no-untyped-call]
    return 0 if server.started else STARTUP_FAILURE


STARTUP_FAILURE = 3  # uvicorn's exit status when the app could not start (its lifespan failed)


def _freeze_startup_heap() -> None:
    """Move everything built at start (SQLAlchemy's mappers, Bolt, VADER's lexicon, the connectors) out of the
    garbage collector's reach: it lives as long as the process, yet a full collection walked all of it while
    every thread waited. Under webhook load the full collections stopped the process for up to 130 ms each (the
    whole p99 of ingest); after the freeze the longest was 23 ms."""
    gc.collect()
    gc.freeze()


def _exit_cleanly(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def db_upgrade(settings_env: dict[str, str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError

    from bot.config import read_database_url, read_environment
    from bot.db import make_engine, upgrade

    url = read_database_url(read_environment(settings_env))
    try:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    except (DBAPIError, ImportError) as exc:
        raise database_error(exc) from exc
    print("database is up to date")
    return 0


def connectors_report(*, check: bool) -> int:
    """`care-bot connectors [--check]`; a check opens the app's database, where rotating tokens live."""
    from sqlalchemy.exc import DBAPIError

    from bot.clock import SystemClock
    from bot.config import platform_settings, read_database_url, read_environment
    from bot.credentials import DatabaseCredentials
    from bot.db import make_engine, make_session_factory, upgrade
    from bot.tools.connectors_check import report

    env = read_environment()
    platforms = platform_settings(env)
    if not check:
        return report(platforms, check=False)
    try:
        engine = make_engine(read_database_url(env))
        upgrade(engine)
    except (DBAPIError, ImportError) as exc:
        raise database_error(exc) from exc
    try:
        return report(
            platforms, check=True, credentials=DatabaseCredentials(make_session_factory(engine), SystemClock())
        )
    finally:
        engine.dispose()


def triage_command(args: argparse.Namespace) -> int:
    """`care-bot triage check|learn`: needs no Slack settings, only the policy and model files they name (and
    the desk's database to learn from its decisions)."""
    from bot.config import read_environment, triage_paths
    from bot.services import triage_policy
    from bot.tools.triage_check import check

    env = read_environment()
    policy = triage_policy.configured(*triage_paths(env))
    if args.triage_command == "check":
        return check(policy, args.texts or (line.rstrip("\n") for line in sys.stdin))
    from bot.errors import UserError
    from bot.tools.triage_learn import learn

    try:
        return learn(args, policy, lambda: desk_session(env))
    except UserError as exc:
        print(f"care-bot: {exc}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def desk_session(env: dict[str, str]) -> Iterator[Session]:
    """One transaction of the app's database for a command (migrated first); one it cannot open is a
    ConfigError naming DATABASE_URL."""
    from sqlalchemy.exc import DBAPIError

    from bot.config import read_database_url
    from bot.db import make_engine, make_session_factory, session_scope, upgrade

    try:
        engine = make_engine(read_database_url(env))
        try:
            upgrade(engine)
            with session_scope(make_session_factory(engine)) as session:
                yield session
        finally:
            engine.dispose()
    except (DBAPIError, ImportError) as exc:
        raise database_error(exc) from exc


def forget(*, platform: str, author: str | None, handle: str | None) -> int:
    """`care-bot forget`: erase one customer in one transaction of the app's database and say what changed.

    Only the database is touched: the running app's outbox workers make the Slack updates it queued.
    """
    from bot.clock import SystemClock
    from bot.config import read_environment
    from bot.errors import UserError
    from bot.services import erasure

    platform, author, handle = platform.strip(), _given(author), _given(handle, strip="@")
    if not platform or (author or handle) is None:
        raise ArgumentError("care-bot: forget needs a non-empty --platform and --author ID or --handle H.")
    who = f"{platform} author {author}" if author is not None else f"{platform} user @{handle}"
    try:
        with desk_session(read_environment()) as session:
            erased = erasure.forget(
                session, platform=platform, author_id=author, handle=handle, now=SystemClock().now()
            )
    except UserError as exc:
        print(f"care-bot: {exc}", file=sys.stderr)
        return 1
    if not erased.changed:
        print(f"Nothing to erase: no personal data is stored for {who} (erased already, or never stored).")
        return 0
    for what, count in erased.counts():
        print(f"{what}: {count}")
    print(
        f"Erased {who} from {erased.cases} case{'s' * (erased.cases != 1)}; the running app updates "
        f"{erased.slack_updates} Slack message{'s' * (erased.slack_updates != 1)} to {erasure.REMOVED!r}."
    )
    return 0


def _given(value: str | None, *, strip: str = "") -> str | None:
    """An argument's value without surrounding spaces (and one leading `strip`); None when nothing is left."""
    if value is None:
        return None
    value = value.strip()
    value = value[len(strip) :] if strip and value.startswith(strip) else value
    return value.strip() or None


class ArgumentError(Exception):
    """Bad command-line arguments: one sentence on stderr and exit status 2, like a bad setting."""


class PlainParser(argparse.ArgumentParser):
    """argparse, but a mistake is one plain sentence (no usage block), the same as a bad setting."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(f"care-bot: {message} (see {self.prog} --help).")


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("care-bot")
    except PackageNotFoundError:  # a source tree that was never installed
        installed = "unknown"
    parser = PlainParser(prog="care-bot", description="Social-media customer care desk for Slack.")
    parser.add_argument("--version", action="version", version=f"care-bot {installed}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=PlainParser)
    sub.add_parser("serve", help="run the app (HTTP on $PORT; Socket Mode when SLACK_APP_TOKEN is set)")
    sub.add_parser("demo", help="run the whole app against a local Slack stand-in and print the channel")
    connectors = sub.add_parser("connectors", help="list the platform connectors, enabled or not and why")
    connectors.add_argument(
        "--check", action="store_true", help="call one cheap authenticated endpoint of each enabled connector"
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    backup = db_sub.add_parser(
        "backup", help="copy the SQLite database to FILE while the app runs (PostgreSQL: use pg_dump)"
    )
    backup.add_argument("file", metavar="FILE", help="where to write the copy (not replaced unless --force)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    erase = sub.add_parser(
        "forget",
        help="erase one customer's name, handle, posts and what was said to them (the counts stay)",
        description="Erase one customer's personal data everywhere the desk keeps it, and update Slack.",
    )
    triage_cmd = sub.add_parser("triage", help="the triage policy: check what it makes of texts")
    triage_sub = triage_cmd.add_subparsers(dest="triage_command", required=True, parser_class=PlainParser)
    check = triage_sub.add_parser(
        "check",
        help="score texts (arguments, or one per line on standard input) with CARE_TRIAGE_FILE and CARE_TRIAGE_MODEL",
    )
    check.add_argument("texts", nargs="*", metavar="TEXT", help="texts to score (none: read standard input)")
    learn = triage_sub.add_parser(
        "learn",
        help="fit the learned layer from the desk's decisions (or a labelled CSV) and write it for CARE_TRIAGE_MODEL",
    )
    learn.add_argument("--out", required=True, metavar="FILE", help="where to write the model (JSON)")
    learn.add_argument("--csv", metavar="FILE", help="learn from this labelled CSV instead of the desk's decisions")
    learn.add_argument("--text-column", default="text", metavar="NAME", help="the CSV column holding the post")
    learn.add_argument("--label-column", default="label", metavar="NAME", help="the CSV column holding its label")
    learn.add_argument(
        "--needs-reply-value", default="needs_reply", metavar="VALUE", help="the label that means it needs a reply"
    )
    learn.add_argument("--weight-column", metavar="NAME", help="a CSV column weighting each row (e.g. confidence)")
    erase.add_argument("--platform", required=True, help="where they posted, as stored (twitter, facebook, ...)")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--author", metavar="ID", help="their id on the platform")
    who.add_argument("--handle", metavar="H", help="their handle on the platform (with or without @)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "demo":
            from bot.tools.demo import run_demo

            return run_demo()
        if args.command == "connectors":
            configure_logging("WARNING")
            return connectors_report(check=args.check)
        if args.command == "db":
            configure_logging("WARNING")
            if args.db_command == "backup":
                from bot.tools.backup import command as db_backup

                return db_backup(args.file, force=args.force)
            return db_upgrade()
        if args.command == "triage":
            return triage_command(args)
        if args.command == "forget":
            configure_logging("WARNING")
            return forget(platform=args.platform, author=args.author, handle=args.handle)
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        return serve(settings)
    except ConfigError as exc:
        print(f"care-bot: {exc}", file=sys.stderr)
        return 2
    except ArgumentError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
