"""The triage policy: one place that turns a post into a sentiment score and a priority.

VADER alone misses most real complaints (negative-class recall ~0.44 on human-labelled airline tweets),
because complaints are often factual ("flight delayed 3 hours, no update"). So the policy combines the
VADER compound score with complaint and risk vocabulary. Keep every rule here; improve it with data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}

# Risk to people, money, data or reputation: a human must look now, whatever the tone.
URGENT_TERMS = (
    r"lawyer",
    r"attorney",
    r"\bsu(e|ing)\b",
    r"lawsuit",
    r"legal action",
    r"injur",
    r"hospital",
    r"unsafe",
    r"danger",
    r"food poisoning",
    r"allerg",
    r"fraud",
    r"scam",
    r"stolen",
    r"hack(ed)?\b",
    r"data breach",
    r"leak(ed)? my",
    r"discriminat",
    r"harass",
    r"threat",
    r"police",
    r"emergency",
    r"going viral",
    r"journalist",
    r"press\b",
)
# Everyday complaint vocabulary VADER scores as neutral.
COMPLAINT_TERMS = (
    r"refund",
    r"cancel",
    r"delay",
    r"late\b",
    r"still waiting",
    r"waiting",
    r"no one",
    r"nobody",
    r"never",
    r"lost",
    r"missing",
    r"broken",
    r"doesn'?t work",
    r"not working",
    r"won'?t",
    r"can'?t",
    r"charged",
    r"overcharg",
    r"double charg",
    r"rude",
    r"worst",
    r"terrible",
    r"awful",
    r"useless",
    r"disappoint",
    r"ridiculous",
    r"unacceptable",
    r"hold for",
    r"on hold",
    r"crash",
    r"error",
    r"stuck",
    r"fix",
    r"complain",
    r"help\b",
    r"hours?\b",
    r"again\b",
    r"\?\s*$",
)
_URGENT = re.compile("|".join(URGENT_TERMS), re.IGNORECASE)
_COMPLAINT = re.compile("|".join(COMPLAINT_TERMS), re.IGNORECASE)


@dataclass(frozen=True)
class Assessment:
    sentiment: float
    priority: str
    reason: str


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


def assess(text: str, *, stars: int | None = None) -> Assessment:
    score = sentiment(text)
    if _URGENT.search(text):
        return Assessment(score, "urgent", "mentions legal, safety, fraud or publicity risk")
    complaint_hits = len(_COMPLAINT.findall(text))
    if stars is not None and stars <= 2:
        return Assessment(score, "high", f"{stars}-star review")
    if score <= -0.6 or (score <= -0.2 and complaint_hits >= 1) or complaint_hits >= 3:
        return Assessment(score, "high", "strongly negative or a clear complaint")
    if complaint_hits >= 1 or score < -0.05:
        return Assessment(score, "normal", "likely a complaint or question")
    if score >= 0.3:
        return Assessment(score, "low", "positive: answer warmly")
    return Assessment(score, "normal", "neutral")


def escalate_priority(current: str, new: str) -> str:
    """A case's priority only rises as the customer writes more; staff can still lower it."""
    return new if PRIORITY_RANK[new] < PRIORITY_RANK[current] else current
