"""The triage policy in force: read from the team's file (TOML) into a `triage.Policy`, installed at start-up.

The file is the team's to edit, so every mistake a person can make in it (a typo in a key, a weight written
as text, a pattern that is not a regular expression, a threshold outside 0 … 1) is caught when the app starts
and named with where it is: a policy that half-loads would triage a storm wrongly without anyone noticing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.services import team_files
from bot.services.team_files import FileProblem, known
from bot.services.triage import KINDS, PRIORITIES, Assessment, CueGroup, Phrase, Policy, tokens

DEFAULT_FILE = Path(__file__).with_name("triage_policy.toml")
FORMAT = 1
_CUE_KEYS = {"label", "weight", "words", "patterns", "quote", "priority", "kind"}
_TOP_KEYS = {"format", "score", "stars", "cues"}
_SCORE_KEYS = {"bias", "tone", "needs_reply", "high", "high_tone"}
# what a file that leaves a setting out gets: `triage.Policy`'s own defaults, so there is one place to change them
_UNSET: dict[str, Any] = {f.name: f.default for f in fields(Policy) if f.default is not MISSING}


_current: list[Policy] = []


def current() -> Policy:
    """The policy in force: the one `use` installed at start-up, else the shipped default."""
    return _current[-1] if _current else default()


def use(chosen: Policy) -> None:
    """Install the policy the process runs with (the app does this once at start-up, from its settings)."""
    _current[:] = [chosen]


@contextmanager
def using(chosen: Policy) -> Iterator[Policy]:
    """A policy for the length of a block (tests), then the previous one again."""
    before = list(_current)
    use(chosen)
    try:
        yield chosen
    finally:
        _current[:] = before


def assess(text: str, *, stars: int | None = None) -> Assessment:
    """A post judged by the policy in force."""
    return current().assess(text, stars=stars)


@lru_cache(maxsize=1)
def default() -> Policy:
    """The policy shipped in the package (read once: every process and test starts from it)."""
    return load(DEFAULT_FILE, setting="the default triage policy")


def configured(policy_file: Path | None, model_file: Path | None) -> Policy:
    """The policy `CARE_TRIAGE_FILE` and `CARE_TRIAGE_MODEL` name (the shipped default without the first);
    a ConfigError in one sentence when either cannot be used."""
    chosen = load(policy_file) if policy_file is not None else default()
    if model_file is None:
        return chosen
    from bot.services.triage_model import LearnedModel, ModelFileError

    try:
        model = LearnedModel.load(model_file)
    except ModelFileError as exc:
        raise ConfigError(f"CARE_TRIAGE_MODEL: {exc}") from None
    return replace(chosen, model=model)


def load(path: Path, *, setting: str = "CARE_TRIAGE_FILE") -> Policy:
    """The policy in `path`; a ConfigError in one sentence when it cannot be used."""
    where = f"{setting} ({path})" if setting == "CARE_TRIAGE_FILE" else setting
    return team_files.read(path, where=where, kind="policy", parse=lambda data: parse(data, source=str(path)))


def parse(data: Mapping[str, Any], *, source: str) -> Policy:
    known(data, _TOP_KEYS, "the file")
    if data.get("format") != FORMAT:
        raise FileProblem(
            f"format must be {FORMAT} (the policy format this version reads), got {data.get('format')!r}."
        )
    score = team_files.table(data, "score", "[score]")
    known(score, _SCORE_KEYS, "[score]")
    stars = team_files.table(data, "stars", "[stars]")
    known(stars, {"high_at_most"}, "[stars]")
    needs_reply = _number(score, "needs_reply", "[score]", _UNSET["needs_reply"], low=0.0, high=1.0)
    high = _number(score, "high", "[score]", _UNSET["high"], low=0.0, high=1.0)
    if high < needs_reply:
        raise FileProblem(f"[score] high ({high}) must not be below needs_reply ({needs_reply}).")
    high_stars = stars.get("high_at_most", _UNSET["stars_high_at_most"])
    if type(high_stars) is not int or not 0 <= high_stars <= 5:
        raise FileProblem(f"[stars] high_at_most must be a whole number of stars from 0 to 5, got {high_stars!r}.")
    cues = team_files.table(data, "cues", "[cues]")
    return Policy(
        cues=tuple(_cue(name, cues[name]) for name in cues),
        bias=_number(score, "bias", "[score]", _UNSET["bias"]),
        tone=_number(score, "tone", "[score]", _UNSET["tone"]),
        needs_reply=needs_reply,
        high=high,
        stars_high_at_most=high_stars,
        high_tone=_number(score, "high_tone", "[score]", _UNSET["high_tone"], low=-1.0, high=1.0),
        source=source,
    )


def _cue(name: str, table: object) -> CueGroup:
    where = f"[cues.{name}]"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise FileProblem(
            f"{where}: a cue group's name must be lower-case letters, digits and _ (at most 40), got {name!r}."
        )
    if not isinstance(table, dict):
        raise FileProblem(f"{where} must be a table of settings.")
    known(table, _CUE_KEYS, where)
    label = table.get("label", name.replace("_", " "))
    if not isinstance(label, str) or not label.strip() or len(label) > 60:
        raise FileProblem(f"{where} label must be a short text (1 to 60 characters), got {label!r}.")
    words, patterns = _texts(table, "words", where), _texts(table, "patterns", where)
    if not words and not patterns:
        raise FileProblem(f"{where} needs at least one entry in words or patterns.")
    parts = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise FileProblem(f"{where} pattern {pattern!r} is not a regular expression: {exc}.") from None
        parts.append(f"(?:{pattern})")
    quote = table.get("quote", True)
    if not isinstance(quote, bool):
        raise FileProblem(f"{where} quote must be true or false, got {quote!r}.")
    priority = table.get("priority")
    if priority is not None and priority not in PRIORITIES[:2]:
        raise FileProblem(
            f'{where} priority must be "urgent" or "high" (the least a match makes it), got {priority!r}.'
        )
    kind = table.get("kind", "")
    if kind not in KINDS:
        raise FileProblem(f'{where} kind must be "praise" or "troll", got {kind!r}.')
    return CueGroup(
        name=name,
        label=label.strip(),
        weight=_number(table, "weight", where, 1.0),
        words=tuple(_word(word, where) for word in words),
        pattern=re.compile("|".join(parts), re.IGNORECASE) if parts else None,
        quote=quote,
        priority=priority,
        kind=kind,
    )


def _word(word: str, where: str) -> tuple[Phrase, bool]:
    """A word or phrase as the tokens a post is read as (`triage.tokens`), and whether it ends in `*`."""
    prefix = word.strip().endswith("*")
    phrase = tuple(tokens(word.strip().rstrip("*")))
    if not phrase or "*" in word.strip()[:-1] or len(phrase) > 4:
        raise FileProblem(f"{where} word {word!r} must be a word or a phrase of up to 4 words, with * only at its end.")
    return phrase, prefix


def _number(
    table: Mapping[str, Any], name: str, where: str, default: float, *, low: float = -100.0, high: float = 100.0
) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FileProblem(f"{where} {name} must be a number, got {value!r}.")
    if not low <= value <= high:
        raise FileProblem(f"{where} {name} must be between {low:g} and {high:g}, got {value!r}.")
    return float(value)


def _texts(table: Mapping[str, Any], name: str, where: str) -> list[str]:
    values = table.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise FileProblem(f"{where} {name} must be a list of non-empty texts.")
    return values
