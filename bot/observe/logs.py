"""Logging an operator can follow: one readable line (or, with LOG_FORMAT=json, one JSON object) per event.

Every line may carry the case, outbox item, platform and request it is about: passed as `extra=` or set for a
stretch of work with `context(...)` (a request id for each HTTP request, the outbox item being delivered).
uvicorn's own lines go through the same handler, so a log has one format. Tokens never reach it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bot import db

FIELDS = ("request_id", "case_id", "outbox_id", "platform", "connector", "kind", "user_id", "route", "status")
_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("care_log_context", default={})  # noqa: B039
_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(fields)s"

logger = logging.getLogger("bot.events")


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Every line logged in this block (in this thread or task) carries `fields`."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _Fields(logging.Filter):
    """Puts the context's fields on the record (an explicit `extra=` wins), and redacts tokens: even if a
    library logs a Slack token, it never reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _CONTEXT.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        message = record.getMessage()  # formatted once here: the formatter reuses it
        record.msg, record.args = (_TOKEN.sub("xox*-***", message) if _TOKEN.search(message) else message), None
        return True


def _fields_of(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None}


class TextFormatter(logging.Formatter):
    """The readable default: the line, then its fields as `name=value`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        found = _fields_of(record)
        record.fields = (" [" + " ".join(f"{k}={v}" for k, v in found.items()) + "]") if found else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the fields, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields_of(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """The root handler for the app, uvicorn and the libraries; `fmt` is "text" or "json"."""
    handler = logging.StreamHandler()
    handler.addFilter(_Fields())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for noisy in ("slack_sdk", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, numeric))
    # Every platform call and every scheduler tick at INFO would drown what matters (and a request line
    # is a URL, which some APIs would carry credentials in); our own code logs what each one did.
    # Bolt logs the whole body of a request whose signature fails at INFO, response_url included: our own
    # WARNING (bot/web/routes.py) says it without the body. Alembic's progress is DEBUG-only.
    for chatty in ("httpx", "httpcore", "apscheduler", "slack_bolt"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, numeric))
    logging.getLogger("alembic").setLevel(max(logging.WARNING, numeric) if numeric > logging.DEBUG else numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's lines in the same format
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True


class Throttle:
    """At most `per_minute` lines per key a minute; the next one allowed says how many were left out, so a
    flood of bad requests cannot fill the disk yet nothing is hidden."""

    def __init__(self, per_minute: int = 10) -> None:
        self._per_minute = per_minute
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int, int]] = {}  # key: (window start, logged, suppressed)

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        """(log this one?, how many were suppressed before it)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, logged, suppressed = self._windows.get(key, (now, 0, 0))
            if now - start >= 60:
                start, logged = now, 0
            if logged >= self._per_minute:
                self._windows[key] = (start, logged, suppressed + 1)
                return False, 0
            self._windows[key] = (start, logged + 1, 0)
            return True, suppressed


def _log_committed(event: str, fields: dict[str, Any]) -> None:
    """One INFO line per case opened, post stored and step taken on a case, once it is committed."""
    extra: dict[str, Any] = {k: fields[k] for k in ("case_id", "platform", "connector", "kind") if k in fields}
    if event == "case_opened":
        logger.info("case %s opened from %s", fields["case_id"], fields["platform"], extra=extra)
    elif event == "mention_ingested":
        logger.debug("post stored in case %s", fields["case_id"], extra=extra)
    elif event == "case_event":
        actor = str(fields.get("actor") or "")
        if actor[:1] in ("U", "W"):
            extra["user_id"] = actor
            logger.info("case %s: %s by %s", fields["case_id"], fields["kind"], actor, extra=extra)
        else:
            logger.info("case %s: %s (%s)", fields["case_id"], fields["kind"], actor or "the app", extra=extra)


db.on_committed(_log_committed)
