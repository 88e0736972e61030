"""The learned layer of the triage policy: a small logistic regression over word and character n-grams.

Why a learned layer: the hand-written cue lists in triage.py miss factual complaints and flag friendly
questions; a linear model trained on the desk's own decisions ranks posts by how likely they need a reply.
Why this shape: a linear model over a named vocabulary (not hashing) can say *why* it scored a post
("'refund'", "'still waiting'"), its file is readable JSON a reviewer can diff, and scoring and training
stay pure Python, so the bot gains no heavy dependency and a test run stays fast.

Scoring is linear, so what a word contributes (its weight and its character n-grams' weights) is summed once and
cached per token, and tokenising is cached per whitespace-separated chunk; that is what keeps `probability` +
`evidence` above 20,000 tweets per second on one core in pure Python.
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
from itertools import chain, compress, count, repeat
from operator import add, gt, itemgetter, mul
from pathlib import Path
from typing import Any, cast

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

    word_ngrams: int = 2
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


def _word_gram_count(n_tokens: int, order: int) -> int:
    return sum(max(0, n_tokens - k + 1) for k in range(1, order + 1))


def _word_grams(toks: Sequence[str], order: int) -> list[str]:
    grams = list(toks)
    for n in range(2, order + 1):
        grams.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


def _shape(toks: Sequence[str]) -> dict[str, float]:
    """Cheap post-level cues the n-grams cannot see, such as whether the post *ends* with a question."""
    content = [t for t in toks if t not in ("<url>", "<user>")]
    words = sum(1 for t in content if _is_word(t))
    negations = sum(1 for t in content if t in _NEGATIONS or t.endswith("n't"))
    return {
        "question_end": 1.0 if content and content[-1] == "?" else 0.0,
        "exclamations": min(content.count("!"), 3) / 3.0,
        "negations": min(negations, 3) / 3.0,
        "length": min(words, 40) / 20.0,
    }


def _features(text: str, settings: FeatureSettings) -> dict[str, float]:
    toks = tokens(text)
    result: dict[str, float] = {}
    grams = _word_grams(toks, settings.word_ngrams)
    if grams:
        scale = 1.0 / math.sqrt(len(grams))
        for gram in grams:
            key = "w:" + gram
            result[key] = result.get(key, 0.0) + scale
    if settings.char_max:
        chars = [g for t in toks if _is_word(t) for g in _char_grams(t, settings.char_min, settings.char_max)]
        if chars:
            scale = 1.0 / math.sqrt(len(chars))
            for gram in chars:
                key = "c:" + gram
                result[key] = result.get(key, 0.0) + scale
    if settings.shape:
        result.update({"s:" + name: value for name, value in _shape(toks).items() if value})
    return result


def features(text: str, settings: FeatureSettings | None = None) -> dict[str, float]:
    """The n-gram features of a text, each group scaled by 1/sqrt(its size) so long posts do not score louder.

    Keys are "w:" word n-grams ("w:still waiting"), "c:" character n-grams with spaces marking word edges
    ("c: ref"), and "s:" shape cues when the settings ask for them. Exposed so tests can pin the representation.
    """
    return _features(text, settings or FeatureSettings())


# --------------------------------------------------------------------------------------------------- the model


def _surface(raw: str) -> str:
    return raw.rstrip("'") or raw


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _scaled_extra(value: float, scale: float) -> float:
    return max(-_EXTRA_CLIP, min(_EXTRA_CLIP, value / scale))


# What scoring knows about one token: its vocabulary key, its unigram weight, the sum of its character n-gram
# weights, how many character n-grams it has, the weights of the word pairs it starts (next word -> weight), and
# how the customer spelled it. Cached per whitespace-separated chunk of text (tweets reuse "refund?" and
# "@united" endlessly), and laid out so the hot path runs as map() calls in C.
_TokenInfo = tuple[str, float, float, int, dict[str, float], str]
_KEY = itemgetter(0)
_UNIGRAM = itemgetter(1)
_CHAR_SUM = itemgetter(2)
_CHAR_COUNT = itemgetter(3)
_FOLLOWERS = itemgetter(4)
_SURFACE = itemgetter(5)
_NO_FOLLOWERS: dict[str, float] = {}


@dataclass(frozen=True)
class _Analysis:
    """One post run through the model, shared by probability() and evidence() on the same text."""

    infos: list[_TokenInfo]
    pairs: list[float]  # weight of the word pair starting at each token
    triples: list[float]  # weight of the word triple starting at each token
    word_norm: float
    char_norm: float
    z: float  # bias + everything but the extras


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
    _followers: dict[str, dict[str, float]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _token_cache: dict[str, _TokenInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    _chunk_cache: dict[str, tuple[_TokenInfo, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _last: list[tuple[str, _Analysis] | None] = field(
        default_factory=lambda: [None], init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Word pairs indexed by their first word, so scoring looks a pair up without building its string.
        for gram, weight in self.words.items():
            first, space, second = gram.partition(" ")
            if space and " " not in second:
                self._followers.setdefault(first, {})[second] = weight

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
            info = (key, self.words.get(key, 0.0), char_sum, char_count, followers, _surface(raw))
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
        parts = list(map(self._chunk_cache.get, chunks))
        if None in parts:
            parts = [part or self._chunk_infos(chunk) for part, chunk in zip(parts, chunks, strict=True)]
        infos: list[_TokenInfo] = list(chain.from_iterable(cast(list[tuple[_TokenInfo, ...]], parts)))
        n = len(infos)
        order = self.settings.word_ngrams
        z_words = sum(map(_UNIGRAM, infos))
        pairs: list[float] = []
        triples: list[float] = []
        if order > 1 and n > 1:
            keys = list(map(_KEY, infos))
            pairs = list(map(dict.get, map(_FOLLOWERS, infos), keys[1:], repeat(0.0)))
            z_words += sum(pairs)
            if order > 2 and n > 2:
                names = map(" ".join, zip(keys, keys[1:], keys[2:], strict=False))
                triples = list(map(self.words.get, names, repeat(0.0)))
                z_words += sum(triples)
        n_words = _word_gram_count(n, order)
        n_chars = sum(map(_CHAR_COUNT, infos))
        word_norm = 1.0 / math.sqrt(n_words) if n_words else 0.0
        char_norm = 1.0 / math.sqrt(n_chars) if n_chars else 0.0
        z = self.bias + z_words * word_norm + sum(map(_CHAR_SUM, infos)) * char_norm
        if self.settings.shape and self.shape:
            z += sum(self.shape.get(name, 0.0) * value for name, value in _shape(list(map(_KEY, infos))).items())
        analysis = _Analysis(infos, pairs, triples, word_norm, char_norm, z)
        self._last[0] = (text, analysis)
        return analysis

    def _extra_terms(self, extra: Mapping[str, float] | None) -> list[tuple[str, float]]:
        if not extra or not self.extras:
            return []
        terms = []
        for name, weight in self.extras.items():
            value = extra.get(name)
            # A missing or non-finite value scores as "no information" rather than crashing triage of a live post.
            if value is None or not math.isfinite(value):
                continue
            terms.append((name, weight * _scaled_extra(float(value), self.extra_scales[name])))
        return terms

    def logit(self, text: str, extra: Mapping[str, float] | None = None) -> float:
        """The raw linear score, for callers that add rule cues before squashing it into a probability."""
        z = self._analyse(text).z
        for _, term in self._extra_terms(extra):
            z += term
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
        infos = a.infos
        word_part = map(mul, map(_UNIGRAM, infos), repeat(a.word_norm))
        char_part = map(mul, map(_CHAR_SUM, infos), repeat(a.char_norm))
        amounts = list(map(add, word_part, char_part))
        totals: dict[str, float] = {}
        first: dict[str, int] = {}  # where a key first occurs, to quote the customer's own spelling
        for i in compress(count(), map(gt, amounts, repeat(0.0))):
            key = infos[i][0]
            if key in totals:
                totals[key] += amounts[i]
            else:
                totals[key] = amounts[i]
                first[key] = i
        pairs = a.pairs
        for i in compress(count(), map(gt, pairs, repeat(0.0))):
            key = infos[i][0] + " " + infos[i + 1][0]
            if "<u" not in key:  # a pair with a link or a mention reads as noise on a reason line
                totals[key] = totals.get(key, 0.0) + pairs[i] * a.word_norm
                first.setdefault(key, i)
        triples = a.triples
        for i in compress(count(), map(gt, triples, repeat(0.0))):
            key = " ".join(map(_KEY, infos[i : i + 3]))
            if "<u" not in key:
                totals[key] = totals.get(key, 0.0) + triples[i] * a.word_norm
                first.setdefault(key, i)
        labels: dict[str, str] = {}
        if self.settings.shape and self.shape:
            for name, value in _shape(list(map(_KEY, infos))).items():
                amount = self.shape.get(name, 0.0) * value
                if amount > 0:
                    totals["s:" + name] = amount
                    labels["s:" + name] = _SHAPE_LABELS[name]
        for name, term in self._extra_terms(extra):
            if term > 0:
                totals["x:" + name] = term
                labels["x:" + name] = name

        chosen: list[str] = []
        seen: set[str] = set()
        # Stable sort: equal pushes keep the order they appear in the post.
        for key in sorted(totals, key=totals.__getitem__, reverse=True):
            members = key.split(" ")
            if not seen.isdisjoint(members):
                continue
            seen.update(members)
            label = labels.get(key)
            if label is None:
                start = first[key]
                quoted = " ".join(map(_SURFACE, a.infos[start : start + len(members)]))
                label = _PLACEHOLDER_LABELS.get(key) or f"'{quoted}'"
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
        target = Path(path)
        if target.is_dir():
            raise ModelFileError(f"Triage model file {where} is a directory, not a model file.")
        try:
            raw = target.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(f"Triage model file {where} does not exist.") from None
        except OSError as error:
            raise ModelFileError(f"Triage model file {where} cannot be read ({error.strerror or error}).") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelFileError(f"Triage model file {where} is not UTF-8 text, so it cannot be a model.") from None
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

# The defaults were chosen by benchmarks/triage_learn_experiment.py (leave-one-airline-out on the development
# airlines of the Crowdflower airline tweets); see that script for the figures.
_SETTINGS = FeatureSettings()
DEFAULTS: dict[str, Any] = {
    "word_ngrams": _SETTINGS.word_ngrams,
    "char_min": _SETTINGS.char_min,
    "char_max": _SETTINGS.char_max,
    "shape": _SETTINGS.shape,
    "nb": True,
    "min_count": 2,
    "l2": 1e-4,
    "epochs": 8,
    "learning_rate": 0.2,
    "average": False,
    "balance": True,
    "prune": 1e-3,
    "seed": 13,
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
        word_ngrams=hp["word_ngrams"], char_min=hp["char_min"], char_max=hp["char_max"], shape=hp["shape"]
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
