"""The digest's chart as a PNG: daily new cases with their mean sentiment, and first-response times.

matplotlib is imported inside `render`, so only the outbox worker that delivers a digest pays for it
(about half a second, once per process); no request listener ever imports it. The object-oriented
API with the Agg canvas is used rather than pyplot: no global figure state, no display needed, safe
in a worker thread.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import timedelta

from bot.services.digest import DayPoint

BLUE, ORANGE, GREY = "#1d4f91", "#d9822b", "#8a8f98"


def _minutes(value: timedelta | None) -> float:
    return math.nan if value is None else value.total_seconds() / 60


def render(points: Sequence[DayPoint], *, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    volume, times = figure.subplots(2, 1, sharex=True)
    x = list(range(len(points)))
    labels = [f"{p.day:%a}\n{p.day.day} {p.day:%b}" for p in points]

    volume.bar(x, [p.new for p in points], color=BLUE, label="new cases")
    volume.set_ylabel("new cases")
    volume.set_ylim(0, max([p.new for p in points] + [1]) * 1.15)  # never a zero-height axis around 0
    volume.yaxis.get_major_locator().set_params(integer=True)
    mood = volume.twinx()
    mood.plot(
        x,
        [math.nan if p.sentiment is None else p.sentiment for p in points],
        color=ORANGE,
        marker="o",
        label="mean sentiment",
    )
    mood.axhline(0, color=GREY, linewidth=0.8, linestyle=":")
    mood.set_ylim(-1, 1)
    mood.set_ylabel("mean sentiment (VADER)")
    handles = volume.get_legend_handles_labels()
    more = mood.get_legend_handles_labels()
    volume.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize="small")
    volume.set_title("Volume and sentiment", fontsize="medium")

    times.plot(x, [_minutes(p.median_first_response) for p in points], color=BLUE, marker="o", label="median")
    times.plot(
        x,
        [_minutes(p.p90_first_response) for p in points],
        color=ORANGE,
        marker="s",
        linestyle="--",
        label="90th percentile",
    )
    times.set_ylabel("minutes")
    times.set_ylim(bottom=0)
    times.legend(loc="upper left", fontsize="small")
    times.set_title("First-response time", fontsize="medium")
    times.set_xticks(x, labels)

    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
