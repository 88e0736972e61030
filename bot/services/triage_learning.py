"""What the team's decisions say about triage: how often the policy agreed (`/care triage`), and learning from them.

The desk's own history is the best teacher it has: a post the team answered (a reply, or the move to a DM)
needed a reply; a post ignored as spam, a troll or not for us did not. A case resolved without a word, or
still open, says nothing either way and is left out. The post judged is each case's first: the one whose
verdict put the case on the desk.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import Case, CaseEvent, Mention
from bot.services import erasure, triage
from bot.services.cases import IGNORE_REASONS
from bot.services.triage_model import LearnedModel, fit

ANSWERED = ("replied", "moved_to_dm", "private_message_sent", "closing_reply_sent")  # events: it needed a reply
MIN_EACH = 20  # decisions of each kind before a model is worth learning: fewer teaches it the examples, not the rule


@dataclass(frozen=True)
class Decision:
    case_id: int
    text: str
    needed: bool  # what the team's actions say
    predicted: bool | None  # what the policy said of the post (None: stored before it said)


@dataclass(frozen=True)
class Agreement:
    """How the policy's "needs a reply" compares with what the team did, over some decided cases."""

    agreed_needed: int  # flagged, and the team answered
    flagged_not_needed: int  # flagged, and the team ignored it
    missed: int  # not flagged, and the team answered
    agreed_not_needed: int
    unjudged: int = 0  # decided, but stored before the policy gave verdicts

    @property
    def decided(self) -> int:
        return self.agreed_needed + self.flagged_not_needed + self.missed + self.agreed_not_needed

    @property
    def precision(self) -> float | None:
        flagged = self.agreed_needed + self.flagged_not_needed
        return self.agreed_needed / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        needed = self.agreed_needed + self.missed
        return self.agreed_needed / needed if needed else None


def decisions(session: Session, *, start: datetime | None = None, end: datetime | None = None) -> list[Decision]:
    """The cases created in [start, end) the team decided on, each with its first post and what was decided."""
    created: list[ColumnElement[bool]] = []
    if start is not None:
        created.append(Case.created_at >= start)
    if end is not None:
        created.append(Case.created_at < end)
    answered = set(
        session.scalars(select(CaseEvent.case_id).join(Case).where(*created, CaseEvent.kind.in_(ANSWERED)).distinct())
    )
    ignored = (
        set(
            session.scalars(
                select(Case.id).where(*created, Case.status == "ignored", Case.outcome.in_(tuple(IGNORE_REASONS)))
            )
        )
        - answered
    )  # a case answered and later ignored (the customer turned abusive) did need a reply
    firsts = (
        select(func.min(Mention.id)).where(Mention.case_id.in_(answered | ignored)).group_by(Mention.case_id)
    ).scalar_subquery()
    rows = session.execute(
        select(Mention.case_id, Mention.text, Mention.needs_reply).where(Mention.id.in_(firsts)).order_by(Mention.id)
    )
    return [
        Decision(case_id, text, case_id in answered, predicted)
        for case_id, text, predicted in rows
        if text != erasure.REMOVED  # a forgotten customer's words are neither judged nor learned from
    ]


def agreement(session: Session, *, start: datetime, end: datetime) -> Agreement:
    """`/care triage`: the policy's verdicts against the team's decisions on the cases created in [start, end)."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    unjudged = 0
    for decision in decisions(session, start=start, end=end):
        if decision.predicted is None:
            unjudged += 1
        else:
            counts[(decision.predicted, decision.needed)] += 1
    return Agreement(
        agreed_needed=counts[(True, True)],
        flagged_not_needed=counts[(True, False)],
        missed=counts[(False, True)],
        agreed_not_needed=counts[(False, False)],
        unjudged=unjudged,
    )


@dataclass(frozen=True)
class Examples:
    texts: list[str]
    labels: list[bool]
    weights: list[float] | None
    source: str

    def check(self) -> None:
        """Refuse to learn from too little, in one sentence a lead can act on."""
        needed = sum(self.labels)
        if min(needed, len(self.labels) - needed) < MIN_EACH:
            raise UserError(
                f"Not enough to learn from in {self.source}: {needed} that needed a reply and "
                f"{len(self.labels) - needed} that did not (at least {MIN_EACH} of each)."
            )


def desk_examples(session: Session) -> Examples:
    found = decisions(session)
    return Examples(
        [d.text for d in found], [d.needed for d in found], None, f"the desk's decisions ({len(found)} cases)"
    )


def csv_examples(
    path: Path, *, text_column: str, label_column: str, needs_reply_value: str, weight_column: str | None = None
) -> Examples:
    """Labelled texts from a CSV file: a row needs a reply when its label is `needs_reply_value`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c for c in (text_column, label_column, weight_column) if c]
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(
                    f"{path} has no column {missing[0]!r} (it has: {', '.join(reader.fieldnames or []) or 'none'})."
                )
            rows = [r for r in reader if (r.get(text_column) or "").strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} could not be read as a UTF-8 CSV file: {exc}.") from None
    weights = None
    if weight_column:
        try:
            weights = [float(r[weight_column]) for r in rows]
        except ValueError:
            raise UserError(f"{path}: the column {weight_column!r} must hold numbers.") from None
    return Examples(
        [r[text_column] for r in rows],
        [r[label_column].strip() == needs_reply_value for r in rows],
        weights,
        f"{path.name} ({len(rows)} rows)",
    )


def learn(examples: Examples, policy: triage.Policy, *, now: datetime) -> LearnedModel:
    """A model fitted to `examples`, reading the policy's cues and tone besides the words (`triage_model.fit`)."""
    examples.check()
    extras: Sequence[dict[str, float]] = [policy.features(t, triage.sentiment(t)) for t in examples.texts]
    return fit(
        examples.texts,
        examples.labels,
        extras=extras,
        sample_weights=examples.weights,
        source=examples.source,
        date=f"{now:%Y-%m-%d}",
    )
