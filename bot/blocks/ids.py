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

VIEW_REPLY = "reply_modal"
VIEW_IGNORE = "ignore_modal"
VIEW_RESOLVE = "resolve_modal"
VIEW_TAKE_OVER = "take_over_modal"
VIEW_FOLLOW_UP = "follow_up_modal"
VIEW_REASSIGN = "reassign_modal"
REPLY_BLOCK, REPLY_INPUT = "reply", "text"
CHOICE_BLOCK, CHOICE_INPUT = "choice", "value"
COMMENT_BLOCK, COMMENT_INPUT = "comment", "value"
FOLLOW_UP_BLOCK, FOLLOW_UP_INPUT = "follow_up", "choice"
CUSTOM_BLOCK, CUSTOM_INPUT = "follow_up_custom", "duration"
CLOSING_BLOCK, CLOSING_INPUT = "closing", "text"
CONFIRM_BLOCK, CONFIRM_INPUT, CONFIRM_POST = "closing_confirm", "confirm", "post"
ASSIGNEE_BLOCK, ASSIGNEE_INPUT = "assignee", "user"
