"""The ids that tie rendering to listening: buttons' action ids, modals' callback ids, inputs' block and action ids.

The Block Kit builders put them on the page and handlers/ registers listeners on them; one list, so the two
can never drift apart.
"""

from __future__ import annotations

ACTION_CLAIM = "case_claim"
ACTION_REPLY = "case_reply"
ACTION_MOVE_TO_DM = "case_move_to_dm"
ACTION_ESCALATE = "case_escalate"
ACTION_IGNORE = "case_ignore"
ACTION_RESOLVE = "case_resolve"
ACTION_REOPEN = "case_reopen"
ACTION_FOLLOW_UP = "case_follow_up"
ACTION_FOLLOW_UP_PICK = "case_follow_up_pick"
ACTION_SNOOZE = "case_snooze"
ACTION_REASSIGN = "case_reassign"
ACTION_THANK = "case_thank"  # praise: the Reply modal with a warm thank-you in it
ACTION_SHARE_WIN = "case_share_win"  # praise: post it to CARE_WINS_CHANNEL, once
ACTION_OPEN_GATHERED = "surge_open_case"  # "Open as case" on a post gathered in a surge alert's thread
ACTION_SAVED_REPLY = "reply_saved_pick"  # the Reply modal's menu of saved replies: fills the reply (views.update)
ACTION_SAVED_REPLY_KEEP = "reply_saved_keep"  # beside it: keep what was written when a saved reply is picked

VIEW_REPLY = "reply_modal"
VIEW_IGNORE = "ignore_modal"
VIEW_RESOLVE = "resolve_modal"
VIEW_TAKE_OVER = "take_over_modal"
VIEW_FOLLOW_UP = "follow_up_modal"
VIEW_REASSIGN = "reassign_modal"
VIEW_MOVE_TO_DM = "move_to_dm_modal"
REPLY_BLOCK, REPLY_INPUT = "reply", "text"
SEND_AS_BLOCK, SEND_AS_INPUT = "send_as", "visibility"  # the Reply modal: public reply or private message
SAVED_REPLY_BLOCK, KEEP_TEXT = "saved_reply", "keep"  # KEEP_TEXT: the value of the ticked "keep" box
ADVICE_BLOCK = "coach_advice"  # the reply coach's advice, above the text it is about
PUBLIC_BLOCK, PUBLIC_INPUT = "dm_public", "text"  # Move to DM: the public text ...
PRIVATE_BLOCK, PRIVATE_INPUT = "dm_private", "text"  # ... and the private one
VERSION_MARK = "~"  # a block id's version: a new id makes Slack show a new initial value instead of what was typed


def versioned(block_id: str, version: int) -> str:
    """`block_id` as rendered the `version`th time (the first time as it is)."""
    return f"{block_id}{VERSION_MARK}{version}" if version else block_id


def unversioned(block_id: str) -> str:
    return block_id.split(VERSION_MARK, 1)[0]


CHOICE_BLOCK, CHOICE_INPUT = "choice", "value"
COMMENT_BLOCK, COMMENT_INPUT = "comment", "value"
FOLLOW_UP_BLOCK, FOLLOW_UP_INPUT = "follow_up", "choice"
CUSTOM_BLOCK, CUSTOM_INPUT = "follow_up_custom", "duration"
CLOSING_BLOCK, CLOSING_INPUT = "closing", "text"
CONFIRM_BLOCK, CONFIRM_INPUT, CONFIRM_POST = "closing_confirm", "confirm", "post"
ASSIGNEE_BLOCK, ASSIGNEE_INPUT = "assignee", "user"
