"""What staff send to customers: replies, the move-offline message, and the closing reply after it.

Only these paths ever queue anything for a platform. A send is queued in the staff member's
transaction (with their text saved as the case's draft), delivered by the platform worker, and its
outcome recorded here: success clears the draft; failure keeps it, so nothing typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.clock import as_utc
from bot.errors import UserError
from bot.models import Case, Mention, OutboxItem
from bot.services import cases, coach, followups, outbox, triage
from bot.services.cases import get_case, record, require_open
from bot.services.playbook import CoachRules, Names, Playbook, due_words, fill
from bot.sla import SlaPolicy
from connectors.base import Author, LengthRule

REPLY = "reply"
MOVE_TO_DM = "move_to_dm"
PRIVATE_MESSAGE = "private_message"
CLOSING = "closing"
RESPONSES = (REPLY, MOVE_TO_DM)  # what stops the first- and next-response clocks


UNNAMED_CUSTOMER = "there"  # "Hi there," when all we know of them is a number


def customer_first_name(case: Case) -> str:
    """What customer-facing text calls them. A Messenger or Instagram message names its sender only by a scoped
    id (a long number): nobody is greeted by that."""
    first = Author(id=case.author_id, handle=case.author_handle, name=case.author_name).first_name
    return UNNAMED_CUSTOMER if not first or first.isdigit() else first


def names_for(case: Case, *, agent: str, contact: str, policy: SlaPolicy, now: datetime) -> Names:
    """What the placeholders of a saved reply or template stand for in a reply on this case."""
    due = due_words(policy, priority=case.priority, now=now)
    return Names(customer=customer_first_name(case), agent=agent, case=str(case.id), due=due, contact=contact)


@dataclass(frozen=True)
class Filled:
    """The reply with a saved reply put in; `ours` when nothing the writer typed is in it."""

    text: str
    ours: bool


def put_saved_reply(
    case: Case, *, book: Playbook, reply_id: str, names: Names, current: str, keep: bool, filled: object
) -> Filled:
    """A saved reply put in the reply: instead of `current`, or below it when the writer ticked `keep`.

    `filled` is the fingerprint of what the modal itself last put in the reply (the greeting and sign-off, an
    earlier saved reply): while `current` is still exactly that, nothing in it is the writer's, so it is replaced.
    """
    saved = book.reply(reply_id)
    if saved is None:
        raise UserError("That saved reply is no longer in the playbook. Please pick another one.")
    kept = keep and bool(current.strip()) and coach.fingerprint(current) != filled
    return Filled(book.compose(saved.text_for(case.platform), names, current=current, keep=kept), ours=not kept)


PUBLIC, PRIVATE = "public", "private"
NO_PRIVATE_MESSAGES = "the desk cannot send private messages there"
NO_PUBLIC_POST = (
    "this conversation began as a private message, so there is no public post to answer: send it as a private message"
)


def public_target(case: Case) -> Mention | None:
    """The post a public reply answers: the customer's latest public one (None when they only wrote privately)."""
    return next((m for m in reversed(case.mentions) if not m.private), None)


def private_target(case: Case) -> Mention:
    """What a private message answers: the customer's latest private message, so it goes into the conversation
    they opened with us (the platform's DM API); else their latest post, as a private reply about it."""
    return next((m for m in reversed(case.mentions) if m.private), None) or case.latest_mention


def sent_privately_about(case: Case, mention: Mention) -> bool:
    """Whether a private message about this public post has gone out already (Meta takes one per comment).

    Events recorded before the target was kept in them (no `in_reply_to`) count for the post they would have
    answered: a move-to-DM message was about the latest public post."""
    for event in case.events:
        detail = event.detail or {}
        if event.kind not in ("private_message_sent", "replied") or detail.get("visibility") != PRIVATE:
            continue
        target = detail.get("in_reply_to")
        if target == mention.external_id or (target is None and event.kind == "private_message_sent"):
            return True
    return False


@dataclass(frozen=True)
class ReplyWays:
    """How a reply on this case can go now: publicly under the customer's latest public post, or privately. Each
    is None when possible, else the reason it is not (in words for the modal); `offered` is the one the Reply
    modal starts on: private when the customer last wrote privately, else public."""

    public: str | None
    private: str | None
    offered: str

    @property
    def both(self) -> bool:
        return self.public is None and self.private is None

    def problem(self, visibility: str) -> str | None:
        return self.private if visibility == PRIVATE else self.public


def reply_ways(case: Case, *, private_problem: str | None) -> ReplyWays:
    """`private_problem` is why the platform would not take a private message now (None if it would; the runtime
    asks the connector: Meta's windows, a platform without private messages)."""
    public_post = public_target(case)
    public = None if public_post is not None else NO_PUBLIC_POST
    wrote_privately = case.last_private_at is not None and (
        public_post is None or as_utc(case.last_private_at) >= as_utc(public_post.posted_at)
    )
    offered = PRIVATE if (private_problem is None and wrote_privately) or public is not None else PUBLIC
    return ReplyWays(public=public, private=private_problem, offered=offered)


def reply_draft(case: Case, *, text: str, agent: str, visibility: str, rule: LengthRule | None) -> coach.Draft:
    """A text to this customer as the coach reads it (one place, so advice shown early matches advice on submit,
    and a reply is read as Move to DM's texts are)."""
    return coach.Draft(
        text=text.strip(),
        customer=customer_first_name(case),
        agent=agent,
        platform=case.platform,
        rule=rule,
        public=visibility == PUBLIC,
    )


def advice_on(
    case: Case, *, text: str, agent: str, visibility: str, rule: LengthRule, rules: CoachRules
) -> tuple[list[coach.Advice], str]:
    """The coach's advice on a reply before it is submitted (a saved reply just put in), and the fingerprint that
    lets that very draft be sent anyway."""
    draft = reply_draft(case, text=text, agent=agent, visibility=visibility, rule=rule)
    return coach.review(draft, rules), coach.held_fingerprint([("", draft)])


def reply_problem(text: str, rule: LengthRule) -> str | None:
    """Why this reply cannot be sent as written, in words for the modal; None when it can."""
    if not text or not text.strip():
        return "Write a reply before sending."
    return rule.problem(text.strip())


def _queue_send(
    session: Session, case: Case, *, purpose: str, text: str, visibility: str, actor: str, now: datetime
) -> OutboxItem:
    """Queue one message for the platform worker, aimed at the post or conversation it answers: a public one
    under the latest public post, a private one into the customer's DM conversation when they opened one."""
    latest = public_target(case) if visibility == PUBLIC else private_target(case)
    if latest is None:
        raise UserError(NO_PUBLIC_POST[0].upper() + NO_PUBLIC_POST[1:] + ".")
    return outbox.enqueue(
        session,
        lane=outbox.PLATFORM,
        kind="send",
        case_id=case.id,
        priority_rank=triage.PRIORITY_RANK[case.priority],
        now=now,
        payload={
            "purpose": purpose,
            "text": text,
            "visibility": visibility,
            "actor": actor,
            "platform": case.platform,
            "in_reply_to": latest.external_id,
            "author_id": case.author_id,
            "context": {**latest.extra, "posted_at": latest.posted_at.isoformat()},
        },
    )


def submit_reply(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    text: str,
    rule: LengthRule,
    now: datetime,
    follow_up: datetime | None = None,
    coaching: coach.Coaching | None = None,
    visibility: str = PUBLIC,
    private_problem: str | None = None,
) -> Case:
    """Queue a reply, public or (`visibility`) private; `follow_up` also records the promise to get back to the
    customer then. `private_problem` is why the platform would refuse a private message now (from the runtime).

    With `coaching`, a draft that breaks one of the team's rules is held (`coach.Unconfirmed`) until its writer
    has seen the advice and sends that very draft again."""
    if visibility not in (PUBLIC, PRIVATE):
        raise ReplyWayProblem("Choose whether the reply goes publicly or as a private message.")
    problem = reply_problem(text, rule)
    if problem:
        raise UserError(problem)
    case = require_open(session, case_id)
    way = reply_ways(case, private_problem=private_problem).problem(visibility)
    if way:
        raise ReplyWayProblem(way[0].upper() + way[1:] + ".")
    text = text.strip()
    if coaching is not None:
        draft = reply_draft(case, text=text, agent=coaching.agent, visibility=visibility, rule=rule)
        coach.hold([("", draft)], coaching)
    case.draft_text, case.draft_by = text, user_id
    if case.drafting_by == user_id:
        case.drafting_by, case.drafting_since = None, None
    if case.owner_id is None:
        case.owner_id = user_id  # whoever answers first owns the conversation
    _queue_send(session, case, purpose=REPLY, text=text, visibility=visibility, actor=user_id, now=now)
    outbox.staff_action(session, case_id=case.id)  # the clicker sees "replied" at once, ahead of new cases
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    if follow_up is not None:
        followups.set_follow_up(session, case_id=case.id, user_id=user_id, due=follow_up, now=now)
    return case


class ReplyWayProblem(UserError):
    """The reply cannot go the way chosen (public or private): shown on that choice in the Reply modal."""


PUBLIC_LABEL, PRIVATE_LABEL = "Public reply", "Private message"
MOVE_OFFLINE_REPLY = "move_offline"  # the saved reply Move to DM starts from where no private message can go


ALREADY_PRIVATE = (
    "This conversation is already private: the customer wrote to us directly. Use Reply to answer them there."
)


class MoveToDmProblem(UserError):
    """One of the two move-to-DM texts cannot be sent as written (shown on its field)."""

    def __init__(self, message: str, *, private: bool) -> None:
        super().__init__(message)
        self.private = private


@dataclass(frozen=True)
class MoveToDm:
    """What the Move to DM modal shows: both texts, filled in, or only the public one and why."""

    case: Case
    public: str
    private: str | None
    unavailable: str | None  # why no private message goes, when none does


def move_to_dm_draft(
    session: Session,
    *,
    case_id: int,
    names: Names,
    template: str,
    private_template: str,
    unavailable: str | None,
    book: Playbook,
) -> MoveToDm:
    """The texts Move to DM proposes: CARE_MOVE_TO_DM_TEMPLATE and CARE_PRIVATE_TEMPLATE, first names filled in.

    Where no private message can go (`unavailable` says why), the public text cannot say a DM was sent: it is the
    playbook's "move_offline" saved reply (asking the customer to get in touch {contact}) when the playbook has one.
    """
    case = require_open(session, case_id)
    if case.moved_offline_at is not None:
        raise UserError("This case has already been moved to DM. Use Reply to write to the customer again.")
    if public_target(case) is None:
        raise UserError(ALREADY_PRIVATE)
    private = fill(private_template, names) if unavailable is None else None
    failed = _failed_move(case)
    if failed is not None:  # tried before and the platform refused: start from what was confirmed then
        kept = failed.get("private_text")
        if isinstance(kept, str) and private is not None:
            private = kept
        return MoveToDm(case, str(failed.get("text") or ""), private, unavailable)
    offline = book.reply(MOVE_OFFLINE_REPLY) if unavailable is not None else None
    public = (
        book.compose(offline.text_for(case.platform), names, current="", keep=False)
        if offline
        else fill(template, names)
    )
    return MoveToDm(case, public, private, unavailable)


def _failed_move(case: Case) -> dict[str, Any] | None:
    """The details of the case's last Move to DM, when the platform refused its public message and nothing has been
    moved since (a later reply or move supersedes it)."""
    for event in reversed(case.events):
        if event.kind == "send_failed" and (event.detail or {}).get("purpose") == MOVE_TO_DM:
            return dict(event.detail)
        if event.kind in ("moved_to_dm", "replied"):
            return None
    return None


def move_to_dm(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    public_text: str,
    private_text: str | None,
    rule: LengthRule,
    now: datetime,
    private_unavailable: str | None = None,
    coaching: coach.Coaching | None = None,
) -> Case:
    """Queue the public move-offline message and, where the platform allows it, the private one, exactly as the
    person confirmed them in the Move to DM modal.

    `private_unavailable` says why the platform would refuse a private message now (e.g. too old): the thread is
    told, so nobody waits for a message that cannot arrive. With `coaching`, the texts are held
    (`coach.Unconfirmed`) as a reply is, until their writer sends them unchanged after seeing the advice.
    """
    problem = reply_problem(public_text, rule)
    if problem:
        raise MoveToDmProblem(problem, private=False)
    if private_text is not None and not private_text.strip():
        raise MoveToDmProblem("Write the private message before sending.", private=True)
    case = require_open(session, case_id)
    if case.moved_offline_at is not None:
        raise UserError("This case has already been moved to DM. Use Reply to write to the customer again.")
    public_text = public_text.strip()
    private_text = private_text.strip() if private_text and not private_unavailable else None
    if coaching is not None:
        agent = coaching.agent
        drafts = [(PUBLIC_LABEL, reply_draft(case, text=public_text, agent=agent, visibility=PUBLIC, rule=rule))]
        if private_text:
            private = reply_draft(case, text=private_text, agent=agent, visibility=PRIVATE, rule=None)
            drafts.append((PRIVATE_LABEL, private))
        coach.hold(drafts, coaching)
    case.moved_offline_at = now
    if case.owner_id is None:
        case.owner_id = user_id
    _queue_send(session, case, purpose=MOVE_TO_DM, text=public_text, visibility="public", actor=user_id, now=now)
    if private_text:
        _queue_send(
            session, case, purpose=PRIVATE_MESSAGE, text=private_text, visibility="private", actor=user_id, now=now
        )
    elif private_unavailable:
        record(
            session, case, actor=user_id, kind="private_unavailable", now=now, detail={"reason": private_unavailable}
        )
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    return case


class ClosingReplyProblem(UserError):
    """The closing reply cannot be sent as written (shown on the closing reply's field)."""


def closing_text(case: Case, *, template: str, agent_first_name: str) -> str:
    """The public closing reply offered when a case that moved to DM is resolved (CARE_CLOSING_TEMPLATE)."""
    return template.format(customer=customer_first_name(case), agent=agent_first_name)


def resolve(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    outcome: str,
    comment: str | None,
    closing: str | None,
    rule: LengthRule,
    now: datetime,
) -> Case:
    """Resolve the case; with `closing` (the staff member ticked the confirmation) post it publicly too."""
    if closing is not None:
        problem = reply_problem(closing, rule)
        if problem:
            raise ClosingReplyProblem(problem)
    case = cases.resolve(session, case_id=case_id, user_id=user_id, outcome=outcome, comment=comment, now=now)
    if closing is not None:
        _queue_send(session, case, purpose=CLOSING, text=closing.strip(), visibility="public", actor=user_id, now=now)
    return case


_SENT_KIND = {
    REPLY: "replied",
    MOVE_TO_DM: "moved_to_dm",
    PRIVATE_MESSAGE: "private_message_sent",
    CLOSING: "closing_reply_sent",
}


def record_sent(
    session: Session,
    *,
    case_id: int,
    payload: dict[str, Any],
    external_id: str | None,
    now: datetime,
    note: str | None = None,
) -> None:
    case = get_case(session, case_id, for_update=True)
    text, actor = payload["text"], payload["actor"]
    if payload["purpose"] in RESPONSES:
        if case.first_response_at is None:
            case.first_response_at = now
        case.awaiting_reply_since = None  # answered: the next-response clock stops
    if payload["purpose"] == REPLY and case.draft_text == text:
        case.draft_text, case.draft_by = None, None
    record(
        session,
        case,
        actor=actor,
        kind=_SENT_KIND[payload["purpose"]],
        now=now,
        text_sent=text,
        detail={
            "visibility": payload["visibility"],
            "external_id": external_id,
            "note": note,
            "in_reply_to": payload.get("in_reply_to"),
        },
    )


def record_send_failed(session: Session, *, case_id: int, payload: dict[str, Any], error: str, now: datetime) -> None:
    """The platform would not take it: say so in the thread and keep the text for the next attempt."""
    case = get_case(session, case_id, for_update=True)
    purpose = payload["purpose"]
    if purpose in (REPLY, PRIVATE_MESSAGE):  # what they wrote is the next Reply's start (nothing typed is lost)
        case.draft_text, case.draft_by = payload["text"], payload["actor"]
    withheld: list[dict[str, Any]] = []
    if purpose == MOVE_TO_DM:
        case.moved_offline_at = None  # let staff try again
        # The private half must not arrive without the public one, nor twice when staff try again.
        withheld = outbox.cancel_pending_sends(
            session, case_id=case.id, purpose=PRIVATE_MESSAGE, now=now, reason="the public move-to-DM message failed"
        )
    record(
        session,
        case,
        actor=payload["actor"],
        kind="send_failed",
        now=now,
        detail={
            "purpose": purpose,
            "error": error,
            "text": payload["text"],
            "visibility": payload["visibility"],
            "private_withheld": bool(withheld),
            # what Move to DM starts from when it is tried again: the texts as confirmed, not the defaults
            **({"private_text": withheld[0]["text"]} if withheld else {}),
        },
    )
