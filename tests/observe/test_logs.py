"""The log's two formats, its fields, its throttle and its redaction, read the way a collector or a person would."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.observe import logs


def switch(fmt: str, buffer: io.StringIO) -> None:
    """`logs.configure` as `serve` calls it, its stream swapped for a buffer."""
    logs.configure("INFO", fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """The text format into a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    switch("text", buffer)
    yield logging.getLogger("bot.test"), buffer
    root.handlers[:], root.level = saved


def test_a_json_line_carries_the_context_and_explicit_fields(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = captured
    switch("json", buffer)
    with logs.context(request_id="req-1", outbox_id=7):
        log.info("delivered %s", "post_parent", extra={"case_id": 12, "platform": "twitter"})
    line = json.loads(buffer.getvalue().strip())
    assert line["message"] == "delivered post_parent"
    assert (line["level"], line["logger"]) == ("INFO", "bot.test")
    assert (line["request_id"], line["outbox_id"], line["case_id"], line["platform"]) == ("req-1", 7, 12, "twitter")
    assert line["time"].endswith("+00:00")


def test_an_exception_is_one_json_line_with_its_traceback(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = captured
    switch("json", buffer)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("a worker failed")
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exception"]


def test_the_text_format_shows_the_fields_after_the_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = captured
    with logs.context(request_id="abc"):
        log.info("case %s opened from %s", 3, "reddit", extra={"case_id": 3, "platform": "reddit"})
    log.info("no fields here")
    first, second = buffer.getvalue().splitlines()
    assert first.endswith("INFO bot.test: case 3 opened from reddit [request_id=abc case_id=3 platform=reddit]")
    assert second.endswith("INFO bot.test: no fields here")


def test_the_context_ends_with_its_block(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = captured
    switch("json", buffer)
    with logs.context(case_id=1):
        pass
    log.info("after")
    assert "case_id" not in json.loads(buffer.getvalue())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_slack_tokens_never_reach_the_log(captured: tuple[logging.Logger, io.StringIO], fmt: str) -> None:
    log, buffer = captured
    switch(fmt, buffer)
    logging.getLogger("slack_sdk.web").warning("calling with token xoxb-123-456-abcdef and xapp-1-A0-99-zz")
    out = buffer.getvalue()
    assert "xoxb-123" not in out and "xapp-1" not in out and "xox*-***" in out


def test_uvicorn_lines_share_the_format(captured: tuple[logging.Logger, io.StringIO]) -> None:
    _, buffer = captured
    switch("json", buffer)
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    assert json.loads(buffer.getvalue())["logger"] == "uvicorn.error"


def test_alembic_progress_is_debug_only(captured: tuple[logging.Logger, io.StringIO]) -> None:
    _, buffer = captured
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0017 -> 0018")
    assert buffer.getvalue() == ""


def test_the_throttle_lets_ten_a_minute_through_then_says_how_many_it_left_out() -> None:
    throttle = logs.Throttle(per_minute=10)
    allowed = [throttle.allow("/slack/events", now=100.0 + n * 0.1) for n in range(25)]
    assert [a for a, _ in allowed].count(True) == 10
    assert all(suppressed == 0 for _, suppressed in allowed)
    assert throttle.allow("/webhooks/generic", now=101.0) == (True, 0), "each route has its own allowance"
    assert throttle.allow("/slack/events", now=160.0) == (True, 15), "the next minute's first line counts the rest"
    assert throttle.allow("/slack/events", now=161.0) == (True, 0)
