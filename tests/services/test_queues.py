"""The Home tab's queues are counted in SQL and load only the cases they show, however long the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import db
from bot.services import queues
from tests.support.stats_dataset import add_case

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_long_queue_is_counted_whole_and_shown_most_urgent_and_longest_waiting_first(sessions) -> None:
    with db.session_scope(sessions) as s:
        for n in range(25):
            add_case(
                s,
                f"N{n}",
                platform="twitter",
                priority="normal",
                created=START + timedelta(minutes=n),
                scores=[],
                ts=f"17952{n:05d}.000100",
            )
        for n in range(3):
            add_case(
                s,
                f"U{n}",
                platform="twitter",
                priority="urgent",
                created=START + timedelta(hours=1, minutes=n),
                scores=[],
                ts=f"17953{n:05d}.000100",
            )
        add_case(s, "MINE", platform="twitter", priority="low", created=START, scores=[], owner="U0ALICE")
    with sessions() as s:
        queue = queues.unclaimed_queue(s, per_priority=10)
        mine = queues.my_queue(s, user_id="U0ALICE", per_priority=10)
    assert queue.counts == {"normal": 25, "urgent": 3} and queue.total == 28
    assert [line.priority for line in queue.lines] == ["urgent"] * 3 + ["normal"] * 10  # only what is shown
    assert [line.created_at for line in queue.of("normal")] == [START + timedelta(minutes=n) for n in range(10)]
    assert mine.total == 1 and [line.customer for line in mine.lines] == ["Customer MINE (@cust_mine)"]
