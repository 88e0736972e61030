"""The digest's chart: what it says (its plan, as plain data) for a normal week, a week with a gap and a desk's
quiet first days, and that each renders to a real PNG."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta

import pytest

from bot.blocks import chart
from bot.services.digest import DayPoint

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TITLE = "Care desk, eight days to Mon 23 Nov"


def week(
    new: list[int], moods: list[float | None], medians: list[int | None], p90s: list[int | None]
) -> list[DayPoint]:
    """Eight days, Mon 16 to Mon 23 November 2026; times in minutes."""
    return [
        DayPoint(date(2026, 11, 16) + timedelta(days=n), count, mood, _minutes(median), _minutes(p90))
        for n, (count, mood, median, p90) in enumerate(zip(new, moods, medians, p90s, strict=True))
    ]


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else value * MIN


NORMAL = week(
    [14, 18, 11, 16, 20, 6, 4, 22],
    [-0.12, -0.05, -0.2, -0.1, -0.08, 0.1, 0.05, -0.42],
    [45, 60, 50, 80, 95, 240, 300, 70],
    [180, 240, 200, 320, 400, 600, 540, 260],
)
GAP = week(  # nothing at all on Wednesday; on Saturday posts, but none opened a case
    [9, 12, 0, 10, 8, 0, 3, 11],
    [-0.1, -0.2, None, -0.05, 0.0, -0.1, 0.2, 0.3],
    [25, 30, None, 40, 35, None, 20, 30],
    [70, 90, None, 110, 100, None, 40, 80],
)
QUIET_START = week(  # the desk's first posts came on Saturday; a Saturday post waited until Monday
    [0, 0, 0, 0, 0, 2, 5, 6],
    [None, None, None, None, None, -0.3, -0.2, -0.38],
    [None, None, None, None, None, 3890, 20, 30],
    [None, None, None, None, None, 3890, 20, 78],
)


def plan(points: list[DayPoint], target: timedelta | None = HOUR) -> chart.Plan:
    return chart.plan(points, title=TITLE, first_response_target=target)


def assert_reads_as_words(shown: chart.Plan) -> None:
    """Three panels in a manager's words, yesterday highlighted, the mood scale in words."""
    assert [p.title for p in shown.panels] == ["New cases per day", "Mood of posts", "Time to first response"]
    assert shown.highlight == 7 and shown.highlight_label == "yesterday"
    assert shown.days[7] == "Mon\n23 Nov"
    assert [word for _, word in shown.mood_ticks] == ["negative", "neutral", "positive"]
    assert "VADER" not in repr(shown) and "sentiment" not in repr(shown).lower()
    assert shown.volume.ylabel == "new cases"  # counts alone on their axis; the mood has its own panel


def assert_png(png: bytes) -> None:
    from matplotlib.image import imread

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = imread(io.BytesIO(png))
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 600
    assert pixels.std() > 0.05  # drawn on, not a blank canvas


def test_a_normal_week_in_hours_against_the_target_with_a_worse_mood_yesterday() -> None:
    shown = plan(NORMAL)
    assert_reads_as_words(shown)
    assert shown.no_data == () and shown.new == (14, 18, 11, 16, 20, 6, 4, 22)
    assert (shown.unit, shown.times.ylabel) == ("h", "first response (hours)")  # 600 min is shown as 10 h
    assert shown.p90[5] == 10 and shown.median[7] == pytest.approx(70 / 60)
    assert (shown.target, shown.target_label) == (1, "target 1 h")
    assert shown.highlight_times == ("1 h 10 min", "4 h 20 min")
    assert shown.mood_note == "more negative than usual"
    assert shown.mood_usual == pytest.approx(sum([-0.12, -0.05, -0.2, -0.1, -0.08, 0.1, 0.05]) / 7)
    assert shown.off_scale == ()
    assert_png(chart.render(NORMAL, title=TITLE, first_response_target=HOUR))


def test_a_day_without_data_is_labelled_and_nothing_is_drawn_through_it() -> None:
    shown = plan(GAP)
    assert_reads_as_words(shown)
    assert shown.no_data == (2,)
    assert shown.new[2] is None and shown.mood_values[2] is None and shown.median[2] is shown.p90[2] is None
    assert shown.new[5] == 0 and 5 not in shown.no_data  # posts but no new case: a real zero
    assert (shown.unit, shown.times.ylabel, shown.target) == ("min", "first response (minutes)", 60)
    assert shown.mood_note == "more positive than usual"
    assert_png(chart.render(GAP, title=TITLE, first_response_target=HOUR))


def test_a_quiet_start_shows_no_data_and_one_slow_day_does_not_flatten_the_rest() -> None:
    shown = plan(QUIET_START)
    assert_reads_as_words(shown)
    assert shown.no_data == (0, 1, 2, 3, 4) and shown.new == (None, None, None, None, None, 2, 5, 6)
    # the 2 d 16 h wait on Saturday is written at the top of the axis; the other days keep their minutes
    assert shown.off_scale == ((5, "2 d 16 h"),)
    assert shown.unit == "min" and shown.time_top < 3890
    assert shown.highlight_times == ("30 min", "1 h 18 min")
    assert shown.mood_note is None  # two earlier days, and yesterday is close to them
    assert_png(chart.render(QUIET_START, title=TITLE, first_response_target=HOUR))


@pytest.mark.parametrize(
    "longest, unit, word",
    [
        (119 * MIN, "min", "minutes"),
        (120 * MIN, "h", "hours"),
        (47 * HOUR, "h", "hours"),
        (48 * HOUR, "d", "days"),
    ],
)
def test_times_are_in_the_unit_that_fits(longest: timedelta, unit: str, word: str) -> None:
    points = [DayPoint(date(2026, 11, 16) + timedelta(days=n), 3, -0.1, longest / 2, longest) for n in range(8)]
    shown = plan(points, target=None)
    assert (shown.unit, shown.times.ylabel) == (unit, f"first response ({word})")
    assert shown.p90[0] == pytest.approx(longest / {"min": MIN, "h": HOUR, "d": 24 * HOUR}[unit])


def test_without_a_target_there_is_no_target_line() -> None:
    shown = plan(NORMAL, target=None)
    assert shown.target is None and shown.target_label is None
    assert_png(chart.render(NORMAL, title=TITLE))


def test_a_target_longer_than_every_time_sets_the_unit() -> None:
    shown = plan(GAP, target=4 * HOUR)
    assert (shown.unit, shown.target, shown.target_label) == ("h", 4, "target 4 h")


def test_the_digest_blocks_import_no_matplotlib() -> None:
    """Request listeners render the digest's blocks; only the worker that uploads the chart pays for matplotlib."""
    code = "import sys, bot.blocks.digest, bot.blocks.chart; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
