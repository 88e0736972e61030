"""Modal submissions, and the controls inside the Reply modal. Input is checked before the ack, so problems show
inline in the modal; the reply coach's advice comes back in the modal the same way, with "Send anyway"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import ids
from bot.blocks import playbook as playbook_blocks
from bot.errors import UserError
from bot.runtime import Runtime
from bot.services import cases, coach, followups, playbook, replies
from handlers.errors import guarded, submission
from handlers.gate import release
from handlers.listener import ack_then, runtime, user_id


def register(app: App) -> None:
    app.view_submission(ids.VIEW_REPLY)(guarded(on_reply_submit))
    app.view_closed(ids.VIEW_REPLY)(guarded(on_reply_closed))
    ack_then(app.action(ids.ACTION_SAVED_REPLY), on_saved_reply)
    app.action(ids.ACTION_SAVED_REPLY_KEEP)(_ack_only)  # read when a saved reply is picked
    app.view_submission(ids.VIEW_MOVE_TO_DM)(guarded(on_move_to_dm_submit))
    app.view_submission(ids.VIEW_IGNORE)(guarded(on_ignore))
    app.view_submission(ids.VIEW_RESOLVE)(guarded(on_resolve))
    app.view_submission(ids.VIEW_TAKE_OVER)(guarded(on_take_over))
    app.view_submission(ids.VIEW_FOLLOW_UP)(guarded(on_follow_up))
    app.view_submission(ids.VIEW_REASSIGN)(guarded(on_reassign))


STALE_FORM = "This form no longer matches a case. Please open it again from the case message."


def _case_id(view: dict[str, Any]) -> int:
    """The case a modal is about, from the metadata we set; anything else is answered in one sentence."""
    try:
        found = json.loads(view.get("private_metadata") or "{}")["case_id"]
        if isinstance(found, bool) or not isinstance(found, int | str):
            raise TypeError(found)
        return int(found)
    except (ValueError, TypeError, KeyError):
        raise UserError(STALE_FORM) from None


def _state(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    """What Slack sent for one input of the submitted modal ({} if it sent nothing)."""
    found: dict[str, Any] = view.get("state", {}).get("values", {}).get(block, {}).get(action, {})
    return found


def _value(view: dict[str, Any], block: str, action: str) -> str | None:
    state = _state(view, block, action)
    if "selected_option" in state:
        return (state.get("selected_option") or {}).get("value")
    return state.get("value")


def _selected(view: dict[str, Any], block: str, action: str) -> list[str]:
    state = _state(view, block, action)
    return [option.get("value") for option in state.get("selected_options") or []]


def _field_of(error: UserError) -> str | None:
    """The modal input a problem is about, where it is about a particular one."""
    if isinstance(error, followups.FollowUpInvalid):
        return ids.CUSTOM_BLOCK if error.field == "custom" else ids.FOLLOW_UP_BLOCK
    if isinstance(error, replies.ClosingReplyProblem):
        return ids.CLOSING_BLOCK
    if isinstance(error, replies.MoveToDmProblem):
        return ids.PRIVATE_BLOCK if error.private else ids.PUBLIC_BLOCK
    return None


def _ack_only(ack: Ack) -> None:
    ack()


def _reply_text(view: dict[str, Any]) -> tuple[str, str | None]:
    """The Reply modal's text input as rendered now (its block id changes when a saved reply is put in), and what
    was typed in it."""
    values = view.get("state", {}).get("values", {})
    found = [key for key in values if ids.unversioned(key) == ids.REPLY_BLOCK]
    rendered = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    block = next((key for key in found + rendered if key and ids.unversioned(key) == ids.REPLY_BLOCK), ids.REPLY_BLOCK)
    return block, _value(view, block, ids.REPLY_INPUT)


def _coaching(rt: Runtime, view: dict[str, Any]) -> coach.Coaching:
    """The coach for this submission: the team's rules, the writer's first name (set when the modal opened) and
    the fingerprint of the draft they were shown advice on, if any."""
    metadata = playbook_blocks.metadata_of(view)
    agent, seen = metadata.get("agent"), metadata.get("fp")
    return coach.Coaching(
        rules=playbook.configured(rt.settings.playbook_file).coach,
        agent=agent if isinstance(agent, str) else "",
        confirmed=seen if isinstance(seen, str) else None,
    )


def _coached(
    ack: Ack,
    view: dict[str, Any],
    *,
    context: BoltContext,
    work: Callable[[], object],
    field: str,
    texts: dict[str, str],
    where: Callable[[UserError], str | None] = _field_of,
    chosen: dict[str, str] | None = None,
) -> None:
    """`submission`, and when the coach holds the draft: the same modal again with its advice and "Send anyway"
    (`texts` as typed and the `chosen` options as picked, by block id)."""
    try:
        submission(ack, context=context, work=work, field=field, where=where)
    except coach.Unconfirmed as held:
        release(context)  # nothing was sent: the next submit must be free to act
        again = playbook_blocks.coached(view, advice=held.advice, seen=held.fingerprint, texts=texts, chosen=chosen)
        ack(response_action="update", view=again)


def _send_as(view: dict[str, Any]) -> tuple[str, str | None]:
    """How the reply goes (public or private) and the modal field that says so: the choice in the modal, or the
    one way the modal offered (in its metadata), or public (a modal from before there was a choice)."""
    chosen = _value(view, ids.SEND_AS_BLOCK, ids.SEND_AS_INPUT)
    shown = any(b.get("block_id") == ids.SEND_AS_BLOCK for b in view.get("blocks") or [])
    if chosen is not None and shown:  # (a choice the modal never offered is no choice)
        return chosen, ids.SEND_AS_BLOCK
    fixed = playbook_blocks.metadata_of(view).get("send_as")
    return (fixed if isinstance(fixed, str) else replies.PUBLIC), None


def on_reply_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    block, text = _reply_text(view)
    visibility, choice = _send_as(view)
    private = visibility == replies.PRIVATE

    def send() -> None:
        follow_up = followups.due_from_choice(
            _value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
            _value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT),
            now=rt.now(),
            tz=rt.settings.timezone,
        )
        with rt.unit() as s:
            case = cases.get_case(s, _case_id(view))
            replies.submit_reply(
                s,
                case_id=case.id,
                user_id=user_id(body),
                text=text or "",
                rule=rt.length_rule(case.connector, case.platform, private=private),
                now=rt.now(),
                follow_up=follow_up,
                coaching=_coaching(rt, view),
                visibility=visibility,
                private_problem=rt.private_problem(case) if private else None,
            )

    def where(error: UserError) -> str | None:  # a way that is closed: on the choice, if the modal has one
        return choice if isinstance(error, replies.ReplyWayProblem) else _field_of(error)

    _coached(
        ack,
        view,
        context=context,
        work=send,
        field=block,
        texts={block: text or ""},
        where=where,
        chosen={ids.SEND_AS_BLOCK: visibility} if choice else {},
    )


def on_reply_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    ack()
    rt = runtime(context)
    typed = _reply_text(view)[1]
    if typed is not None and coach.fingerprint(typed) == playbook_blocks.metadata_of(view).get("filled"):
        typed = None  # only what the modal put there (greeting and sign-off, a saved reply): not a draft to keep
    with rt.unit() as s:
        cases.stop_drafting(s, case_id=_case_id(view), user_id=user_id(body), now=rt.now(), draft=typed)


def on_saved_reply(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """A saved reply picked in the Reply modal: put in the reply (below what was written, when that is kept)."""
    rt, view = runtime(context), body["view"]
    metadata, book = playbook_blocks.metadata_of(view), playbook.configured(rt.settings.playbook_file)
    agent = metadata.get("agent") if isinstance(metadata.get("agent"), str) else None
    keep = any(
        ids.KEEP_TEXT in _selected(view, key, ids.ACTION_SAVED_REPLY_KEEP)
        for key in view.get("state", {}).get("values", {})
        if ids.unversioned(key) == ids.SAVED_REPLY_BLOCK
    )
    agent = agent or rt.first_name(user_id(body))
    visibility, choice = _send_as(view)
    with rt.read() as s:
        case = cases.get_case(s, _case_id(view))
        filled = replies.put_saved_reply(
            case,
            book=book,
            reply_id=str((body["actions"][0].get("selected_option") or {}).get("value") or ""),
            names=replies.names_for(
                case, agent=agent, contact=rt.contact_route(case.connector), policy=rt.settings.sla, now=rt.now()
            ),
            current=_reply_text(view)[1] or "",
            keep=keep,
            filled=metadata.get("filled"),
        )
        # the coach reads the reply at once, as it now stands: its advice shows before the agent presses Send
        advice, seen = replies.advice_on(
            case,
            text=filled.text,
            agent=agent,
            visibility=visibility,
            rule=rt.length_rule(case.connector, case.platform, private=visibility == replies.PRIVATE),
            rules=book.coach,
        )
    again = playbook_blocks.refilled(view, text=filled.text, keep=keep, saved=book.replies, ours=filled.ours)
    if advice:
        block, _ = _reply_text(again)
        chosen = {ids.SEND_AS_BLOCK: visibility} if choice else {}
        again = playbook_blocks.coached(again, advice=advice, seen=seen, texts={block: filled.text}, chosen=chosen)
    try:  # the view's hash: an update that raced another one is refused rather than overwriting it
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=again)
    except SlackApiError as exc:
        if exc.response.get("error") != "hash_conflict":
            raise
        raise UserError("The reply changed while the saved reply was being put in: please pick it again.") from None


def on_move_to_dm_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Move to DM, confirmed: exactly the texts in the modal go out (the public one, and the private one if shown)."""
    rt = runtime(context)
    public = _value(view, ids.PUBLIC_BLOCK, ids.PUBLIC_INPUT) or ""
    shown = playbook_blocks.metadata_of(view).get("private")
    private = (_value(view, ids.PRIVATE_BLOCK, ids.PRIVATE_INPUT) or "") if shown else None

    def send() -> None:
        with rt.unit() as s:
            case = cases.get_case(s, _case_id(view))
            replies.move_to_dm(
                s,
                case_id=case.id,
                user_id=user_id(body),
                public_text=public,
                private_text=private,
                rule=rt.length_rule(case.connector, case.platform),
                now=rt.now(),
                # why no private message goes, for the thread: the platform's window closed (Meta's 7 days), maybe
                # since the modal opened
                private_unavailable=rt.private_problem(case)
                if rt.can_message_privately(case.connector, case.platform)
                else None,
                coaching=_coaching(rt, view),
            )

    texts = {ids.PUBLIC_BLOCK: public, **({ids.PRIVATE_BLOCK: private} if private is not None else {})}
    _coached(ack, view, context=context, work=send, field=ids.PUBLIC_BLOCK, texts=texts)


def on_ignore(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)

    def ignore() -> None:
        with rt.unit() as s:
            cases.ignore(
                s,
                case_id=_case_id(view),
                user_id=user_id(body),
                now=rt.now(),
                reason=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT),
            )

    submission(ack, context=context, work=ignore, field=ids.CHOICE_BLOCK)


def on_resolve(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Resolve; the closing reply (offered after a move to DM) goes out only if its box is ticked."""
    rt = runtime(context)
    confirmed = ids.CONFIRM_POST in _selected(view, ids.CONFIRM_BLOCK, ids.CONFIRM_INPUT)
    closing = (_value(view, ids.CLOSING_BLOCK, ids.CLOSING_INPUT) or "") if confirmed else None

    def resolve() -> None:
        with rt.unit() as s:
            case = cases.get_case(s, _case_id(view))
            replies.resolve(
                s,
                case_id=case.id,
                user_id=user_id(body),
                now=rt.now(),
                outcome=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT),
                closing=closing,
                rule=rt.length_rule(case.connector, case.platform),
            )

    submission(ack, context=context, work=resolve, field=ids.CHOICE_BLOCK, where=_field_of)


def on_follow_up(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)

    def choose() -> None:
        with rt.unit() as s:
            followups.choose(
                s,
                case_id=_case_id(view),
                user_id=user_id(body),
                now=rt.now(),
                choice=_value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
                custom=_value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT),
                tz=rt.settings.timezone,
            )

    submission(ack, context=context, work=choose, field=ids.FOLLOW_UP_BLOCK, where=_field_of)


def on_reassign(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    new_owner = _state(view, ids.ASSIGNEE_BLOCK, ids.ASSIGNEE_INPUT).get("selected_user") or ""

    def reassign() -> None:
        with rt.unit() as s:
            cases.reassign(s, case_id=_case_id(view), user_id=user_id(body), now=rt.now(), new_owner=new_owner)

    submission(ack, context=context, work=reassign, field=ids.ASSIGNEE_BLOCK)


def on_take_over(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    ack()
    rt = runtime(context)
    with rt.unit() as s:
        cases.claim(s, case_id=_case_id(view), user_id=user_id(body), now=rt.now(), take_over=True)
