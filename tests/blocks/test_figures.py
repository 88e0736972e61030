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


def test_a_stormy_period_names_its_latest_surges_and_counts_the_rest() -> None:
    from datetime import timedelta

    from bot.blocks.surge import SURGES_LISTED, surge_lines
    from bot.services.surge import Figures

    def surge(hours: int, ended: bool = True) -> Figures:
        start = NOW - timedelta(hours=hours)
        end = start + timedelta(minutes=25) if ended else None
        return Figures(start, end, 1200, 900, 450, 640, "C0CARE", f"1795{hours:06d}.000100")

    found = [surge(h) for h in range(10, 3, -1)] + [surge(1, ended=False)]
    lines = surge_lines(found, now=NOW, link_for=lambda channel, ts: f"https://x.slack.com/archives/{channel}/p{ts}")
    assert len(lines) == SURGES_LISTED + 1 and lines[-1] == "…and 3 earlier surges in this period."
    assert lines[0].startswith(":rotating_light: *A surge is on* since <!date^")
    assert "(1 h): so far 1,200 mentions, 900 new cases, 450 answered; peak 640 a minute" in lines[0]
    assert lines[1].startswith(":rotating_light: *Surge* <!date^") and "(25 min): 1,200 mentions" in lines[1]
    assert lines[1].endswith("|the alert>") and "p1795000004.000100" in lines[1]  # the latest ended one first
    quiet = Figures(NOW, NOW + timedelta(minutes=5), 40, 0, 0, 40, "C0CARE", None)
    assert surge_lines([quiet], now=NOW) == [
        ":rotating_light: *Surge* "
        f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-23 09:00 UTC> "
        f"to <!date^{int(NOW.timestamp()) + 300}^{{date_short_pretty}} at {{time}}|2026-11-23 09:05 UTC> (5 min): "
        "40 mentions, 0 new cases, none needed an answer; peak 40 a minute"
    ]


def test_the_sentiment_line_compares_only_with_an_earlier_period_that_had_posts() -> None:
    from datetime import date

    from bot.blocks.figures import sentiment_line
    from bot.services.stats import SentimentDay, SentimentTrend

    assert sentiment_line(SentimentTrend((), -0.38, -0.10), "today") == (
        "*Sentiment:* -0.38 on average, *worsening* against -0.10 yesterday"
    )
    assert sentiment_line(SentimentTrend((), 0.2, 0.18), "7d") == (
        "*Sentiment:* +0.20 on average, *steady* against +0.18 the 7 days before"
    )
    first_day = SentimentTrend((SentimentDay(date(2026, 11, 23), -0.23, 4),), -0.23, None)
    assert sentiment_line(first_day, "today") == "*Sentiment:* -0.23 on average; no earlier period to compare."
    assert (
        sentiment_line(SentimentTrend((), None, -0.1), "today") == "*Sentiment:* no posts to score (-0.10 yesterday)."
    )
    assert sentiment_line(SentimentTrend((), None, None), "30d") == "*Sentiment:* no posts to score."
