"""How well does triage find complaints? Measured on human-labelled airline tweets.

    python benchmarks/triage_eval.py ../shared/data/Tweets.csv

The data (Crowdflower "Twitter US Airline Sentiment", non-commercial licence) is not shipped with the
project. Rules in bot/services/triage.py were tuned on the United, US Airways and American rows only; the
Southwest, Delta and Virgin America rows are held out, and the held-out figures are the ones to quote.
A post counts as "flagged" when triage gives it urgent or high priority, or normal priority for a
likely complaint; the question is how many human-labelled negative tweets are flagged (recall), and
how many flagged tweets really are negative (precision).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services import triage  # noqa: E402

TUNING = {"United", "US Airways", "American"}
HELD_OUT = {"Southwest", "Delta", "Virgin America"}


def flagged(text: str) -> bool:
    result = triage.assess(text)
    return result.priority in ("urgent", "high") or result.reason.startswith("likely a complaint")


def evaluate(rows: list[dict[str, str]]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for row in rows:
        negative = row["airline_sentiment"] == "negative"
        hit = flagged(row["text"])
        counts["tp" if negative and hit else "fn" if negative else "fp" if hit else "tn"] += 1
    recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    vader_recall = sum(1 for r in rows if r["airline_sentiment"] == "negative" and triage.sentiment(r["text"]) <= -0.05)
    negatives = max(1, counts["tp"] + counts["fn"])
    return {
        "rows": float(len(rows)),
        "recall": recall,
        "precision": precision,
        "f1": 2 * recall * precision / max(1e-9, recall + precision),
        "vader_only_recall": vader_recall / negatives,
    }


def main(path: str) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for label, airlines in (("tuning", TUNING), ("held out", HELD_OUT)):
        figures = evaluate([r for r in rows if r["airline"] in airlines])
        print(
            f"{label:>9}: {int(figures['rows'])} tweets  complaint recall {figures['recall']:.2f}  "
            f"precision {figures['precision']:.2f}  F1 {figures['f1']:.2f}  "
            f"(VADER alone: recall {figures['vader_only_recall']:.2f})"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
