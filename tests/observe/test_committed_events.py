"""Metrics count what really happened: an event is counted once its unit of work commits, never when it rolls
back, and a batch of the webhooks' writer that fails and is written again unit by unit counts each post once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from bot import db
from bot.group_commit import GroupCommit
from bot.observe import metrics  # noqa: F401  (registers the counting observer)
from bot.services import cases, ingest, intake
from connectors.base import Author, InboundMention
from tests.services.test_intake_group_commit import Failing, Gate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PLATFORM = "committed-test"  # a label of its own: other tests' counts never mix in


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def post(external_id: str, author: str = "42") -> InboundMention:
    return InboundMention(
        platform=PLATFORM,
        external_id=external_id,
        author=Author(id=author, handle="jane", name="Jane Doe"),
        text="my order never arrived",
        posted_at=NOW,
    )


def test_a_committed_post_is_counted_and_a_rolled_back_one_is_not(sessions: db.SessionFactory) -> None:
    before = (
        value("care_mentions_ingested_total", platform=PLATFORM),
        value("care_cases_opened_total", platform=PLATFORM),
    )
    with pytest.raises(RuntimeError), db.session_scope(sessions) as session:
        ingest.ingest(session, mention=post("1"), connector="generic", channel="C0CARE", now=NOW)
        raise RuntimeError("the unit fails after storing")
    assert value("care_mentions_ingested_total", platform=PLATFORM) == before[0]
    with db.session_scope(sessions) as session:
        first = ingest.ingest(session, mention=post("1"), connector="generic", channel="C0CARE", now=NOW)
        ingest.ingest(session, mention=post("2"), connector="generic", channel="C0CARE", now=NOW)  # joins the case
        ingest.ingest(session, mention=post("2"), connector="generic", channel="C0CARE", now=NOW)  # a repeat
    assert value("care_mentions_ingested_total", platform=PLATFORM) == before[0] + 2
    assert value("care_cases_opened_total", platform=PLATFORM) == before[1] + 1

    closed = value("care_cases_closed_total", outcome="resolved")
    claimed = value("care_staff_actions_total", kind="claimed")
    with db.session_scope(sessions) as session:
        cases.claim(session, case_id=first.case_id, user_id="U0ALICE", now=NOW)
        cases.resolve(session, case_id=first.case_id, user_id="U0ALICE", outcome="resolved", comment=None, now=NOW)
    assert value("care_staff_actions_total", kind="claimed") == claimed + 1
    assert value("care_cases_closed_total", outcome="resolved") == closed + 1


def test_a_failed_batch_written_again_unit_by_unit_counts_each_post_once(sessions: db.SessionFactory) -> None:
    before = value("care_mentions_ingested_total", platform=PLATFORM)
    writer = GroupCommit(sessions, name="test-writer", wake_every=0)
    gate = Gate()
    try:
        writer.submit(gate)
        assert gate.entered.wait(10)
        units = [intake.PendingMention(post(f"b{n}", author=f"a{n}"), "generic", "C0CARE", NOW) for n in range(4)]
        futures = [writer.submit(unit) for unit in units[:2]]
        failing = writer.submit(Failing(post("b-failing", author="z")))  # stores its post, then fails
        futures += [writer.submit(unit) for unit in units[2:]]
        gate.opened.set()
        stored = [future.result(timeout=30) for future in futures]
        with pytest.raises(RuntimeError, match="failed after writing"):
            failing.result(timeout=30)
    finally:
        writer.stop()
    assert all(isinstance(result, ingest.IngestResult) and not result.duplicate for result in stored)
    assert value("care_mentions_ingested_total", platform=PLATFORM) == before + 4
