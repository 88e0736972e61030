"""A list of cases shows its first lines and says how many more there are, of all of them, not only those loaded."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks.figures import listed
from bot.services.queues import CaseLine

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def line(n: int) -> CaseLine:
    return CaseLine(n, "twitter", f"Customer {n}", "normal", None, "C0CARE", f"1795000{n:03d}.000100", NOW, None, "hi")


def test_the_more_line_counts_every_case_of_the_queue() -> None:
    shown = listed([line(n) for n in range(10)], 10, lambda channel, ts: None, NOW, total=25)
    assert len(shown) == 11 and shown[-1] == "…and 15 more."


def test_without_a_total_the_lines_given_are_all_there_is() -> None:
    shown = listed([line(n) for n in range(12)], 10, lambda channel, ts: None, NOW)
    assert shown[-1] == "…and 2 more."
    assert len(listed([line(1)], 10, lambda channel, ts: None, NOW)) == 1  # nothing more to say
