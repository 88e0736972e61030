"""The Slack lane: render an outbox item from the database at delivery time and post it, exactly once.

Rendering happens here, not when the item is queued: the message shows the case as it stands when Slack
takes it, and the domain (bot/services/) never speaks Block Kit. Posts are paced per channel with a margin
over Slack's one a second, in the database so every replica keeps one pace; a 429 moves the channel's next
moment to its Retry-After and the item keeps its place in the queue; chat.update (another method tier) is
not paced. 5xx and network failures pause the lane with growing backoff for as long as it takes. Every
message carries its outbox id in Slack message metadata, so an item whose worker died after Slack accepted
it is found, not posted twice.

One item may be several messages: a post too long for its case message continues in the thread, and a long
thread note is split. Each message carries its part number beside the outbox id, and the item's progress is
checkpointed after each part, so a retry posts only the parts Slack has not taken.

An erasure's `redact_message` items (bot/services/erasure.py) replace one posted message's words in place.

If Slack still refuses a message as built (invalid_blocks, msg_too_long...), it is posted again in a minimal
form that says so in the channel (its words in one section, our buttons), then as plain text; an item is
given up only when even that is refused.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session

from bot.blocks import case as case_blocks
from bot.blocks import digest as digest_blocks
from bot.blocks import limits, mrkdwn
from bot.blocks import surge as surge_blocks
from bot.clock import Clock
from bot.config import Settings
from bot.db import SessionFactory, read_scope, session_scope
from bot.models import Case, CaseEvent, Mention
from bot.observe import logs, metrics
from bot.services import customers, digest, erasure, outbox, reminders, surge, wins

logger = logging.getLogger(__name__)

METADATA_EVENT = "care_bot_delivery"
MAX_BACKOFF = 300.0
# Slack errors that a person must fix (token, channel membership); retried slowly until they do.
SLACK_CONFIG_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "missing_scope",
}

# Slack refusing the message itself (not the token, the channel or the network): worth one plainer try
SLACK_REFUSED = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_blocks_too_long",
    "msg_too_long",
    "too_many_blocks",
    "invalid_arguments",
    "invalid_attachments",
    "no_text",
}

ThreadUrl = Callable[[str, str | None], str | None]


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 9)) * (0.8 + 0.4 * random.random())


class ChannelPaused(Exception):
    """The channel's next posting moment is further off than is worth holding the lane for."""

    def __init__(self, channel: str, until: datetime) -> None:
        super().__init__(f"channel {channel} paused until {until.isoformat()}")
        self.channel, self.until = channel, until


class Stopping(Exception):
    """The worker is draining: a post not yet started is handed back rather than waited for."""


class Pacer:
    """At most one post per `interval` seconds per channel, across every replica (the channel_pace table).

    A wait of up to `hold` seconds is slept through holding the item (its lease renewed meanwhile); a longer
    one (a Retry-After) raises ChannelPaused, so the item goes back to its place and the lane does updates.
    """

    def __init__(
        self,
        clock: Clock,
        sleep: Callable[[float], None],
        sessions: SessionFactory,
        interval: float = 1.1,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._clock, self._sleep, self._sessions, self._interval = clock, sleep, sessions, interval
        self._stopping = stopping
        self.hold = max(2.0, 2 * interval)

    def wait(self, channel: str) -> None:
        while True:
            if self._stopping():
                raise Stopping
            if self._interval <= 0:
                return
            with session_scope(self._sessions) as session:
                # the moment is read once the write lock is held: read before, a wait for the lock (tens of
                # milliseconds under load) made two posts land closer than the interval, and Slack said 429
                now = self._clock.now()
                remaining = outbox.claim_post(session, channel=channel, now=now, interval=self._interval)
            if remaining <= 0:
                return
            if remaining > self.hold:
                raise ChannelPaused(channel, now + timedelta(seconds=remaining))
            self._sleep(remaining)

    def defer(self, channel: str, until: datetime) -> None:
        with session_scope(self._sessions) as session:
            outbox.defer_channel(session, channel=channel, until=until)


class SlackFailure(Exception):
    """`outage`: Slack itself failing (5xx, unreachable), which pauses the lane rather than the item."""

    def __init__(
        self,
        message: str,
        *,
        delay: float | None = None,
        permanent: bool = False,
        error: str | None = None,
        outage: bool = False,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message)
        self.delay, self.permanent, self.error, self.outage = delay, permanent, error, outage
        self.rate_limited = rate_limited


OUTAGE_MAX = 60.0  # the longest pause between tries while Slack is failing
# After this many tries failing with a 5xx, an item steps aside with its own backoff: Slack may be failing
# on that one message, and it must not hold the whole lane (a real outage has paused ~3 minutes by then).
OUTAGE_TRIES = 8


class SlackLane:
    """Delivers the items of the Slack lane, and tells the lease loop when to hold off (`paused`) and when
    to take only updates (`only_kinds`: the channel's posts wait out a Retry-After, updates need not).

    When Slack itself fails (5xx, unreachable) the item goes back to its place and the whole lane pauses,
    longer each time, so that after the outage the queue resumes in priority order.
    """

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        reads: SessionFactory,
        slack: WebClient,
        clock: Clock,
        sleep: Callable[[float], None],
        pace_seconds: float,
        settings: Settings | None,
        thread_url: ThreadUrl,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._sessions, self._reads, self._slack, self._clock = sessions, reads, slack, clock
        self._settings = settings  # the digest's time zone and SLA policy
        self._thread_url = thread_url
        self._pacer = Pacer(clock, sleep, sessions, pace_seconds, stopping)
        self.paused_until: datetime | None = None  # nothing at all (an outage, a method's 429)
        self.posts_paused_until: datetime | None = None  # no posts (a channel's Retry-After)
        self._outages = 0  # failures in a row of Slack itself

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def only_kinds(self, now: datetime) -> tuple[str, ...] | None:
        if self.posts_paused_until is not None and now < self.posts_paused_until:
            return outbox.UPDATE_KINDS
        return None

    def deliver(self, item: outbox.Leased) -> None:
        with logs.context(outbox_id=item.id, case_id=item.case_id, kind=item.kind):
            outcome = self._deliver(item)
        metrics.DELIVERIES.labels(item.kind, outcome).inc()

    def _deliver(self, item: outbox.Leased) -> str:
        """Deliver one item; returns the outcome the metrics count it under."""
        try:
            result = self._digest_item(item) if item.kind == digest.KIND else self._slack_item(item)
        except (ChannelPaused, Stopping) as held_back:
            if isinstance(held_back, ChannelPaused):
                self.posts_paused_until = held_back.until
            with session_scope(self._sessions) as session:
                outbox.release(session, item, unsent=True)
            return "held_back"
        except SlackFailure as failure:
            now = self._clock.now()
            with session_scope(self._sessions) as session:
                if failure.outage:
                    self._outages += 1
                    delay = min(OUTAGE_MAX, 2.0 ** (self._outages - 1))
                    self.paused_until = now + timedelta(seconds=delay)
                    logger.warning("Slack is failing (%s); the lane pauses %.0fs", failure, delay)
                    if item.attempts >= OUTAGE_TRIES:
                        outbox.retry_later(session, item, now=now, delay=backoff(item.attempts), error=str(failure))
                    else:
                        outbox.release(session, item, error=str(failure))
                    return "outage"
                if failure.rate_limited:
                    outbox.release(session, item, error=str(failure), unsent=True)
                    return "rate_limited"
                if failure.permanent:
                    logger.error("giving up on outbox item %s (%s): %s", item.id, item.kind, failure)
                    outbox.give_up(session, item, now=now, error=str(failure))
                    return "gave_up"
                delay = failure.delay if failure.delay is not None else backoff(item.attempts)
                logger.warning("outbox item %s (%s) failed, retry in %.1fs: %s", item.id, item.kind, delay, failure)
                outbox.retry_later(session, item, now=now, delay=delay, error=str(failure))
                return "retry"
        self._outages = 0
        with session_scope(self._sessions) as session:
            done = outbox.complete(session, item, now=self._clock.now(), result=result)
        if done:
            logger.info("delivered %s for case %s to Slack", item.kind, item.case_id)
        return "delivered" if done else "lease_lost"

    def case_message(self, session: Session, case: Case) -> case_blocks.Message:
        """The case's own message as it stands; a returning customer's earlier cases are named on it. Whatever
        shows it (a worker's chat.update, a click's response_url) renders it here."""
        earlier = customers.earlier_for(session, case)
        return case_blocks.parent_message(case, earlier, self._thread_url)

    def _slack_item(self, item: outbox.Leased) -> dict[str, Any]:
        if item.kind == reminders.DIRECT_MESSAGE:
            return self._direct_message(item)
        if item.kind == erasure.REDACT:
            return self._redact(item)
        if item.kind in surge.KINDS:
            return self._surge_alert(item)
        if item.kind in surge.BATCH_KINDS:
            return self._surge_batch(item)
        if item.kind == wins.SHARE:
            return self._share_win(item)
        with read_scope(self._reads) as session:  # rendering only reads: it never holds up a writer
            case = session.get(Case, item.case_id)
            if case is None:
                return {"skipped": "case deleted"}
            channel, parent_ts = case.slack_channel, case.slack_ts
            messages: list[case_blocks.Message]
            if item.kind in ("post_parent", "update_parent"):
                messages = [self.case_message(session, case)]
                if item.kind == "post_parent":
                    messages += case_blocks.post_continuations(case)
            elif item.kind == "thread_note":
                event = session.get(CaseEvent, item.payload["event_id"])
                assert event is not None
                mention = (
                    session.get(Mention, event.detail.get("mention_id", -1))
                    if event.kind in ("mention_added", "mention_edited")
                    else None
                )
                messages = case_blocks.thread_note_messages(case, event, mention)
            elif item.kind == reminders.REMINDER:
                reason = reminders.cancelled(case, item.payload)
                if reason:  # the reply or claim landed first
                    return {"skipped": reason}
                messages = [case_blocks.reminder_message(case, item.payload)]
            else:
                raise SlackFailure(f"unknown outbox kind {item.kind!r}", permanent=True)

        if item.kind == "post_parent":
            return self._post_parent(item, channel=channel, parent_ts=parent_ts, messages=messages)
        if parent_ts is None:
            # The parent could not be posted (it is retried first, in order); nothing to hang this on yet.
            raise SlackFailure("parent message not posted yet", delay=backoff(item.attempts))
        if item.kind == "update_parent":
            (text, message_blocks) = messages[0]
            self._send("chat_update", channel=channel, ts=parent_ts, text=text, blocks=message_blocks)
            return {"ts": parent_ts}
        posted = self._post_parts(item, channel=channel, thread_ts=parent_ts, messages=messages, first=[])
        return {"ts": posted[0], **({"parts": len(messages), "part_ts": posted} if len(messages) > 1 else {})}

    def _surge_alert(self, item: outbox.Leased) -> dict[str, Any]:
        """The spike alert: posted once (its ts recorded on the surge), then updated in place, rendered from the
        surge as it stands when sent. Only the post mentions CARE_ESCALATE_TO (the payload's `notify`)."""
        surge_id = item.payload["surge_id"]
        with read_scope(self._reads) as session:
            found = surge.alert(session, surge_id=surge_id)
            if found is None:
                return {"skipped": "surge deleted"}
            notify = (item.payload.get("notify") or ()) if item.kind == surge.POST else ()
            text, message_blocks = surge_blocks.alert_message(found, notify=notify)
        if item.kind == surge.POST:
            if found.ts is not None:
                return {"ts": found.ts, "already": True}
            ts = self._post_once(item, channel=found.channel, text=text, blocks=message_blocks)
            with session_scope(self._sessions) as session:
                surge.record_alert(session, surge_id=surge_id, ts=ts)
            return {"ts": ts}
        if found.ts is None:  # the post is retried first; an update waits for it
            raise SlackFailure("the surge alert is not posted yet", delay=backoff(item.attempts))
        self._send("chat_update", channel=found.channel, ts=found.ts, text=text, blocks=message_blocks)
        return {"ts": found.ts}

    def _surge_batch(self, item: outbox.Leased) -> dict[str, Any]:
        """A batch of posts gathered in a surge: posted once into the alert's thread (after the alert itself; found by
        its metadata after a crash), its ts recorded, then updated in place when one of them is opened as a case."""
        batch_id = item.payload["batch_id"]
        with read_scope(self._reads) as session:
            found = surge.batch(session, batch_id=batch_id)
            if found is None:
                return {"skipped": "batch deleted"}
            text, message_blocks = surge_blocks.batch_message(found)
        if item.kind == surge.BATCH:
            if found.ts is not None:
                return {"ts": found.ts, "already": True}
            if found.alert_ts is None:  # the alert goes first (the staff band); its thread is where this goes
                raise SlackFailure("the surge alert is not posted yet", delay=backoff(item.attempts))
            ts = self._post_once(
                item, channel=found.channel, text=text, blocks=message_blocks, thread_ts=found.alert_ts
            )
            with session_scope(self._sessions) as session:
                surge.record_batch(session, batch_id=batch_id, ts=ts)
            return {"ts": ts}
        if found.ts is None:  # the batch's post is retried first; an update waits for it
            raise SlackFailure("the surge batch is not posted yet", delay=backoff(item.attempts))
        self._send("chat_update", channel=found.channel, ts=found.ts, text=text, blocks=message_blocks)
        return {"ts": found.ts}

    def _share_win(self, item: outbox.Leased) -> dict[str, Any]:
        """A win in CARE_WINS_CHANNEL: posted once (found by its metadata after a crash), rendered as stored."""
        with read_scope(self._reads) as session:
            event = session.get(CaseEvent, item.payload["event_id"])
            case = session.get(Case, item.case_id)
            if event is None or case is None:
                return {"skipped": "case deleted"}
            mention = session.get(Mention, event.detail.get("mention_id", -1)) or wins.praised(case)
            if mention.text == erasure.REMOVED:
                return {"skipped": "the customer's words were erased"}
            text, message_blocks = case_blocks.win_message(case, mention, event.actor)
        return {"ts": self._post_once(item, channel=item.payload["channel"], text=text, blocks=message_blocks)}

    def _redact(self, item: outbox.Leased) -> dict[str, Any]:
        """Replace one posted message's words in place (an erasure); a message already gone needs nothing."""
        channel, ts = item.payload["channel"], item.payload["ts"]
        removed = erasure.REMOVED
        try:
            self._send("chat_update", channel=channel, ts=ts, text=removed, blocks=[limits.section(removed)])
        except SlackFailure as failure:
            if failure.error != "message_not_found":
                raise
            return {"skipped": "message not found", "ts": ts}
        return {"ts": ts}

    def _post_parent(
        self, item: outbox.Leased, *, channel: str, parent_ts: str | None, messages: list[case_blocks.Message]
    ) -> dict[str, Any]:
        """The case message, then the rest of a long post in its thread (each part once, whatever crashes)."""
        already = parent_ts is not None
        if parent_ts is None:
            text, message_blocks = messages[0]
            parent_ts = self._post_once(item, channel=channel, text=text, blocks=message_blocks)
            with session_scope(self._sessions) as session:
                stored = session.get(Case, item.case_id)
                if stored is not None and stored.slack_ts is None:
                    stored.slack_ts = parent_ts
        result: dict[str, Any] = {"ts": parent_ts, **({"already": True} if already else {})}
        if len(messages) > 1:
            posted = self._post_parts(item, channel=channel, thread_ts=parent_ts, messages=messages, first=[parent_ts])
            result.update(parts=len(messages), part_ts=posted)
        return result

    def _post_parts(
        self,
        item: outbox.Leased,
        *,
        channel: str,
        thread_ts: str,
        messages: list[case_blocks.Message],
        first: list[str],
    ) -> list[str]:
        """Post the `messages` not yet in `first` (the ts of those already posted) in the thread, in order,
        skipping parts an earlier attempt checkpointed and finding (by metadata) any Slack took before a
        crash; the item's progress is checkpointed after each part.

        Returns every part's ts, by part number: kept in the item's result as `part_ts`, what an erasure updates."""
        progress = dict(item.progress)
        posted: list[str] = list(progress.get("part_ts") or first)
        for part in range(len(posted), len(messages)):
            text, message_blocks = messages[part]
            ts = self._post_once(
                item, channel=channel, text=text, blocks=message_blocks, thread_ts=thread_ts, part=part
            )
            posted.append(ts)
            if len(messages) > 1:
                self._checkpoint(item, {**progress, "part_ts": posted})
        return posted

    def _direct_message(self, item: outbox.Leased) -> dict[str, Any]:
        """A DM to one user about a case (an escalation, a follow-up due): open the conversation, post once."""
        payload = item.payload
        text, message_blocks = self._render_dm(item)
        channel = self._open_dm(payload["user"])
        ts = self._post_once(item, channel=channel, text=text, blocks=message_blocks)
        return {"channel": channel, "ts": ts}

    def _render_dm(self, item: outbox.Leased) -> tuple[str, mrkdwn.Blocks | None]:
        payload = item.payload
        if "text" in payload:  # queued by a version that rendered at queue time
            return str(payload["text"]), payload.get("blocks")
        with read_scope(self._reads) as session:
            case = session.get(Case, item.case_id)
            if case is None:
                raise SlackFailure("the case of this direct message is gone", permanent=True)
            link = self._thread_url(case.slack_channel, case.slack_ts)
            if payload["dm"] == reminders.ESCALATION_DM:
                return case_blocks.escalation_dm(case, payload["clock"], timedelta(seconds=payload["limit"]), link)
            return case_blocks.follow_up_dm(case, payload.get("set_by"), link)

    def _open_dm(self, user: str) -> str:
        """The DM channel with `user` (conversations.open finds it if it exists)."""
        return str(self._call("conversations_open", users=user)["channel"]["id"])

    def _post_once(
        self,
        item: outbox.Leased,
        *,
        channel: str,
        text: str,
        blocks: Any = None,
        thread_ts: str | None = None,
        part: int = 0,
    ) -> str:
        """Post, unless an earlier attempt's message is found already in Slack; the message's ts either way."""
        return self._find_previous_post(item, channel, thread_ts=thread_ts, part=part) or self._post(
            item, channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, part=part
        )

    def _post(
        self,
        item: outbox.Leased,
        *,
        channel: str,
        text: str,
        blocks: Any = None,
        thread_ts: str | None = None,
        part: int = 0,
    ) -> str:
        self._pacer.wait(channel)
        marker: dict[str, Any] = {"outbox_id": item.id, **({"part": part} if part else {})}
        response = self._send(
            "chat_postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": marker},
        )
        return str(response["ts"])

    def _send(self, method: str, *, text: str, blocks: Any = None, **kwargs: Any) -> Any:
        """Post or update a message; if Slack refuses it as built, again in a minimal form that says so, then
        as plain text. Only a refusal of the plain text too gives the item up (permanent, as before)."""
        try:
            return self._call(method, text=text, blocks=blocks, **kwargs)
        except SlackFailure as failure:
            if failure.error not in SLACK_REFUSED:
                raise
            reason = failure.error
        logger.warning("Slack refused a message as built (%s); sending it plainly", reason)
        plain_text, plain_blocks = limits.minimal(text, blocks, reason)
        try:
            return self._call(method, text=plain_text, blocks=plain_blocks, **kwargs)
        except SlackFailure as failure:
            if failure.error not in SLACK_REFUSED:
                raise
        logger.warning("Slack refused the plain form too (%s); sending the text alone", reason)
        note = f":warning: Slack refused this message as built ({reason}), so it is shown as text only.\n"
        return self._call(method, text=limits.fit(note + text, limits.FALLBACK_TEXT), **kwargs)

    def _find_previous_post(
        self, item: outbox.Leased, channel: str, *, thread_ts: str | None, part: int = 0
    ) -> str | None:
        """After a lost attempt, look for the message Slack may already have taken from us."""
        if item.attempts <= 1:
            return None
        try:
            if thread_ts:
                response = self._call(
                    "conversations_replies", channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                response = self._call("conversations_history", channel=channel, include_all_metadata=True, limit=200)
        except SlackFailure as failure:
            if failure.permanent or failure.error == "missing_scope":
                return None  # cannot check (e.g. a missing history scope): post, rather than lose it
            raise
        for message in response.get("messages", []):
            meta = message.get("metadata") or {}
            found = meta.get("event_payload", {}) if meta.get("event_type") == METADATA_EVENT else {}
            if found.get("outbox_id") == item.id and found.get("part", 0) == part:
                logger.info("outbox item %s was already posted as %s", item.id, message.get("ts"))
                return str(message["ts"])
        return None

    def _call(self, method: str, **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            return getattr(self._slack, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if status == 429:
                headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
                retry_after = _seconds(headers.get("retry-after"))
                until = self._clock.now() + timedelta(seconds=retry_after)
                channel = kwargs.get("channel")
                if method == "chat_postMessage" and isinstance(channel, str):
                    self._pacer.defer(channel, until)  # every replica waits; updates go on meanwhile
                    self.posts_paused_until = until
                else:  # a method's own limit (Web API tiers): the lane waits
                    self.paused_until = until
                raise SlackFailure(
                    f"Slack rate limited {method} (Retry-After {retry_after:g}s)", delay=retry_after, rate_limited=True
                ) from exc
            if status >= 500:
                raise SlackFailure(f"Slack answered HTTP {status} to {method}", outage=True) from exc
            if error in SLACK_CONFIG_ERRORS or error == "ratelimited":
                raise SlackFailure(
                    f"Slack refused {method}: {error} (check the bot token, scopes and channel)", error=error
                ) from exc
            raise SlackFailure(f"Slack refused {method}: {error or status}", permanent=True, error=error) from exc
        except (OSError, TimeoutError) as exc:  # URLError, connection reset, timeouts
            raise SlackFailure(f"Slack could not be reached for {method}: {type(exc).__name__}", outage=True) from exc
        except SlackRequestError as exc:  # files_upload_v2: the upload URL answered other than 200
            raise SlackFailure(f"Slack did not take the upload in {method}: {exc}") from exc

    # -- the daily digest ------------------------------------------------------------------------
    def _digest_item(self, item: outbox.Leased) -> dict[str, Any]:
        """Open the DM, post the digest (and any continuation in its thread), then upload its chart.

        Each step is checkpointed on the item, so a retry after a failure resumes at the step that
        failed; after a crash between Slack taking a message and the checkpoint, the message is found
        by its metadata instead of being posted twice.
        """
        settings = self._settings
        if settings is None:
            raise SlackFailure("digest delivery needs the settings (time zone, SLA policy)", permanent=True)
        user, day = item.payload["user"], date.fromisoformat(item.payload["day"])
        progress = dict(item.progress)
        channel = progress.get("channel") or self._open_dm(user)
        with read_scope(self._reads) as session:
            report = digest.build(session, day=day, now=self._clock.now(), policy=settings.sla, tz=settings.timezone)
        messages = digest_blocks.digest_messages(report, link_for=self._thread_url, tz=settings.timezone)
        for part, (text, message_blocks) in enumerate(messages):
            if part < progress.get("posted", 0):
                continue
            thread_ts = progress["ts"] if part else None
            ts = self._post_once(
                item, channel=channel, text=text, blocks=message_blocks, thread_ts=thread_ts, part=part
            )
            progress.update(channel=channel, posted=part + 1, **({} if part else {"ts": ts}))
            self._checkpoint(item, progress)
        if "file_id" not in progress and not report.quiet:
            # matplotlib is imported by the worker that needs it, never by a listener
            from bot.blocks import chart

            target = self._settings.sla.normal.first_response if self._settings else None
            png = chart.render(report.daily, title=digest_blocks.chart_title(report), first_response_target=target)
            uploaded = self._call(
                "files_upload_v2",
                channel=channel,
                file=png,
                filename=f"care-digest-{day}.png",
                title=digest_blocks.chart_title(report),
                alt_txt=digest_blocks.chart_alt_text(report),
            )
            progress["file_id"] = uploaded["file"]["id"]
        return progress

    def _checkpoint(self, item: outbox.Leased, progress: dict[str, Any]) -> None:
        with session_scope(self._sessions) as session:
            outbox.checkpoint(session, item, progress=progress)


def _seconds(value: Any, default: float = 1.0) -> float:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default
