"""The reply coach: reads a draft against the team's rules (the playbook's [coach]) before it reaches a customer.

Pure functions, text and facts in and advice out, so a modal submission can run them before its acknowledgement.
Advice is a rule id and a plain reason. Only a reply over the platform's limit is `blocking` (the platform would
refuse it); everything else the person writing may send anyway, having seen it once: `fingerprint` tells the draft
they saw from an edited one, which is checked again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.services.playbook import CoachRules, normalise
from connectors.base import LengthRule
from connectors.x import contains_link

LENGTH, GREETING, SIGN_OFF, EXCUSES = "length", "greeting", "sign_off", "excuses"
SHOUTING, LINK_ON_X, REPEAT_REQUEST, VAGUE_PROMISE = "shouting", "link_on_x", "repeat_request", "vague_promise"
# What the modal calls each rule, in the order the coach reads a draft.
TITLES = {
    LENGTH: "Too long",
    GREETING: "No greeting by name",
    SIGN_OFF: "Not signed",
    EXCUSES: "Excuse or blame",
    SHOUTING: "All caps",
    LINK_ON_X: "A link on X",
    REPEAT_REQUEST: "Asks them to repeat themselves",
    VAGUE_PROMISE: "A promise with no time",
}
X_PLATFORMS = ("twitter", "x")
UNKNOWN_AGENT = "the care team"  # what Runtime.first_name answers when Slack cannot say: nobody to sign as
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_EDGE = "\"'“”‘’«»()[]{}<>.,;:!?…–—-*_~`/\\|"


@dataclass(frozen=True)
class Advice:
    rule: str
    reason: str
    blocking: bool = False  # the platform would refuse it: never sent anyway
    about: str = ""  # which text, where a modal has two ("Public reply", "Private message")

    @property
    def title(self) -> str:
        return TITLES.get(self.rule, self.rule)


@dataclass(frozen=True)
class Draft:
    """A text about to reach a customer, and what the coach needs to know about it."""

    text: str
    customer: str  # their first name
    agent: str  # the writer's first name
    platform: str
    rule: LengthRule | None = None  # the platform's limit; None for a private message
    public: bool = True


@dataclass(frozen=True)
class Coaching:
    """The coach for one submission: the team's rules, the writer's first name, and the fingerprint of the draft
    they chose to send anyway after seeing its advice (None until they have)."""

    rules: CoachRules
    agent: str
    confirmed: str | None = None


class Unconfirmed(Exception):  # noqa: N818 - a state the modal shows, not a failure
    """The coach has advice on a draft its writer has not yet chosen to send anyway."""

    def __init__(self, advice: list[Advice], fingerprint: str) -> None:
        super().__init__("; ".join(a.reason for a in advice))
        self.advice, self.fingerprint = advice, fingerprint


def hold(drafts: Sequence[tuple[str, Draft]], coaching: Coaching) -> None:
    """Raise `Unconfirmed` unless the drafts (each with its label) break no rule, or are exactly what the writer
    already saw advice on and chose to send anyway. Blocking problems are the caller's to refuse first."""
    advice = [
        replace(found, about=label)
        for label, draft in drafts
        for found in review(draft, coaching.rules)
        if not found.blocking
    ]
    seen = held_fingerprint(drafts)
    if advice and seen != coaching.confirmed:
        raise Unconfirmed(advice, seen)


def held_fingerprint(drafts: Sequence[tuple[str, Draft]]) -> str:
    """What "Send anyway" confirms: each text and whether it goes publicly. The same words switched from a private
    message to a public reply are a different draft (other rules apply), so they are checked again."""
    return fingerprint(*(f"{'public' if draft.public else 'private'}:{draft.text.strip()}" for _, draft in drafts))


def review(draft: Draft, rules: CoachRules) -> list[Advice]:
    """Every rule the draft breaks, in a fixed order; empty for a draft that breaks none."""
    text = draft.text.strip()
    found: list[Advice | None] = [_too_long(text, draft.rule)]
    if rules.enabled:
        norm = normalise(text)
        found += [
            _greeting(text, draft.customer, rules) if rules.on(GREETING) else None,
            _sign_off(text, draft.agent, draft.customer) if rules.on(SIGN_OFF) else None,
            _phrase(EXCUSES, rules.excuses.find(norm), _EXCUSE) if rules.on(EXCUSES) else None,
            _shouting(text, rules) if rules.on(SHOUTING) else None,
            _link_on_x(text, draft) if rules.on(LINK_ON_X) else None,
            _phrase(REPEAT_REQUEST, rules.repeat_requests.find(norm), _REPEAT) if rules.on(REPEAT_REQUEST) else None,
            _vague_promise(norm, rules) if rules.on(VAGUE_PROMISE) else None,
        ]
    return [advice for advice in found if advice is not None]


def fingerprint(*texts: str) -> str:
    """What identifies a draft (one text, or a public and a private one): edited in any way, it changes."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.strip().encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _too_long(text: str, rule: LengthRule | None) -> Advice | None:
    problem = rule.problem(text) if rule is not None and text else None
    return Advice(LENGTH, problem, blocking=True) if problem else None


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _greeting(text: str, customer: str, rules: CoachRules) -> Advice | None:
    name = _words(customer)[:1]
    if not name:
        return None  # a name with no letters in it (an emoji): nothing to greet by
    opening = _words(text)[: rules.greeting_within]
    if name[0] in opening:
        return None
    other = _greeted_instead(text, rules)
    if other and other.lower() != name[0]:
        return Advice(GREETING, f"It greets {other}, but the customer's first name is {customer}.")
    return Advice(GREETING, f"It does not open by greeting {customer} by first name (e.g. “Hi {customer},”).")


def _greeted_instead(text: str, rules: CoachRules) -> str | None:
    """The capitalised word after an opening greeting ("Hi Mark," gives Mark), if there is one."""
    words = _WORD.findall(text)
    lowered = [w.lower() for w in words]
    for phrase in rules.greeting_words.written:
        said = _words(normalise(phrase))
        after = words[len(said)] if len(words) > len(said) else ""
        if said and lowered[: len(said)] == said and after[:1].isupper() and after not in ("I", "I'm"):
            return after
    return None


def _sign_off(text: str, agent: str, customer: str) -> Advice | None:
    name = _words(agent)
    if not name or " ".join(name) == UNKNOWN_AGENT:
        return None
    words = _words(text)
    times = sum(words[i : i + len(name)] == name for i in range(len(words)))
    if times >= (2 if name == _words(customer)[: len(name)] else 1):  # "Hi Alice, … – Alice" when both are Alice
        return None
    return Advice(
        SIGN_OFF,
        f"It does not say who wrote it: sign it with your first name (e.g. “– {agent}”), so {customer or 'they'} "
        "can see a person answered.",
    )


_EXCUSE = "“{}” reads as an excuse or as blaming the customer: own the problem and say what you will do."
_REPEAT = "“{}” asks them to repeat what they already wrote: ask only for what is missing (e.g. a booking reference)."


def _phrase(rule: str, found: str | None, reason: str) -> Advice | None:
    return Advice(rule, reason.format(found)) if found else None


def _shouting(text: str, rules: CoachRules) -> Advice | None:
    run: list[str] = []
    for token in text.split():
        word = token.strip(_EDGE)
        letters = [c for c in word if c.isalpha()]
        if not letters or any(c.isdigit() for c in word):
            continue  # numbers, codes like AC88 and dashes neither shout nor break a run
        if all(c.isupper() for c in letters) and word.upper() not in rules.shouting_allowed:
            run.append(word)
            if len(run) >= rules.shouting_min_words:
                shout = " ".join(run[: rules.shouting_min_words])
                return Advice(SHOUTING, f"“{shout}” is in capitals, which reads as shouting: use sentence case.")
        else:
            run = []
    return None


def _link_on_x(text: str, draft: Draft) -> Advice | None:
    if not draft.public or draft.platform.lower() not in X_PLATFORMS or not contains_link(text):
        return None
    return Advice(
        LINK_ON_X,
        "It has a link: on X a post with a link costs about thirteen times as much, and a brand's link in a public "
        "thread reads like spam. Send the link in a private message instead.",
    )


def _vague_promise(norm: str, rules: CoachRules) -> Advice | None:
    promise = rules.promises.find(norm)
    if not promise or rules.time_words.find(norm) or any(p.search(norm) for p in rules.time_patterns):
        return None
    return Advice(
        VAGUE_PROMISE,
        f"“{promise}” promises something but not when: say when they will hear back "
        "(e.g. “today”, “by 5pm”, “within the hour”).",
    )
