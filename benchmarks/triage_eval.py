"""How well does triage find the posts that need a reply? Measured on human-labelled airline tweets.

    python benchmarks/triage_eval.py [../shared/data/Tweets.csv]

The data (Crowdflower "Twitter US Airline Sentiment", non-commercial licence) is not shipped with the project,
and nothing learned from it is: the model is fitted here, in memory, and thrown away. Gold "needs a reply" is
the label `negative`. The policy's cues were tuned, and the learned layer is fitted, on the United, US Airways
and American rows only; every figure printed is for the held-out Southwest, Delta and Virgin America rows, on
all of them and on those whose annotators agreed unanimously. Three set-ups are compared: VADER alone (its
negativity as the score), the shipped default policy (what a new installation runs), and the policy with a
layer learned from the development airlines (rows weighted by annotator confidence), as `care-bot triage
learn --csv … --weight-column airline_sentiment_confidence` would make it.
"""

from __future__ import annotations

import csv
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services import triage, triage_learning, triage_policy  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "Tweets.csv"
DEVELOPMENT = {"United", "US Airways", "American"}
HELD_OUT = {"Southwest", "Delta", "Virgin America"}


@dataclass(frozen=True)
class Row:
    text: str
    needs_reply: bool
    unanimous: bool
    confidence: float


@dataclass(frozen=True)
class Verdict:
    score: float
    needs_reply: bool
    priority: str | None


def read(path: Path) -> tuple[list[Row], list[Row]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    def as_row(r: dict[str, str]) -> Row:
        confidence = float(r["airline_sentiment_confidence"])
        return Row(r["text"], r["airline_sentiment"] == "negative", confidence == 1.0, confidence)

    return [as_row(r) for r in rows if r["airline"] in DEVELOPMENT], [
        as_row(r) for r in rows if r["airline"] in HELD_OUT
    ]


def best_precision_at_recall(scored: Sequence[tuple[float, bool]], recall: float = 0.95) -> float:
    """The best precision of any threshold that keeps `recall`; tied scores are one threshold (no lucky order)."""
    positives = sum(gold for _, gold in scored)
    best = found = taken = 0
    for _, tied in groupby(sorted(scored, key=lambda x: -x[0]), key=lambda x: x[0]):
        group = list(tied)
        taken += len(group)
        found += sum(gold for _, gold in group)
        if positives and found / positives >= recall:
            best = max(best, found / taken)
    return best


def figures(verdicts: Sequence[Verdict], rows: Sequence[Row]) -> dict[str, float]:
    pairs = list(zip(verdicts, rows, strict=True))
    positives = sum(r.needs_reply for r in rows)
    flagged = [r.needs_reply for v, r in pairs if v.needs_reply]
    precision = sum(flagged) / len(flagged) if flagged else 0.0
    recall = sum(flagged) / positives if positives else 0.0
    found = {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "best_p_at_r95": best_precision_at_recall([(v.score, r.needs_reply) for v, r in pairs]),
    }
    for level in triage.PRIORITIES:
        chosen = [r.needs_reply for v, r in pairs if v.priority == level]
        found[f"{level}_precision"] = sum(chosen) / len(chosen) if chosen else float("nan")
        found[f"{level}_share"] = sum(chosen) / positives if positives else 0.0
    return found


def rate(judge: Callable[[str], object], texts: Sequence[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        judge(text)
    return len(texts) / (time.perf_counter() - started)


def vader(text: str) -> Verdict:
    compound = triage.sentiment(text)
    return Verdict(-compound, compound <= -0.05, None)


def by_policy(policy: triage.Policy) -> Callable[[str], Verdict]:
    def judge(text: str) -> Verdict:
        found = policy.assess(text)  # with its reason: the reason is part of what the desk pays for
        return Verdict(found.score, found.needs_reply, found.priority)

    return judge


def main(path: Path) -> int:
    development, held_out = read(path)
    default = triage_policy.default()
    started = time.perf_counter()
    examples = triage_learning.Examples(
        [r.text for r in development],
        [r.needs_reply for r in development],
        [r.confidence for r in development],
        "the development airlines",
    )
    model = triage_learning.learn(examples, default, now=datetime.now(UTC))
    learned_in = time.perf_counter() - started
    setups = {
        "VADER alone": vader,
        "default policy": by_policy(default),
        "policy + learned layer": by_policy(replace(default, model=model)),
    }
    unanimous = [r for r in held_out if r.unanimous]
    texts = [r.text for r in held_out]
    print(
        f"Held out: {len(held_out):,} tweets ({len(unanimous):,} unanimous); learned layer fitted on "
        f"{len(development):,} development tweets in {learned_in:.1f} s."
    )
    print(f"Machine: {platform.machine()}, CPython {platform.python_version()}, one core.\n")
    print("| set-up | labels | precision | recall | F1 | best precision at recall ≥ 0.95 | texts/s |")
    print("|---|---|---|---|---|---|---|")
    table: dict[str, dict[str, dict[str, float]]] = {}
    speeds: dict[str, float] = {}
    for name, judge in setups.items():
        speed = speeds[name] = rate(judge, texts)
        verdicts = {id(r): judge(r.text) for r in held_out}
        table[name] = {}
        for label, rows in (("all", held_out), ("unanimous", unanimous)):
            found = figures([verdicts[id(r)] for r in rows], rows)
            table[name][label] = found
            print(
                f"| {name} | {label} | {found['precision']:.2f} | {found['recall']:.2f} | {found['f1']:.2f} | "
                f"{found['best_p_at_r95']:.2f} | {speed:,.0f} |"
            )
    print("\nPriority levels (held out, all labels): precision, and the share of all complaints each holds")
    print("| set-up | urgent | high | normal | low |")
    print("|---|---|---|---|---|")
    for name in ("default policy", "policy + learned layer"):
        found = table[name]["all"]
        cells = [f"{found[f'{p}_precision']:.2f} / {found[f'{p}_share']:.0%}" for p in triage.PRIORITIES]
        print(f"| {name} | " + " | ".join(cells) + " |")
    learned, plain = table["policy + learned layer"], table["default policy"]["all"]
    high = learned["all"]
    print("\nTargets:")
    checks = [
        ("best precision at recall ≥ 0.95, all labels", learned["all"]["best_p_at_r95"], "≥ 0.70", 0.70),
        ("best precision at recall ≥ 0.95, unanimous", learned["unanimous"]["best_p_at_r95"], "≥ 0.85", 0.85),
        ("'high' precision (learned layer)", high["high_precision"], "≥ 0.90", 0.90),
        ("'high' share of complaints (learned layer)", high["high_share"], "≥ 0.55", 0.55),
        ("default policy alone: recall", plain["recall"], "≥ 0.90", 0.90),
        ("default policy alone: precision", plain["precision"], "≥ 0.70", 0.70),
        ("texts/s, one core, with reasons (learned layer)", speeds["policy + learned layer"], "≥ 5,000", 5000),
    ]
    for what, value, target, bound in checks:
        verdict = "met" if value >= bound else f"missed by {bound - value:.2f}"
        shown = f"{value:,.0f}" if bound > 1 else f"{value:.2f}"
        print(f"- {what}: {shown} (target {target}: {verdict if bound <= 1 or value >= bound else 'missed'})")
    return 0


if __name__ == "__main__":
    where = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    if not where.exists():
        print(f"{where} not found: the labelled tweets live in ../shared/data/ (not shipped).", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(where))
