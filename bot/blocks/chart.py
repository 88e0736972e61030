"""The digest's chart as a PNG: new cases per day, the mood of posts, and first-response times against the target.

`plan` turns the days into plain data (panels, labels, unit, target, days without data, the highlighted day,
the mood note), so what the chart says is tested without looking at pixels; `render` draws that plan.

matplotlib is imported inside `render`, so only the outbox worker that delivers a digest pays for it
(about half a second, once per process); no request listener ever imports it. The object-oriented
API with the Agg canvas is used rather than pyplot: no global figure state, no display needed, safe
in a worker thread.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.services.digest import DayPoint
from bot.sla import format_duration

BLUE, ORANGE, GREY, RED, GREEN = "#1d4f91", "#d9822b", "#8a8f98", "#c0392b", "#2e8b57"
PALE_BLUE, HIGHLIGHT = "#9db4d6", "#fff1c1"
NO_DATA = "no data"
HIGHLIGHT_LABEL = "yesterday"
USUAL_LABEL = "usual (the days before)"
# (unit, axis word, size, from): the largest unit whose threshold the biggest time on the axis reaches
UNITS = (
    ("d", "days", timedelta(days=1), timedelta(hours=48)),
    ("h", "hours", timedelta(hours=1), timedelta(minutes=120)),
    ("min", "minutes", timedelta(minutes=1), timedelta(0)),
)
MOOD_TICKS = ((-0.5, "negative"), (0.0, "neutral"), (0.5, "positive"))
# A day's mean mood this far from the week's is worth a word; smaller moves are the noise of a few posts.
MOOD_NOTABLE = 0.15
MOOD_USUAL_DAYS = 2  # "usual" needs at least this many earlier days with posts
# One slow day (a Friday post answered on Monday) would flatten every other day against the axis: a day this
# many times above the target and the typical day is drawn at the top edge with its time in words.
OFF_SCALE = 4
HEADROOM = 1.3  # the axis reaches this far above its largest value, for the labels
MARGIN = 0.9  # days of room right of the last day, where its times are written
LEGEND: dict[str, Any] = {"loc": "lower right", "bbox_to_anchor": (1, 1), "fontsize": "small", "frameon": False}


@dataclass(frozen=True)
class Panel:
    title: str
    ylabel: str


@dataclass(frozen=True)
class Plan:
    """What the chart shows, as plain data: one entry per day in each series, oldest first; None is not drawn."""

    title: str
    days: tuple[str, ...]  # the x-axis labels
    highlight: int  # the day the digest is about (the last)
    highlight_label: str
    no_data: tuple[int, ...]  # days without a post or a case: labelled NO_DATA, nothing drawn
    volume: Panel
    new: tuple[int | None, ...]
    mood: Panel
    mood_values: tuple[float | None, ...]  # the day's mean sentiment, -1 to +1
    mood_ticks: tuple[tuple[float, str], ...]
    mood_usual: float | None  # the earlier days' mean, drawn as "usual"
    mood_note: str | None  # "more negative than usual" / "more positive than usual"
    times: Panel
    unit: str  # "min", "h" or "d"
    median: tuple[float | None, ...]  # in `unit`
    p90: tuple[float | None, ...]
    target: float | None  # the first-response target, in `unit`
    target_label: str | None
    highlight_times: tuple[str | None, str | None]  # the highlighted day's median and p90 in words
    time_top: float  # the response-time axis' top, in `unit`
    off_scale: tuple[tuple[int, str], ...]  # (day, its longest time in words): above `time_top`, marked at the top

    @property
    def panels(self) -> tuple[Panel, Panel, Panel]:
        return (self.volume, self.mood, self.times)


def no_data(point: DayPoint) -> bool:
    """No post came in and no case was opened: nothing to show, which is not the same as zero."""
    return point.new == 0 and point.sentiment is None


def plan(points: Sequence[DayPoint], *, title: str, first_response_target: timedelta | None = None) -> Plan:
    empty = tuple(i for i, p in enumerate(points) if no_data(p))
    longest = [_longest(p) for p in points]
    ceiling = _ceiling([t for t in longest if t is not None], first_response_target)
    largest = max([t for t in longest if t is not None and t <= ceiling] + [first_response_target or timedelta(0)])
    unit, word, size = _unit(largest)
    top = max(largest * HEADROOM, size)  # room for the labels; never a zero-height axis
    off_scale = tuple((i, format_duration(t)) for i, t in enumerate(longest) if t is not None and t > top)
    last = len(points) - 1
    moods = tuple(p.sentiment for p in points)
    usual, note = _mood_note(moods)
    return Plan(
        title=title,
        days=tuple(f"{p.day:%a}\n{p.day.day} {p.day:%b}" for p in points),
        highlight=last,
        highlight_label=HIGHLIGHT_LABEL,
        no_data=empty,
        volume=Panel("New cases per day", "new cases"),
        new=tuple(None if i in empty else p.new for i, p in enumerate(points)),
        mood=Panel("Mood of posts", "average mood"),
        mood_values=moods,
        mood_ticks=MOOD_TICKS,
        mood_usual=usual,
        mood_note=note,
        times=Panel("Time to first response", f"first response ({word})"),
        unit=unit,
        median=tuple(_in(p.median_first_response, size) for p in points),
        p90=tuple(_in(p.p90_first_response, size) for p in points),
        target=_in(first_response_target, size),
        target_label=None if first_response_target is None else f"target {format_duration(first_response_target)}",
        highlight_times=(
            (_said(points[last].median_first_response), _said(points[last].p90_first_response))
            if points
            else (None, None)
        ),
        time_top=top / size,
        off_scale=off_scale,
    )


def _longest(point: DayPoint) -> timedelta | None:
    times = [t for t in (point.median_first_response, point.p90_first_response) if t is not None]
    return max(times, default=None)


def _ceiling(longest: Sequence[timedelta], target: timedelta | None) -> timedelta:
    """Above this a day is off the scale: OFF_SCALE times the larger of the target and the typical day's time."""
    if not longest:
        return timedelta.max
    ordered = sorted(longest)
    typical = ordered[(len(ordered) - 1) // 2]  # the lower median: one slow day out of two does not set it
    return OFF_SCALE * max(typical, target or timedelta(0))


def _unit(largest: timedelta) -> tuple[str, str, timedelta]:
    for unit, word, size, start in UNITS:
        if largest >= start:
            return unit, word, size
    return UNITS[-1][:3]


def _in(value: timedelta | None, size: timedelta) -> float | None:
    return None if value is None else value / size


def _said(value: timedelta | None) -> str | None:
    return None if value is None else format_duration(value)


def _mood_note(moods: Sequence[float | None]) -> tuple[float | None, str | None]:
    earlier = [m for m in moods[:-1] if m is not None]
    if len(earlier) < MOOD_USUAL_DAYS:
        return None, None
    usual = sum(earlier) / len(earlier)
    last = moods[-1]
    if last is None or abs(last - usual) < MOOD_NOTABLE:
        return usual, None
    return usual, "more negative than usual" if last < usual else "more positive than usual"


def render(points: Sequence[DayPoint], *, title: str, first_response_target: timedelta | None = None) -> bytes:
    """The chart as PNG bytes; `first_response_target` (the normal priority's) is drawn as a line when given."""
    return draw(plan(points, title=title, first_response_target=first_response_target))


def draw(shown: Plan) -> bytes:
    """The plan as PNG bytes: three panels over the same days, the highlighted day shaded on each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    volume, mood, times = figure.subplots(3, 1, sharex=True, height_ratios=[3, 2, 3])
    x = list(range(len(shown.days)))
    for axes, panel in zip((volume, mood, times), shown.panels, strict=True):
        axes.axvspan(shown.highlight - 0.5, shown.highlight + 0.5, color=HIGHLIGHT, zorder=0)
        axes.set_title(panel.title, fontsize="medium", loc="left", fontweight="bold")
        axes.set_ylabel(panel.ylabel)
        axes.spines[["top", "right"]].set_visible(False)
    _volume(volume, shown)
    _mood(mood, shown)
    _times(times, shown)
    times.set_xlim(-0.5, len(x) - 0.5 + MARGIN)
    times.set_xticks(x, shown.days)
    if shown.days:
        times.get_xticklabels()[shown.highlight].set_fontweight("bold")
    figure.suptitle(shown.title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _volume(axes: Any, shown: Plan) -> None:
    from matplotlib.patches import Patch

    days = [i for i, n in enumerate(shown.new) if n is not None]
    counts = [shown.new[i] or 0 for i in days]
    colours = [BLUE if i == shown.highlight else PALE_BLUE for i in days]
    bars = axes.bar(days, counts, color=colours, width=0.6)
    axes.bar_label(bars, fontsize="small", padding=2)
    top = max([*counts, 1]) * 1.3  # room for the counts above the bars; never a zero-height axis
    axes.set_ylim(0, top)
    axes.yaxis.get_major_locator().set_params(integer=True)
    for i in shown.no_data:
        axes.text(i, top * 0.06, NO_DATA, ha="center", va="bottom", color=GREY, fontsize="small", style="italic")
    axes.legend(
        handles=[Patch(facecolor=HIGHLIGHT, edgecolor=GREY, linewidth=0.5, label=shown.highlight_label)], **LEGEND
    )


def _mood(axes: Any, shown: Plan) -> None:
    axes.axhspan(0.05, 1, color=GREEN, alpha=0.07, zorder=0)  # VADER's own cut-offs for positive and negative
    axes.axhspan(-1, -0.05, color=RED, alpha=0.07, zorder=0)
    axes.axhline(0, color=GREY, linewidth=0.6, zorder=1)
    values = [math.nan if v is None else v for v in shown.mood_values]
    axes.plot(range(len(values)), values, color=ORANGE, marker="o", zorder=3)
    if shown.mood_usual is not None:
        axes.axhline(shown.mood_usual, color=GREY, linestyle="--", linewidth=1, zorder=2, label=USUAL_LABEL)
        axes.legend(**LEGEND)
    axes.set_ylim(-1, 1)
    axes.set_yticks([tick for tick, _ in shown.mood_ticks], [word for _, word in shown.mood_ticks])
    last = shown.mood_values[shown.highlight] if shown.mood_values else None
    if shown.mood_note is not None and last is not None:
        up = last >= 0 if abs(last) < 0.6 else last < 0  # away from neutral, unless that leaves the panel
        axes.annotate(
            shown.mood_note,
            (shown.highlight, last),
            xytext=(-12, 14 if up else -14),
            textcoords="offset points",
            ha="right",
            va="bottom" if up else "top",
            fontsize="small",
            fontweight="bold",
            color=RED if "negative" in shown.mood_note else GREEN,
        )


def _times(axes: Any, shown: Plan) -> None:
    top = shown.time_top
    x = range(len(shown.median))
    for values, style in ((shown.median, MEDIAN_STYLE), (shown.p90, P90_STYLE)):
        axes.plot(x, [math.nan if v is None or v > top else v for v in values], **style)
    axes.set_ylim(0, top)
    if shown.target is not None and shown.target_label is not None:
        axes.axhline(shown.target, color=RED, linewidth=1.2, label=shown.target_label, zorder=1)
        axes.annotate(
            shown.target_label,
            (0.005, shown.target),
            xycoords=("axes fraction", "data"),
            xytext=(0, 3),
            textcoords="offset points",
            color=RED,
            fontsize="small",
        )
    for day, said in shown.off_scale:
        axes.plot([day], [top], marker="^", color=GREY, clip_on=False, zorder=3)
        axes.annotate(
            f"{said}\n(off the scale)",
            (day, top),
            xytext=(0, -6),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize="small",
            color=GREY,
        )
    _label_highlight(axes, shown)
    axes.legend(ncols=3, **LEGEND)


MEDIAN_STYLE: dict[str, Any] = {"color": BLUE, "marker": "o", "label": "median"}
P90_STYLE: dict[str, Any] = {"color": ORANGE, "marker": "s", "linestyle": "--", "label": "90th percentile"}


def _label_highlight(axes: Any, shown: Plan) -> None:
    """The highlighted day's times in words beside its points: the median below, the 90th percentile above."""
    day = shown.highlight
    for values, said, up in (
        (shown.median, shown.highlight_times[0], False),
        (shown.p90, shown.highlight_times[1], True),
    ):
        value = values[day] if values else None
        if value is None or said is None or value > shown.time_top:
            continue
        axes.annotate(
            said,
            (day, value),
            xytext=(8, 2 if up else -2),
            textcoords="offset points",
            ha="left",
            va="bottom" if up else "top",
            fontsize="small",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
