"""The webhooks through the group-commit writer, over real HTTP: each request gets its own answer, a 202 means
stored, and a database failure answers 503 with nothing written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event, func, select

from bot.db import session_scope
from bot.models import Case, CaseEvent, Mention, OutboxItem
from bot.runtime import Runtime
from tests.support.webhooks import post_webhook, webhook_body


def count(rt: Runtime, model: type) -> int:
    with session_scope(rt.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def body(n: int, author: str | None = None) -> dict[str, Any]:
    who = author or f"a{n}"
    return webhook_body(id=f"post-{n}", author={"id": who, "handle": who, "name": f"Customer {who}"})


def test_requests_arriving_together_each_get_their_own_answer(app_url, rt) -> None:
    payloads = [body(n) for n in range(24)] + [body(100, author="same"), body(101, author="same"), body(0)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda p: post_webhook(app_url, p), payloads))

    assert [a.status_code for a in answers] == [202] * len(payloads), [a.text for a in answers]
    data = [a.json() for a in answers]
    assert len({d["case_id"] for d in data[:24]}) == 24  # a case each
    assert data[24]["case_id"] == data[25]["case_id"]  # one author, one open case
    assert data[26]["case_id"] == data[0]["case_id"]  # the repeat names the same case
    assert sorted([data[0]["duplicate"], data[26]["duplicate"]]) == [False, True]  # and exactly one is new
    with session_scope(rt.sessions) as session:
        for d, p in zip(data, payloads, strict=True):
            stored = session.scalars(select(Mention).where(Mention.external_id == p["id"])).one()
            assert stored.case_id == d["case_id"]
    assert (count(rt, Case), count(rt, Mention)) == (25, 26)
    assert count(rt, OutboxItem) == 26  # 25 parents and one thread note


def test_a_database_failure_answers_503_and_stores_nothing_then_the_retry_is_stored(app_url, rt) -> None:
    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO outbox"):  # after the case and the post were written
            raise RuntimeError("disk I/O error")

    event.listen(rt.engine, "before_cursor_execute", refuse)
    try:
        refused = post_webhook(app_url, body(1))
    finally:
        event.remove(rt.engine, "before_cursor_execute", refuse)
    assert refused.status_code == 503, refused.text
    assert "retry" in refused.json()["error"]
    assert (count(rt, Case), count(rt, Mention), count(rt, CaseEvent), count(rt, OutboxItem)) == (0, 0, 0, 0)

    retried = post_webhook(app_url, body(1))
    assert retried.status_code == 202 and retried.json()["duplicate"] is False
    assert (count(rt, Case), count(rt, Mention), count(rt, OutboxItem)) == (1, 1, 1)


def test_after_the_writer_stopped_a_webhook_answers_503(app_url, rt) -> None:
    rt.intake.stop()
    refused = post_webhook(app_url, body(1))
    assert refused.status_code == 503
    assert count(rt, Mention) == 0
