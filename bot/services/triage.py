"""The triage policy: one place that turns a post into "needs a reply", a score, a priority and a reason.

VADER alone misses most real complaints (they are often factual: "flight delayed 3 hours, no update", even
"wifi never worked … Refund please?" scores positive), so the policy weighs VADER's tone together with cue
groups (refunds, delays, lost items, risk, questions to the brand, praise, abuse) read from a TOML file the
team owns (`triage_policy.toml` here is the default; `CARE_TRIAGE_FILE` names another). A learned model
(`CARE_TRIAGE_MODEL`, `care-bot triage learn`) may replace the weighted sum: it learns from the same cues
and tone, plus the words themselves. Every assessment says why, in words an agent can check at a glance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
PRAISE, TROLL = "praise", "troll"
KINDS = ("", PRAISE, TROLL)
REASON_CUES = 3  # the strongest few cues make a reason; more is noise on a case message
QUOTED = 40  # characters of a customer's words quoted in a reason, at most


class Scorer(Protocol):
    """A learned model, as the policy uses it (`bot.services.triage_model.LearnedModel`)."""

    def probability(self, text: str, extra: Mapping[str, float] | None = None) -> float: ...

    def evidence(self, text: str, extra: Mapping[str, float] | None = None, limit: int = 3) -> list[str]: ...


Phrase = tuple[str, ...]  # a cue's words as tokens; the last may be a stem (`prefix`)
_TOKEN = re.compile(r"[\w']+")


def tokens(text: str) -> list[str]:
    """Lower-case words, apostrophes kept ("doesn't", "where's"); punctuation and spacing dropped."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class CueGroup:
    """Words and patterns that mean one thing ("a refund"), with what a match adds to the score."""

    name: str
    label: str
    weight: float
    words: tuple[tuple[Phrase, bool], ...] = ()  # each phrase, and whether its last word is a stem ("cancel*")
    pattern: re.Pattern[str] | None = None  # the group's regular expressions, for what words cannot say
    quote: bool = True
    priority: str | None = None  # a match makes the post at least this urgent
    kind: str = ""  # PRAISE or TROLL: what the case message offers or hints


class _WordIndex:
    """Every cue word of a policy in dictionaries, so a post's words are looked up once each.

    A regular expression per group (alternatives between lookarounds) cost ~900 us a post: no literal prefix
    for the engine to scan for. Looking up each token, the pairs and triples starting at a phrase's first
    word, and each token's stems of the lengths the policy uses costs a few microseconds.
    """

    def __init__(self, groups: tuple[CueGroup, ...]) -> None:
        self.exact: dict[Phrase, list[int]] = {}
        self.stems: dict[str, list[int]] = {}
        self.headed: dict[Phrase, list[tuple[str, int]]] = {}  # a phrase's first words -> (its last word's stem, group)
        for index, group in enumerate(groups):
            for phrase, prefix in group.words:
                if prefix and len(phrase) == 1:
                    self.stems.setdefault(phrase[0], []).append(index)
                elif prefix:
                    self.headed.setdefault(phrase[:-1], []).append((phrase[-1], index))
                else:
                    self.exact.setdefault(phrase, []).append(index)
        self.lengths = sorted({len(stem) for stem in self.stems})
        self.starts = {phrase[0] for phrase in self.exact if len(phrase) > 1} | {head[0] for head in self.headed}
        self.longest = max([len(p) for p in self.exact] + [len(h) + 1 for h in self.headed] + [1])

    def find(self, words: list[str]) -> dict[int, str]:
        """Each group found in `words`, with the words that matched first (as the post wrote them, lower-cased)."""
        found: dict[int, str] = {}
        exact, stems = self.exact, self.stems
        for i, word in enumerate(words):
            for index in exact.get((word,), ()):
                found.setdefault(index, word)
            for length in self.lengths:
                if length > len(word):
                    break
                for index in stems.get(word[:length], ()):
                    found.setdefault(index, word)
            if word not in self.starts:
                continue
            for size in range(2, self.longest + 1):
                phrase = tuple(words[i : i + size])
                if len(phrase) < size:
                    break
                for index in exact.get(phrase, ()):
                    found.setdefault(index, " ".join(phrase))
                for stem, index in self.headed.get(phrase[:-1], ()):
                    if phrase[-1].startswith(stem):
                        found.setdefault(index, " ".join(phrase))
        return found


@dataclass(frozen=True)
class Assessment:
    sentiment: float  # VADER's compound score, -1 … +1 (stored; the figures' sentiment trend reads it)
    priority: str
    reason: str  # one line for the case message: "High · needs a reply: 'refund' · tone negative"
    needs_reply: bool = True
    score: float = 0.5  # 0 … 1, higher = more likely to need a reply
    kind: str = ""  # PRAISE, TROLL or ""


@dataclass(frozen=True)
class Policy:
    """A validated policy file (see `triage_policy.load`), optionally with a learned model."""

    cues: tuple[CueGroup, ...]
    bias: float = -1.5
    tone: float = 2.0
    needs_reply: float = 0.5
    high: float = 0.8
    stars_high_at_most: int = 2
    high_tone: float = -0.6  # a tone this negative or worse (VADER's compound) is at least high: fury spreads
    source: str = "the default policy"
    model: Scorer | None = field(default=None, compare=False)

    @cached_property
    def _index(self) -> _WordIndex:
        return _WordIndex(self.cues)

    def matched(self, text: str) -> list[tuple[CueGroup, str]]:
        """The cue groups `text` matches, in the policy's order, each with the words that matched."""
        found = self._index.find(tokens(text))
        for index, cue in enumerate(self.cues):
            if index not in found and cue.pattern is not None and (hit := cue.pattern.search(text)) is not None:
                found[index] = " ".join(hit.group(0).lower().split())
        return [(self.cues[index], found[index]) for index in sorted(found)]

    def features(self, text: str, compound: float) -> dict[str, float]:
        """What a learned model reads besides the words: the tone and which cue groups matched."""
        return _extras(compound, self.matched(text))

    def assess(self, text: str, *, stars: int | None = None) -> Assessment:
        compound = sentiment(text)
        matched = self.matched(text)
        if self.model is not None:
            extra = _extras(compound, matched)
            score = self.model.probability(text, extra)
            learned = [
                e for e in self.model.evidence(text, extra, limit=REASON_CUES) if not e.startswith(("cue:", "tone"))
            ]
        else:
            total = self.bias + self.tone * -compound + sum(cue.weight for cue, _ in matched)
            score, learned = _logistic(total), []
        needs_reply = score >= self.needs_reply
        priority = "high" if score >= self.high else "normal" if needs_reply else "low"
        floors = [cue.priority for cue, _ in matched if cue.priority]
        star_floor = stars is not None and stars <= self.stars_high_at_most
        furious = compound <= self.high_tone and not any(cue.kind == TROLL for cue, _ in matched)
        for floor in [*floors, "high" if star_floor or furious else None]:
            if floor is not None and PRIORITY_RANK[floor] < PRIORITY_RANK[priority]:
                priority, needs_reply = floor, True
        kind = _kind(matched, needs_reply)
        reason = _reason(priority, needs_reply, kind, matched, learned, compound, stars if star_floor else None)
        return Assessment(compound, priority, reason, needs_reply, round(score, 4), kind)


def _extras(compound: float, matched: list[tuple[CueGroup, str]]) -> dict[str, float]:
    return {"tone": -compound, **{f"cue:{cue.name}": 1.0 for cue, _ in matched}}


TROLL_OVERRULED_BY = 1.5  # a cue this heavy is a concrete problem (a refund, a lost bag): abuse beside it is anger


def _kind(matched: list[tuple[CueGroup, str]], needs_reply: bool) -> str:
    """TROLL when abuse or spam matched and no concrete problem did ("you idiots lost my bag" is a complaint,
    "you all deserve to crash" is not); PRAISE when praise matched on a post that needs no reply."""
    kinds = {cue.kind for cue, _ in matched if cue.kind}
    if TROLL in kinds and not any(cue.weight >= TROLL_OVERRULED_BY and not cue.kind for cue, _ in matched):
        return TROLL
    return PRAISE if PRAISE in kinds and not needs_reply else ""


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def tone_words(compound: float, *, needs_reply: bool) -> str:
    """The tone in words. A post that needs a reply is never called "positive": VADER reads "Refund please?"
    as friendly, and an agent told so would answer the wrong post."""
    if compound <= -0.6:
        return "very negative"
    if compound <= -0.2:
        return "negative"
    if needs_reply or compound < 0.2:
        return "calm" if needs_reply else "neutral"
    return "very positive" if compound >= 0.6 else "positive"


def _reason(
    priority: str,
    needs_reply: bool,
    kind: str,
    matched: list[tuple[CueGroup, str]],
    learned: list[str],
    compound: float,
    stars: int | None,
) -> str:
    if kind:
        shown = [m for m in matched if m[0].kind == kind]
    else:  # what weighed towards a reply; a post that needs none is not explained by its cues
        shown = [m for m in matched if m[0].weight > 0 or m[0].priority] if needs_reply else []
    # the risk first, then the heaviest: what made the priority is what the agent should read first
    shown.sort(key=lambda m: (m[0].priority is None, -abs(m[0].weight)))
    said: list[str] = [f"a {stars}-star review"] if stars is not None else []
    for cue, words in shown:
        quoted = words if len(words) <= QUOTED else words[: QUOTED - 1] + "…"  # a 5,000-letter "word" stays short
        text = f"'{quoted}'" if cue.quote else cue.label
        if text not in said:
            said.append(text)
    for word in learned:
        if word not in said and len(said) < REASON_CUES:
            said.append(word)
    cues = ", ".join(said[:REASON_CUES])
    if kind == TROLL:  # a question for the person deciding, with the words that raised it (a troll cue matched)
        why = f"looks like a troll ({cues}): no reply needed?"
    else:
        head = "praise" if kind == PRAISE else "needs a reply" if needs_reply else "no reply needed"
        why = f"{head}: {cues}" if cues else head
    return f"{priority.capitalize()} · {why} · tone {tone_words(compound, needs_reply=needs_reply)}"


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


def escalate_priority(current: str, new: str) -> str:
    """A case's priority only rises as the customer writes more; staff can still lower it."""
    return new if PRIORITY_RANK[new] < PRIORITY_RANK[current] else current
