"""The learned layer of the triage policy: a small logistic regression over word and character n-grams.

Why a learned layer: the hand-written cue lists in triage.py miss factual complaints and flag friendly
questions; a linear model trained on the desk's own decisions ranks posts by how likely they need a reply.
Why this shape: a linear model over a named vocabulary (not hashing) can say *why* it scored a post
("'refund'", "'still waiting'"), its file is readable JSON a reviewer can diff, and scoring and training
stay pure Python, so the bot gains no heavy dependency and a test run stays fast.

Scoring is linear, so what a word contributes (its weight and its character n-grams' weights) is summed once and
cached per token, and tokenising is cached per whitespace-separated chunk; that is what lets `probability` +
`evidence` keep up with ~20,000 tweets a second on one core in pure Python (the experiment measures it).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from operator import itemgetter, mul
from pathlib import Path
from typing import Any, NamedTuple

from bot.services import team_files

FORMAT = "care-bot/triage-model"
FORMAT_VERSION = 1

# Caller-supplied extras are divided by the largest |value| seen in training and then clipped, so a value far
# outside the training range (a 3,000-character post's length) cannot swamp the n-gram evidence.
_EXTRA_CLIP = 4.0
# Scoring caches what it knows about each distinct token and drops the cache wholesale past this size:
# tweets reuse a few thousand words, and a bounded cache cannot leak in a long-running bot.
_TOKEN_CACHE_LIMIT = 100_000

# Negations turn praise into complaint ("not happy"); counted as a shape feature.
_NEGATIONS = frozenset(
    ("not", "no", "never", "nobody", "nothing", "none", "nowhere", "cannot", "cant", "dont", "wont", "didnt")
    + ("isnt", "wasnt", "arent", "doesnt", "havent", "hasnt", "couldnt", "shouldnt", "wouldnt")
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
# Words keep their apostrophes ("can't"); "?" and "!" and emoji are tokens of their own.
_TOKEN = re.compile(r"<url>|<user>|\w[\w']*|[?!\u2600-\u27bf\U0001f300-\U0001faff]")
_PLACEHOLDER_LABELS = {"<url>": "a link", "<user>": "a mention"}
_SHAPE_LABELS = {
    "question_end": "ends with a question",
    "exclamations": "exclamation marks",
    "negations": "negation",
    "length": "a long message",
}
_SHAPE_NAMES = tuple(_SHAPE_LABELS)
_SHAPE_KEYS = tuple("s:" + name for name in _SHAPE_NAMES)  # as evidence keys them


class ModelFileError(ValueError):
    """Raised by load() with ONE plain sentence naming the file and what is wrong.

    Why its own type: the CLI and the settings page show the message to a person as is, and must be able to tell
    "your model file is broken" from a bug in the code.
    """


@dataclass(frozen=True)
class FeatureSettings:
    """What the scorer must know to turn text into the features the weights were trained on.

    Stored in the model file so a model is always scored the way it was trained.
    """

    word_ngrams: int = 3
    char_min: int = 2
    char_max: int = 5
    shape: bool = True

    def check(self) -> str | None:
        """Why the settings cannot be used, or None; shared by fit() and load() so both refuse the same things."""
        if not 1 <= self.word_ngrams <= 3:
            return f"word_ngrams must be 1, 2 or 3, not {self.word_ngrams}"
        if self.char_max == 0:  # character n-grams off
            return None
        if not 1 <= self.char_min <= self.char_max <= 8:
            low, high = self.char_min, self.char_max
            return f"character n-grams need 1 <= char_min <= char_max <= 8 (or char_max 0), not {low}-{high}"
        return None


# --------------------------------------------------------------------------------------------- text to features


def _raw_tokens(text: str) -> list[str]:
    """Tokens as written (lowercased); each is normalised by _token_key, which scoring caches per token."""
    text = text.lower()
    if "http" in text or "www." in text:
        text = _URL.sub(" <url> ", text)
    if "@" in text:
        text = _HANDLE.sub(" <user> ", text)
    if "&" in text:
        text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    return _TOKEN.findall(text)


@lru_cache(maxsize=65_536)
def _token_key(raw: str) -> str:
    """The vocabulary entry for a raw token: numbers fold to "<num>" and "soooo" to "soo"."""
    if raw[0] == "<" or raw in "?!":
        return raw
    token = raw.rstrip("'") or raw
    if token[0].isdigit():
        return "<num>"
    return _ELONGATED.sub(r"\1\1", token) if len(token) > 2 else token


def tokens(text: str) -> list[str]:
    """The model's view of a post: a brand handle is just "<user>", so "@united" cannot become a complaint signal."""
    return list(map(_token_key, _raw_tokens(text)))


def _is_word(token: str) -> bool:
    return token[0].isalpha()


def _char_grams(word: str, low: int, high: int) -> Iterator[str]:
    padded = f" {word} "
    size = len(padded)
    for n in range(low, high + 1):
        for start in range(size - n + 1):
            yield padded[start : start + n]


def _word_grams(toks: Sequence[str], order: int) -> list[str]:
    grams = list(toks)
    for n in range(2, order + 1):
        grams.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


def _is_negation(token: str) -> bool:
    return token in _NEGATIONS or token.endswith("n't")


def _shape_values(words: int, negations: int, exclamations: int, question_end: bool) -> tuple[float, ...]:
    """The shape cues in _SHAPE_NAMES order. Length is centred on 20 words, so only a long post reads as long."""
    return (
        1.0 if question_end else 0.0,
        min(exclamations, 3) / 3.0,
        min(negations, 3) / 3.0,
        (min(words, 40) - 20) / 20.0,
    )


def _ends_with_question(toks: Sequence[str]) -> bool:
    for token in reversed(toks):
        if token not in ("<url>", "<user>"):  # "... still no answer? @united http://…" ends with a question
            return token == "?"
    return False


def _shape(toks: Sequence[str]) -> dict[str, float]:
    """Cheap post-level cues the n-grams cannot see, such as whether the post *ends* with a question."""
    values = _shape_values(
        sum(1 for t in toks if _is_word(t)),
        sum(1 for t in toks if _is_negation(t)),
        toks.count("!"),
        _ends_with_question(toks),
    )
    return dict(zip(_SHAPE_NAMES, values, strict=True))


def _features(text: str, settings: FeatureSettings) -> dict[str, float]:
    toks = tokens(text)
    result: dict[str, float] = {}
    groups = [["w:" + gram for gram in _word_grams(toks, settings.word_ngrams)]]
    if settings.char_max:
        low, high = settings.char_min, settings.char_max
        groups.append(["c:" + g for t in toks if _is_word(t) for g in _char_grams(t, low, high)])
    for grams in groups:
        if grams:
            scale = 1.0 / math.sqrt(len(grams))
            for gram in grams:
                result[gram] = result.get(gram, 0.0) + scale
    if settings.shape:
        result.update({"s:" + name: value for name, value in _shape(toks).items() if value})
    return result


def features(text: str, settings: FeatureSettings | None = None) -> dict[str, float]:
    """The n-gram features of a text, each group scaled by 1/sqrt(its size) so long posts do not score louder.

    Word and character n-grams are scaled separately (so the ~5x more numerous character n-grams do not drown
    the words): on the development airlines one scale for both did worse, at every relative weight tried.

    Keys are "w:" word n-grams ("w:still waiting"), "c:" character n-grams with spaces marking word edges
    ("c: ref"), and "s:" shape cues when the settings ask for them. Exposed so tests can pin the representation.
    """
    return _features(text, settings or FeatureSettings())


# --------------------------------------------------------------------------------------------------- the model


def _surface(raw: str) -> str:
    return raw.rstrip("'") or raw


def _quote(surfaces: Sequence[str]) -> str:
    """A phrase as the customer wrote it: "'refund?'" and "'!!'", not "'refund ?'" and "'! !'"."""
    text = surfaces[0]
    for surface in surfaces[1:]:
        text += surface if surface in ("?", "!") else " " + surface
    return f"'{text}'"


def _phrases(keys: Sequence[str], size: int) -> list[str]:
    """Every phrase of `size` words in order, to find where a phrase chosen as evidence starts."""
    return list(map(" ".join, zip(*(keys[i:] for i in range(size)), strict=False)))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _scaled_extra(value: float, scale: float) -> float:
    return max(-_EXTRA_CLIP, min(_EXTRA_CLIP, value / scale))


# A word n-gram longer than one word, as scoring looks it up: (its weight, the phrase as evidence may show it --
# "" unless it pushes towards a reply and has no link or mention in it, which read as noise on a reason line).
_Phrase = tuple[float, str]
# A word's followers: next word -> (the pair, the words that can follow the pair -> the triple).
_Pair = tuple[_Phrase, dict[str, _Phrase]]
_Followers = dict[str, _Pair]
# What scoring knows about one token: its vocabulary key, its unigram weight, the sum of its character n-gram
# weights, how many character n-grams it has, its followers, how the customer spelled it, and whether it is a
# word, a negation, an exclamation mark (for the shape cues; packed into one int, _FLAG_BITS bits each, so one
# sum() counts all three). Cached per whitespace-separated chunk of text (tweets reuse "refund?" and "@united"
# endlessly), and laid out so the hot path runs as map() and zip() calls in C.
_TokenInfo = tuple[str, float, float, int, _Followers, str, int]
_FLAG_BITS = 24  # room for 16 million words in one post before the packed counts would spill into each other
_NO_FOLLOWERS: _Followers = {}
_NO_PHRASE: _Phrase = (0.0, "")
_NO_PAIR: _Pair = (_NO_PHRASE, {})
_PAIR = itemgetter(0)
_THIRDS = itemgetter(1)
_WEIGHT = itemgetter(0)
_SHOWN = itemgetter(1)


class _Analysis(NamedTuple):
    """One post run through the model, shared by probability() and evidence() on the same text.

    Per-token facts are kept as columns (one zip(*infos) builds them all), which is cheaper in CPython than one
    map() per fact.
    """

    keys: tuple[str, ...]
    unigrams: tuple[float, ...]  # each token's word weight
    char_sums: tuple[float, ...]  # the sum of each token's character n-grams' weights
    surfaces: tuple[str, ...]
    phrases: list[_Phrase]  # the word pairs, then the word triples, of the post that the vocabulary knows
    shape: tuple[float, ...]  # the shape cues' values, in _SHAPE_NAMES order (empty when the model has none)
    word_norm: float
    char_norm: float
    z: float  # bias + everything but the extras


_EMPTY = _Analysis((), (), (), (), [], (), 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class LearnedModel:
    """A trained model: everything needed to score, explain and reproduce where it came from.

    Weights are plain dicts keyed by readable features so `evidence` can name them and the file can be reviewed.
    """

    bias: float
    words: Mapping[str, float]
    chars: Mapping[str, float]
    shape: Mapping[str, float]
    extras: Mapping[str, float]
    extra_scales: Mapping[str, float]
    settings: FeatureSettings = FeatureSettings()
    rows: int = 0
    date: str = ""
    source: str = ""
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    _followers: dict[str, _Followers] = field(default_factory=dict, init=False, repr=False, compare=False)
    _shape_weights: list[float] = field(default_factory=list, init=False, repr=False, compare=False)
    _extra_table: list[tuple[str, float, float]] = field(default_factory=list, init=False, repr=False, compare=False)
    _token_cache: dict[str, _TokenInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    _chunk_cache: dict[str, tuple[_TokenInfo, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _last: list[tuple[str, _Analysis] | None] = field(
        default_factory=lambda: [None], init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, weight in self.extras.items():
            scale = self.extra_scales.get(name, 0.0)
            if not scale > 0:
                raise ValueError(f"the extra {name!r} has no positive scale in extra_scales")
            self._extra_table.append((name, weight, scale))
        if self.settings.shape and any(self.shape.values()):
            self._shape_weights.extend(self.shape.get(name, 0.0) for name in _SHAPE_NAMES)
        # Word pairs and triples indexed by their first words, so scoring looks them up without building strings.
        for gram, weight in sorted(self.words.items(), key=lambda item: item[0].count(" ")):
            parts = gram.split(" ")
            if len(parts) > 1:
                phrase = (weight, "" if weight <= 0 or "<url>" in parts or "<user>" in parts else gram)
                seconds = self._followers.setdefault(parts[0], {})
                if len(parts) == 2:
                    seconds[parts[1]] = (phrase, {})
                elif len(parts) == 3:
                    seconds.setdefault(parts[1], (_NO_PHRASE, {}))[1][parts[2]] = phrase

    # ------------------------------------------------------------------ scoring

    def _token_info(self, raw: str) -> _TokenInfo:
        info = self._token_cache.get(raw)
        if info is None:
            key = _token_key(raw)
            char_sum, char_count = 0.0, 0
            if key[0].isalpha() and self.settings.char_max:
                grams = list(_char_grams(key, self.settings.char_min, self.settings.char_max))
                char_sum, char_count = sum(self.chars.get(g, 0.0) for g in grams), len(grams)
            followers = self._followers.get(key, _NO_FOLLOWERS)
            flags = _is_word(key) | _is_negation(key) << _FLAG_BITS | (key == "!") << 2 * _FLAG_BITS
            info = (key, self.words.get(key, 0.0), char_sum, char_count, followers, _surface(raw), flags)
            if len(self._token_cache) >= _TOKEN_CACHE_LIMIT:  # a post without spaces can hold many tokens
                self._token_cache.clear()
            self._token_cache[raw] = info
        return info

    def _chunk_infos(self, chunk: str) -> tuple[_TokenInfo, ...]:
        """Tokenising a whitespace-separated chunk alone gives what tokenising the whole post would give there."""
        if len(self._chunk_cache) >= _TOKEN_CACHE_LIMIT:
            self._chunk_cache.clear()
        infos = tuple(map(self._token_info, _raw_tokens(chunk)))
        self._chunk_cache[chunk] = infos
        return infos

    def _analyse(self, text: str) -> _Analysis:
        """The hot path: split on whitespace, then cached lookups per chunk and per word pair, all inside map()."""
        last = self._last[0]  # one read of one tuple: safe when several threads score at once
        if last is not None and last[0] == text:
            return last[1]
        chunks = text.lower().split()
        try:
            infos = list(chain.from_iterable(map(self._chunk_cache.__getitem__, chunks)))
        except KeyError:  # a chunk never seen before: tokenise it, once
            cache = self._chunk_cache
            infos = list(chain.from_iterable(cache[c] if c in cache else self._chunk_infos(c) for c in chunks))
        if not infos:
            nothing = _shape_values(0, 0, 0, False) if self._shape_weights else ()
            analysis = _EMPTY._replace(shape=nothing, z=self.bias + self._shape_z(nothing))
            self._last[0] = (text, analysis)
            return analysis
        # No strict= on the hot path's zips: the lengths are equal by construction, and a keyword costs time here.
        keys, unigrams, char_sums, char_counts, followers, surfaces, flags = zip(*infos)  # noqa: B905
        n = len(keys)
        order = self.settings.word_ngrams
        z_words = sum(unigrams)
        phrases: list[_Phrase] = []
        if order > 1 and n > 1:
            seconds = list(map(dict.get, followers, keys[1:], repeat(_NO_PAIR)))
            phrases = list(map(_PAIR, seconds))
            if order > 2 and n > 2:
                phrases.extend(map(dict.get, map(_THIRDS, seconds), keys[2:], repeat(_NO_PHRASE)))
            z_words += sum(map(_WEIGHT, phrases))
        n_words = n if order == 1 else 2 * n - 1 if order == 2 or n == 1 else 3 * n - 3  # grams of 1..order words
        n_chars = sum(char_counts)
        word_norm = 1.0 / math.sqrt(n_words)
        char_norm = 1.0 / math.sqrt(n_chars) if n_chars else 0.0
        z = self.bias + z_words * word_norm + sum(char_sums) * char_norm
        shape: tuple[float, ...] = ()
        if self._shape_weights:
            packed, mask = sum(flags), (1 << _FLAG_BITS) - 1
            words, negations, exclamations = packed & mask, packed >> _FLAG_BITS & mask, packed >> 2 * _FLAG_BITS
            last = keys[-1]  # most posts end with a word or a mark; only a trailing link or mention needs a search
            question = last == "?" if last != "<url>" and last != "<user>" else _ends_with_question(keys)
            shape = _shape_values(words, negations, exclamations, question)
            z += sum(map(mul, self._shape_weights, shape))
        # tuple.__new__ rather than _Analysis(...): the same object without the NamedTuple's Python-level __new__
        analysis = tuple.__new__(
            _Analysis, (keys, unigrams, char_sums, surfaces, phrases, shape, word_norm, char_norm, z)
        )
        self._last[0] = (text, analysis)
        return analysis

    def _shape_z(self, shape: tuple[float, ...]) -> float:
        return sum(map(mul, self._shape_weights, shape)) if self._shape_weights else 0.0

    def _extra_terms(self, extra: Mapping[str, float] | None) -> list[tuple[str, float]]:
        """Each extra the model knows, as (name, what it adds to the logit)."""
        terms = []
        if extra:
            for name, weight, scale in self._extra_table:
                value = extra.get(name)
                # Missing or non-finite: "no information", rather than failing the triage of a live post.
                if value is not None and math.isfinite(value):
                    x = value / scale
                    terms.append(
                        (name, weight * (x if -_EXTRA_CLIP <= x <= _EXTRA_CLIP else math.copysign(_EXTRA_CLIP, x)))
                    )
        return terms

    def logit(self, text: str, extra: Mapping[str, float] | None = None) -> float:
        """The raw linear score, for callers that add rule cues before squashing it into a probability."""
        z = self._analyse(text).z
        if extra:
            for name, weight, scale in self._extra_table:  # _extra_terms, summed, without its list
                value = extra.get(name)
                if value is not None and math.isfinite(value):
                    x = value / scale
                    z += weight * (x if -_EXTRA_CLIP <= x <= _EXTRA_CLIP else math.copysign(_EXTRA_CLIP, x))
        return z

    def probability(self, text: str, extra: Mapping[str, float] | None = None) -> float:
        """P(needs a reply) in [0, 1]; named extras the model was not trained on are ignored."""
        return _sigmoid(self.logit(text, extra))

    def evidence(self, text: str, extra: Mapping[str, float] | None = None, limit: int = 3) -> list[str]:
        """Short human words for a reason line: what pushed this post most towards "needs a reply".

        A character n-gram is credited to the word it came from, so staff read "'refund'", never " ref".
        A phrase and a word inside it are not both shown: whichever pushed harder speaks for both.
        """
        if limit <= 0:
            return []
        a = self._analyse(text)
        word_norm, char_norm = a.word_norm, a.char_norm
        totals: dict[str, float] = {}
        get = totals.get
        for key, unigram, char_sum in zip(a.keys, a.unigrams, a.char_sums):  # noqa: B905
            amount = unigram * word_norm + char_sum * char_norm
            if amount > 0:
                totals[key] = get(key, 0.0) + amount
        for weight, shown in a.phrases:
            if shown:  # a phrase that pushes towards a reply and reads well
                totals[shown] = get(shown, 0.0) + weight * word_norm
        labels: dict[str, str] = {}  # the cues' names, which are not the post's words
        for key, weight, value in zip(_SHAPE_KEYS, self._shape_weights, a.shape):  # noqa: B905
            if weight * value > 0:
                totals[key] = weight * value
                labels[key] = _SHAPE_LABELS[key[2:]] if value > 0 else "a short message"
        for name, term in self._extra_terms(extra):
            if term > 0:
                totals["x:" + name] = term
                labels["x:" + name] = name

        chosen: list[str] = []
        seen: set[str] = set()
        # Everything in `totals` pushes towards a reply. A stable sort: equal pushes keep the post's order.
        for key in sorted(totals, key=totals.__getitem__, reverse=True):
            label = labels.get(key)
            if label is None:
                members = key.split(" ")
                if not seen.isdisjoint(members):
                    continue
                seen.update(members)
                if len(members) == 1:
                    label = _PLACEHOLDER_LABELS.get(key) or f"'{a.surfaces[a.keys.index(key)]}'"
                else:
                    start = _phrases(a.keys, len(members)).index(key)
                    label = _quote(a.surfaces[start : start + len(members)])
            chosen.append(label)
            if len(chosen) >= limit:
                break
        return chosen

    # ------------------------------------------------------------------ the file

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "format": FORMAT,
            "version": self.format_version,
            "settings": {
                "word_ngrams": s.word_ngrams,
                "char_min": s.char_min,
                "char_max": s.char_max,
                "shape": s.shape,
            },
            "bias": self.bias,
            "weights": {
                "words": dict(self.words),
                "chars": dict(self.chars),
                "shape": dict(self.shape),
                "extras": dict(self.extras),
            },
            "extra_scales": dict(self.extra_scales),
            "training": {
                "rows": self.rows,
                "date": self.date,
                "source": self.source,
                "hyperparameters": dict(self.hyperparameters),
            },
        }

    def to_json(self) -> str:
        """Sorted keys and one weight per line: two trainings on the same data give the same bytes and a clean diff."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> None:
        """Write through a temporary file and os.replace, so a crash never leaves a half-written model to load."""
        target = Path(path)
        data = self.to_json().encode("utf-8")
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp makes the file private; a model replaces one in place, so it keeps that file's mode
            os.chmod(temp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
            os.replace(temp, target)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp)
            raise

    @classmethod
    def from_json(cls, text: str, origin: str = "the model") -> LearnedModel:
        """Parse and validate; every problem becomes one ModelFileError sentence naming `origin`."""
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except _NonFinite as error:
            raise ModelFileError(
                f"Triage model file {origin} contains {error}, which is not a finite number."
            ) from None
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            raise ModelFileError(f"Triage model file {origin} is not valid JSON ({error.msg} at {where}).") from None
        problem = _check_document(data)
        if problem:
            raise ModelFileError(f"Triage model file {origin} {problem}.")
        settings = data["settings"]
        weights = data["weights"]
        training = data["training"]
        return cls(
            bias=float(data["bias"]),
            words={k: float(v) for k, v in weights["words"].items()},
            chars={k: float(v) for k, v in weights["chars"].items()},
            shape={k: float(v) for k, v in weights["shape"].items()},
            extras={k: float(v) for k, v in weights["extras"].items()},
            extra_scales={k: float(v) for k, v in data["extra_scales"].items()},
            settings=FeatureSettings(**settings),
            rows=training["rows"],
            date=training["date"],
            source=training["source"],
            hyperparameters=dict(training["hyperparameters"]),
            format_version=data["version"],
        )

    @classmethod
    def load(cls, path: str | Path) -> LearnedModel:
        """Read a model file; any problem is one ModelFileError sentence a person can act on, never a traceback."""
        where = str(path)
        text = team_files.read_text(Path(path), where=f"Triage model file {where}", kind="model", error=ModelFileError)
        return cls.from_json(text, where)


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_weights(table: object, what: str) -> str | None:
    if not isinstance(table, dict):
        return f"has {what} weights that are not a JSON object"
    for key, value in table.items():
        if not _is_number(value):
            return f"has a {what} weight for {key!r} that is not a finite number ({value!r})"
    return None


def _check_document(data: object) -> str | None:
    """What is wrong with a parsed model file, phrased to follow "Triage model file X", or None."""
    if not isinstance(data, dict):
        return "is not a triage model (it is JSON, but not an object)"
    if data.get("format") != FORMAT:
        return f"has format {data.get('format')!r}, expected {FORMAT!r}"
    if data.get("version") != FORMAT_VERSION or isinstance(data.get("version"), bool):
        return f"has version {data.get('version')!r}, but this bot reads version {FORMAT_VERSION}"
    missing = [k for k in ("settings", "bias", "weights", "extra_scales", "training") if k not in data]
    if missing:
        return f"lacks the field {missing[0]!r}"
    settings = data["settings"]
    if not isinstance(settings, dict):
        return "has settings that are not a JSON object"
    known = {"word_ngrams": int, "char_min": int, "char_max": int, "shape": bool}
    if set(settings) != set(known):
        unknown = sorted(set(settings) - set(known)) or sorted(set(known) - set(settings))
        return f"has unknown or missing settings ({', '.join(unknown)})"
    for key, kind in known.items():
        value = settings[key]
        if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            return f"has a setting {key} that is not a whole number ({value!r})"
        if kind is bool and not isinstance(value, bool):
            return f"has a setting {key} that is not true or false ({value!r})"
    problem = FeatureSettings(**settings).check()
    if problem:
        return f"has unusable settings ({problem})"
    if not _is_number(data["bias"]):
        return f"has a bias that is not a finite number ({data['bias']!r})"
    weights = data["weights"]
    if not isinstance(weights, dict) or set(weights) != {"words", "chars", "shape", "extras"}:
        return "has weights that are not the four tables words, chars, shape and extras"
    for what in ("words", "chars", "shape", "extras"):
        problem = _check_weights(weights[what], what)
        if problem:
            return problem
    unknown_shape = sorted(set(weights["shape"]) - set(_SHAPE_LABELS))
    if unknown_shape:
        return f"has a weight for the unknown shape cue {unknown_shape[0]!r}"
    scales = data["extra_scales"]
    if not isinstance(scales, dict) or set(scales) != set(weights["extras"]):
        return "has extra_scales that do not match its extra weights"
    for key, value in scales.items():
        if not _is_number(value) or value <= 0:
            return f"has a scale for the extra {key!r} that is not a positive number ({value!r})"
    training = data["training"]
    if not isinstance(training, dict):
        return "has training details that are not a JSON object"
    rows = training.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        return f"has a training row count that is not a whole number ({rows!r})"
    for key in ("date", "source"):
        if not isinstance(training.get(key), str):
            return f"has a training {key} that is not text"
    if not isinstance(training.get("hyperparameters"), dict):
        return "has training hyperparameters that are not a JSON object"
    return None


# --------------------------------------------------------------------------------------------------- training

# fit()'s hyperparameters. The defaults won a one-setting-at-a-time search in benchmarks/triage_learn_experiment.py
# --tune: leave-one-airline-out on the development airlines of the Crowdflower airline tweets, judged by the
# precision at recall >= 0.95 the model would have at a 50/50 base rate (0.719, mean of three folds; AUC 0.917).
# Naive-Bayes scaling (+0.013), character n-grams (+0.013 over none), word triples (+0.003 over pairs) and the
# shape cues (+0.006) each earned their place; every other value tried was within the folds' noise (0.002) or worse.
_SETTINGS = FeatureSettings()
DEFAULTS: dict[str, Any] = {
    "word_ngrams": _SETTINGS.word_ngrams,  # longest word n-gram: words, pairs ("still waiting"), triples
    "char_min": _SETTINGS.char_min,  # character n-grams within each word, padded with a space at both ends
    "char_max": _SETTINGS.char_max,  # 0 turns them off
    "shape": _SETTINGS.shape,  # ends with a question, exclamation marks, negations, length
    "nb": True,  # scale each n-gram by its Naive-Bayes log-count ratio before the regression (NBSVM-style)
    "min_count": 2,  # an n-gram must occur in this many training posts to enter the vocabulary
    "l2": 1e-4,  # L2 penalty, applied to the features each post has
    "epochs": 8,  # passes over the training posts
    "learning_rate": 0.2,  # AdaGrad's base step
    "average": False,  # average the weights over all steps instead of keeping the last
    "balance": True,  # weigh both classes equally, whatever their share of the training posts
    "prune": 1e-3,  # drop weights smaller than this from the file
    "seed": 13,  # the order posts are visited in; the same seed gives the same file
}


def _hyperparameters(given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"fit() got unknown hyperparameters {unknown}; known are {sorted(DEFAULTS)}")
    chosen = {**DEFAULTS, **given}
    for key, default in DEFAULTS.items():
        value = chosen[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"hyperparameter {key} must be true or false, not {value!r}")
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"hyperparameter {key} must be a whole number >= 0, not {value!r}")
        elif not _is_number(value) or value < 0:
            raise ValueError(f"hyperparameter {key} must be a finite number >= 0, not {value!r}")
    if chosen["learning_rate"] <= 0:
        raise ValueError("hyperparameter learning_rate must be above 0")
    return chosen


def _round(value: float) -> float:
    """Six significant digits: the file stays small and readable, and scores move by far less than noise."""
    return float(f"{value:.6g}")


def _adagrad(
    data: Sequence[tuple[list[int], list[float]]],
    ys: Sequence[float],
    weights: Sequence[float],
    size: int,
    hp: Mapping[str, Any],
) -> tuple[list[float], float]:
    """AdaGrad on the weighted logistic loss; L2 is applied to the features a row has, when it has them.

    With hp["average"] the result is the average of the weights over every step (Daume's trick: u collects
    step-weighted updates, the average is w - u / steps), which is steadier than the last step of a noisy SGD.
    Rows the model already gets right with confidence (|gradient| < 1e-4) are skipped: their update is noise.
    """
    w = [0.0] * size
    u = [0.0] * size
    grad_sq = [0.1] * size
    bias = bias_u = 0.0
    bias_sq = 0.1
    lr, l2, average = float(hp["learning_rate"]), float(hp["l2"]), bool(hp["average"])
    rng = random.Random(hp["seed"])
    order = list(range(len(data)))
    sqrt, exp = math.sqrt, math.exp
    step = 0
    for _ in range(hp["epochs"]):
        rng.shuffle(order)
        for r in order:
            step += 1
            idx, val = data[r]
            z = bias + sum(map(mul, map(w.__getitem__, idx), val))
            p = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
            g = (p - ys[r]) * weights[r]
            if -1e-4 < g < 1e-4:
                continue
            for i, v in zip(idx, val, strict=True):
                gi = g * v + l2 * w[i]
                grad_sq[i] += gi * gi
                delta = lr * gi / sqrt(grad_sq[i])
                w[i] -= delta
                if average:
                    u[i] -= step * delta
            bias_sq += g * g
            delta = lr * g / sqrt(bias_sq)
            bias -= delta
            bias_u -= step * delta
    if average and step:
        return [wi - ui / step for wi, ui in zip(w, u, strict=True)], bias - bias_u / step
    return w, bias


def fit(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    extras: Sequence[Mapping[str, float]] | None = None,
    sample_weights: Sequence[float] | None = None,
    source: str = "",
    date: str = "",
    **hyperparameters: Any,
) -> LearnedModel:
    """Train by AdaGrad SGD on the logistic loss with L2; deterministic for the same inputs and seed.

    Why SGD in pure Python: a few passes over ~9,000 tweets take seconds, need no numpy, and sparse updates
    touch only the features a post has. Classes are balanced by default because the desk's history is
    dominated by complaints and the ranking, not the base rate, is what the policy needs.
    `date` is stored as given (not read from the clock) so that training twice gives the same file.
    """
    hp = _hyperparameters(hyperparameters)
    settings = FeatureSettings(
        word_ngrams=hp["word_ngrams"],
        char_min=hp["char_min"],
        char_max=hp["char_max"],
        shape=hp["shape"],
    )
    problem = settings.check()
    if problem:
        raise ValueError(problem)
    n = len(texts)
    if len(labels) != n:
        raise ValueError(f"fit() got {n} texts but {len(labels)} labels")
    if extras is not None and len(extras) != n:
        raise ValueError(f"fit() got {n} texts but {len(extras)} rows of extras")
    if sample_weights is not None and len(sample_weights) != n:
        raise ValueError(f"fit() got {n} texts but {len(sample_weights)} sample weights")
    ys = [1.0 if label else 0.0 for label in labels]
    weights = [1.0] * n if sample_weights is None else [float(w) for w in sample_weights]
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("sample weights must be finite and >= 0")
    positive = sum(w for w, y in zip(weights, ys, strict=True) if y)
    negative = sum(w for w, y in zip(weights, ys, strict=True) if not y)
    if positive <= 0 or negative <= 0:
        raise ValueError("fit() needs weighted examples of both classes (needs a reply, and not)")
    if hp["balance"]:
        total = positive + negative
        weights = [w * total / (2 * (positive if y else negative)) for w, y in zip(weights, ys, strict=True)]

    # Features per row; names carry their table's prefix ("w:", "c:", "s:", "x:") until the model is built.
    rows = [_features(text, settings) for text in texts]
    scales: dict[str, float] = {}
    if extras is not None:
        for extra in extras:
            for name, value in extra.items():
                if not math.isfinite(value):
                    raise ValueError(f"extra {name!r} has a non-finite value {value!r}")
                scales[name] = max(scales.get(name, 0.0), abs(float(value)))
        scales = {name: _round(scale) for name, scale in scales.items() if scale > 0}
        for row, extra in zip(rows, extras, strict=True):
            for name, value in extra.items():
                if name in scales and value:
                    row["x:" + name] = _scaled_extra(float(value), scales[name])

    counts: dict[str, int] = {}
    for row in rows:
        for key in row:
            counts[key] = counts.get(key, 0) + 1
    vocabulary = sorted(k for k, c in counts.items() if c >= hp["min_count"] or k[0] in "sx")
    index = {key: i for i, key in enumerate(vocabulary)}

    # Naive-Bayes scaling (Wang & Manning 2012): each feature's value times its log-count ratio, so rare but
    # telling n-grams start with the right sign; the factor is folded into the saved weights.
    ratio = [1.0] * len(vocabulary)
    if hp["nb"]:
        pos = [1.0] * len(vocabulary)
        neg = [1.0] * len(vocabulary)
        for row, y in zip(rows, ys, strict=True):
            target = pos if y else neg
            for key in row:
                i = index.get(key)
                if i is not None:
                    target[i] += 1.0
        pos_total, neg_total = sum(pos), sum(neg)
        ratio = [
            1.0 if vocabulary[i][0] in "sx" else abs(math.log((pos[i] / pos_total) / (neg[i] / neg_total)))
            for i in range(len(vocabulary))
        ]

    data: list[tuple[list[int], list[float]]] = []
    for row in rows:
        idx = [index[k] for k in row if k in index]
        data.append((idx, [row[vocabulary[i]] * ratio[i] for i in idx]))

    w, bias = _adagrad(data, ys, weights, len(vocabulary), hp)

    tables: dict[str, dict[str, float]] = {"w": {}, "c": {}, "s": {}, "x": {}}
    for i, key in enumerate(vocabulary):
        value = _round(w[i] * ratio[i])
        if abs(value) >= hp["prune"] and value:
            tables[key[0]][key[2:]] = value
    extra_weights = tables["x"]
    return LearnedModel(
        bias=_round(bias),
        words=tables["w"],
        chars=tables["c"],
        shape=tables["s"],
        extras=extra_weights,
        extra_scales={name: scales[name] for name in extra_weights},
        settings=settings,
        rows=n,
        date=date,
        source=source,
        hyperparameters=hp,
    )
