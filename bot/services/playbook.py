"""The team's playbook: saved replies and the reply coach's rules, read from CARE_PLAYBOOK_FILE (TOML).

Like the triage policy (bot/services/triage_policy.py), the file is the team's to edit, so every mistake in it (bad
TOML, a reply without text, an unknown placeholder, a phrase list that is not a list) is caught when `care-bot serve`
starts and named in one sentence. A file that leaves a table out keeps the shipped default's
(bot/services/playbook.toml), so a team's copy holds only what it changes.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.clock import as_utc
from bot.services import team_files
from bot.services.team_files import FileProblem, known
from bot.sla import SlaPolicy

DEFAULT_FILE = Path(__file__).with_name("playbook.toml")
SETTING = "CARE_PLAYBOOK_FILE"
FORMAT = 1
PLACEHOLDERS = ("customer", "agent", "case", "due", "contact")
MAX_REPLIES = 100  # a static_select holds at most 100 options
TITLE_LIMIT = 75  # an option's text
TEXT_LIMIT = 2000
# The coach's rules that a team may switch off, each with the settings of its [coach.<rule>] table.
RULE_KEYS: dict[str, set[str]] = {
    "greeting": {"on", "words", "within"},
    "sign_off": {"on"},
    "excuses": {"on", "phrases"},
    "shouting": {"on", "min_words", "allowed"},
    "link_on_x": {"on"},
    "repeat_request": {"on", "phrases"},
    "vague_promise": {"on", "phrases", "time_words", "time_patterns"},
}
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_PLATFORM = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ALIASES = {"x": "twitter", "twitter": "x"}  # the same platform under its two names


# -- matching ---------------------------------------------------------------------------------------------------------
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "cannot"),
    (re.compile(r"\b(it|that|there|here|what|who)'s\b"), r"\1 is"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"'d\b"), " would"),
)


def normalise(text: str) -> str:
    """Text as the coach reads it: lower case, one kind of apostrophe, contractions spelt out, single spaces."""
    text = text.translate(_APOSTROPHES).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Phrases:
    """Words and phrases matched as whole words in normalised text; `find` names the one found as the team wrote it."""

    written: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    _by_form: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, phrases: list[str]) -> Phrases:
        forms = {normalise(p): p.strip() for p in phrases}
        if not forms:
            return cls()
        alternatives = "|".join(r"\s+".join(map(re.escape, f.split())) for f in sorted(forms, key=len, reverse=True))
        return cls(tuple(p.strip() for p in phrases), re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), forms)

    def find(self, normalised: str) -> str | None:
        found = self.pattern.search(normalised) if self.pattern else None
        return self._by_form.get(" ".join(found.group().split()), found.group()) if found else None


@dataclass(frozen=True)
class CoachRules:
    """What the coach checks (bot/services/coach.py), as the playbook's [coach] tables set it."""

    enabled: frozenset[str] = frozenset(RULE_KEYS)
    greeting_words: Phrases = field(default_factory=Phrases)
    greeting_within: int = 6
    excuses: Phrases = field(default_factory=Phrases)
    shouting_min_words: int = 3
    shouting_allowed: frozenset[str] = frozenset()
    repeat_requests: Phrases = field(default_factory=Phrases)
    promises: Phrases = field(default_factory=Phrases)
    time_words: Phrases = field(default_factory=Phrases)
    time_patterns: tuple[re.Pattern[str], ...] = ()

    def on(self, rule: str) -> bool:
        return rule in self.enabled


# -- saved replies ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedReply:
    id: str
    title: str
    text: str
    variants: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, platform: str) -> str:
        """The body for a platform: its variant if the playbook has one (X under either name), else the text."""
        name = platform.lower()
        return self.variants.get(name) or self.variants.get(_ALIASES.get(name, name)) or self.text


@dataclass(frozen=True)
class Names:
    """What the placeholders stand for in one reply."""

    customer: str
    agent: str
    case: str
    due: str
    contact: str


def fill(template: str, names: Names) -> str:
    """A template with its placeholders filled in (the loader has checked it uses only these)."""
    return template.format(**asdict(names))


@dataclass(frozen=True)
class Playbook:
    greeting: str
    sign_off: str
    replies: tuple[SavedReply, ...]
    coach: CoachRules
    source: str = ""

    def reply(self, reply_id: str) -> SavedReply | None:
        return next((r for r in self.replies if r.id == reply_id), None)

    def start(self, names: Names) -> str:
        """A new reply: the greeting, a blank line to write in, the sign-off."""
        return f"{fill(self.greeting, names)}\n\n{fill(self.sign_off, names)}".strip()

    def compose(self, body: str, names: Names, *, current: str, keep: bool) -> str:
        """A saved reply's body in the reply: between the greeting and the sign-off of a fresh reply, or, keeping
        `current`, below what was written (above its sign-off when it ends with one)."""
        greeting, sign_off, body = fill(self.greeting, names), fill(self.sign_off, names), fill(body, names)
        if not keep or not current.strip():
            return "\n".join(part for part in (greeting, body, sign_off) if part)
        text = current.rstrip()
        if sign_off and text.endswith(sign_off) and text[: -len(sign_off)].strip():
            return f"{text[: -len(sign_off)].rstrip()}\n{body}\n{sign_off}"
        return f"{text}\n{body}"


def due_words(policy: SlaPolicy, *, priority: str, now: datetime) -> str:
    """When the customer will hear back, from the first-response target: "within the hour", "within 2 hours", or,
    when business hours stop the clock first, the moment: "by 17:00 today", "by tomorrow 09:00", "by Monday 09:30"."""
    target = policy.targets(priority).first_response
    now = as_utc(now)
    due = policy.due(now, target)
    if due - now <= target + timedelta(minutes=1):
        return _within(target)
    tz = policy.hours.tz
    local_due, today = due.astimezone(tz), now.astimezone(tz).date()
    clock, days = f"{local_due:%H:%M}", (local_due.date() - today).days
    if days == 0:
        return f"by {clock} today"
    if days == 1:
        return f"by tomorrow {clock}"
    if days < 7:
        return f"by {local_due:%A} {clock}"
    return f"by {local_due.day} {local_due:%B} {clock}"


def _within(span: timedelta) -> str:
    minutes = math.ceil(span.total_seconds() / 60)
    if minutes <= 30:
        return f"within {minutes} minute{'s' if minutes != 1 else ''}"
    if minutes <= 60:
        return "within the hour"
    hours = math.ceil(minutes / 60)
    if hours < 48:
        return f"within {hours} hours"
    return f"within {math.ceil(hours / 24)} days"


# -- loading ----------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def default() -> Playbook:
    """The playbook shipped in the package (read once)."""
    return load(DEFAULT_FILE, setting="the default playbook")


def configured(path: Path | None) -> Playbook:
    """The playbook CARE_PLAYBOOK_FILE names (the shipped default when unset); a ConfigError in one sentence when it
    cannot be used. Read once per path: `care-bot serve` reads it at start, so a mistake stops it there."""
    return default() if path is None else _read(path)


@lru_cache(maxsize=8)
def _read(path: Path) -> Playbook:
    return load(path)


def load(path: Path, *, setting: str = SETTING) -> Playbook:
    """The playbook in `path`; a ConfigError in one sentence when it cannot be used."""
    where = f"{setting} ({path})" if setting == SETTING else setting
    return team_files.read(
        path,
        where=where,
        kind="playbook",
        parse=lambda data: parse(data, source=str(path), base=None if setting != SETTING else default()),
    )


def parse(data: Mapping[str, Any], *, source: str, base: Playbook | None) -> Playbook:
    """A playbook from parsed TOML; what it leaves out comes from `base` (None: nothing may be left out)."""
    known(data, {"format", "compose", "replies", "coach"}, "the file")
    if data.get("format") != FORMAT:
        raise FileProblem(
            f"format must be {FORMAT} (the playbook format this version reads), got {data.get('format')!r}."
        )
    compose = team_files.table(data, "compose", "[compose]")
    known(compose, {"greeting", "sign_off"}, "[compose]")
    greeting = _template(compose, "greeting", "[compose]", base.greeting if base else None, empty=True)
    sign_off = _template(compose, "sign_off", "[compose]", base.sign_off if base else None, empty=True)
    replies = _replies(data.get("replies")) if "replies" in data or base is None else base.replies
    coach = _coach(team_files.table(data, "coach", "[coach]"), base.coach if base else None)
    return Playbook(greeting=greeting, sign_off=sign_off, replies=replies, coach=coach, source=source)


def _replies(found: object) -> tuple[SavedReply, ...]:
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise FileProblem("replies must be a list of [[replies]] tables.")
    if len(found) > MAX_REPLIES:
        raise FileProblem(f"there are {len(found)} saved replies; the Reply modal's menu holds at most {MAX_REPLIES}.")
    replies: list[SavedReply] = []
    for n, table in enumerate(found, start=1):
        reply_id = table.get("id")
        if not isinstance(reply_id, str) or not _ID.fullmatch(reply_id):
            raise FileProblem(
                f"[[replies]] number {n} needs an id of lower-case letters, digits, _ and - (at most 40), "
                f"got {reply_id!r}."
            )
        where = f"[[replies]] {reply_id!r}"
        known(table, {"id", "title", "text", "variants"}, where)
        if any(r.id == reply_id for r in replies):
            raise FileProblem(f"{where} appears twice: each saved reply needs an id of its own.")
        title = table.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > TITLE_LIMIT:
            raise FileProblem(f"{where} needs a title of 1 to {TITLE_LIMIT} characters, got {title!r}.")
        if "text" not in table:
            raise FileProblem(f"{where} needs a text.")
        text = _template(table, "text", where, None)
        variants = team_files.table(table, "variants", f"{where} variants")
        for platform in variants:
            if not _PLATFORM.fullmatch(platform):
                raise FileProblem(f"{where} has a variant for {platform!r}, which is not a platform name like twitter.")
        replies.append(
            SavedReply(
                id=reply_id,
                title=title.strip(),
                text=text,
                variants={p: _template(variants, p, f"{where} variant {p!r}", None) for p in variants},
            )
        )
    return tuple(replies)


def _coach(table: Mapping[str, Any], base: CoachRules | None) -> CoachRules:
    known(table, {"on", *RULE_KEYS}, "[coach]")
    rules: dict[str, dict[str, Any]] = {}
    for rule, keys in RULE_KEYS.items():
        rules[rule] = team_files.table(table, rule, f"[coach.{rule}]")
        known(rules[rule], keys, f"[coach.{rule}]")
    enabled = {
        rule
        for rule in RULE_KEYS
        if _flag(rules[rule], "on", f"[coach.{rule}]", base.on(rule) if base else True)
        and _flag(table, "on", "[coach]", True)
    }

    def phrases(rule: str, key: str, inherited: Phrases | None) -> Phrases:
        where = f"[coach.{rule}] {key}"
        if key not in rules[rule] and inherited is not None:
            return inherited
        return Phrases.of(_texts(rules[rule], key, where))

    greeting, shouting = rules["greeting"], rules["shouting"]
    promise = rules["vague_promise"]
    if "time_patterns" in promise or base is None:
        where = "[coach.vague_promise] time_patterns"
        patterns = tuple(_pattern(p, where) for p in _texts(promise, "time_patterns", where))
    else:
        patterns = base.time_patterns
    return CoachRules(
        enabled=frozenset(enabled),
        greeting_words=phrases("greeting", "words", base.greeting_words if base else None),
        greeting_within=_count(greeting, "within", "[coach.greeting]", base.greeting_within if base else 6),
        excuses=phrases("excuses", "phrases", base.excuses if base else None),
        shouting_min_words=_count(shouting, "min_words", "[coach.shouting]", base.shouting_min_words if base else 3),
        shouting_allowed=(
            frozenset(w.strip().upper() for w in _texts(shouting, "allowed", "[coach.shouting] allowed"))
            if "allowed" in shouting or base is None
            else base.shouting_allowed
        ),
        repeat_requests=phrases("repeat_request", "phrases", base.repeat_requests if base else None),
        promises=phrases("vague_promise", "phrases", base.promises if base else None),
        time_words=phrases("vague_promise", "time_words", base.time_words if base else None),
        time_patterns=patterns,
    )


def _template(table: Mapping[str, Any], key: str, where: str, inherited: str | None, *, empty: bool = False) -> str:
    """A text with placeholders, checked now so that filling it in later cannot fail."""
    if key not in table and inherited is not None:
        return inherited
    value = table.get(key)
    if not isinstance(value, str) or (not value.strip() and not empty) or len(value) > TEXT_LIMIT:
        raise FileProblem(f"{where} {key} must be a text of 1 to {TEXT_LIMIT} characters, got {_shown(value)}.")
    allowed = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS[:-1]) + f" and {{{PLACEHOLDERS[-1]}}}"
    try:
        parsed = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(value)]
    except ValueError as exc:
        raise FileProblem(f"{where} {key} is not a valid template ({exc}): use {allowed}, {{{{ and }}}}.") from None
    for name, spec, conversion in parsed:
        if name is not None and name not in PLACEHOLDERS:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise FileProblem(f"{where} {key} uses unknown placeholder {{{shown}}}: only {allowed} are available.")
        if spec or conversion:
            raise FileProblem(f"{where} {key} uses a placeholder with a format ({value!r}): write just {allowed}.")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _pattern(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise FileProblem(f"{where} {text!r} is not a regular expression: {exc}.") from None


def _flag(table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise FileProblem(f"{where} {key} must be true or false, got {_shown(value)}.")
    return value


def _count(table: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if type(value) is not int or not 1 <= value <= 50:
        raise FileProblem(f"{where} {key} must be a whole number from 1 to 50, got {_shown(value)}.")
    return value


def _texts(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    values = table.get(key)
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in values):
        raise FileProblem(f"{where} must be a list of non-empty texts (each at most 200 characters).")
    return values
