"""Surges as the service decides them, over a real database and no Slack: the rate, the backlog, start, update,
end, and the common terms. What the team sees in Slack is in tests/outbox/test_surge_alert.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot import db
from bot.models import Case, Mention, OutboxItem, Surge, SurgeBatch
from bot.services import ingest, outbox, surge
from connectors.base import Author, InboundMention

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a fixed moment: nothing here depends on the hour or the zone
THRESHOLD = 5


def arrive(sessions, n: int, at: datetime, text: str = "My refund is late, terrible service") -> None:
    """Mention number `n`, by its own author (so its own case), received at `at`."""
    m = InboundMention(
        platform="twitter",
        external_id=str(n),
        author=Author(id=f"a{n}", handle=f"cust{n}", name=f"Customer {n}"),
        text=text,
        posted_at=at,
    )
    with db.session_scope(sessions) as s:
        ingest.ingest(s, mention=m, connector="generic", channel="C0CARE", now=at)


def posted_all(sessions) -> None:
    """The Slack lane took every case message: the backlog is drained."""
    with db.session_scope(sessions) as s:
        s.execute(update(OutboxItem).where(OutboxItem.kind == "post_parent").values(state=outbox.DONE))


def tick(sessions, at: datetime) -> surge.Tick:
    with db.session_scope(sessions) as s:
        return surge.tick(s, now=at, threshold=THRESHOLD, channel="C0CARE", escalate_to=("U0LEAD",))


def alert_items(sessions) -> list[tuple[str, dict]]:
    with sessions() as s:
        rows = s.execute(
            select(OutboxItem.kind, OutboxItem.payload).where(OutboxItem.kind.in_(surge.KINDS)).order_by(OutboxItem.id)
        )
        return [(kind, payload) for kind, payload in rows]


def the_surge(sessions) -> Surge:
    with sessions() as s:
        found = s.scalars(select(Surge)).one()
        s.expunge(found)
        return found


def test_the_rate_counts_the_last_minute_only(sessions) -> None:
    arrive(sessions, 1, T0)  # exactly a minute before the reading: out
    arrive(sessions, 2, T0 + timedelta(seconds=1))
    arrive(sessions, 3, T0 + timedelta(seconds=60))
    with sessions() as s:
        found = surge.reading(s, now=T0 + timedelta(seconds=60))
    assert found == surge.Reading(rate=2, backlog=3)


def test_under_the_threshold_nothing_starts(sessions) -> None:
    for n in range(THRESHOLD - 1):
        arrive(sessions, n, T0 + timedelta(seconds=n))
    posted_all(sessions)
    assert tick(sessions, T0 + timedelta(seconds=10)) == surge.Tick()
    assert alert_items(sessions) == []


def test_reaching_the_threshold_starts_one_surge_and_queues_one_alert_ahead_of_the_case_messages(sessions) -> None:
    for n in range(THRESHOLD):
        arrive(sessions, n, T0 + timedelta(seconds=n))
    started = tick(sessions, T0 + timedelta(seconds=10))
    assert started.started and started.surge_id is not None
    assert tick(sessions, T0 + timedelta(seconds=10)) == surge.Tick(surge_id=started.surge_id)  # again: nothing
    assert alert_items(sessions) == [(surge.POST, {"surge_id": started.surge_id, "notify": ["U0LEAD"]})]
    with sessions() as s:
        queue = outbox.ready(s, lane=outbox.SLACK, now=T0 + timedelta(seconds=10))
        assert s.get(OutboxItem, queue[0]).kind == surge.POST  # before the five case messages
    shown = the_surge(sessions).shown
    assert (shown["rate"], shown["peak"], shown["mentions"], shown["cases"], shown["backlog"]) == (5, 5, 5, 5, 5)


def test_a_backlog_alone_starts_a_surge(sessions) -> None:
    """Mentions slower than the threshold, but the case messages piling up unposted (Slack is behind)."""
    for n in range(THRESHOLD):
        arrive(sessions, n, T0 + timedelta(seconds=30 * n))  # two a minute
    at = T0 + timedelta(seconds=30 * THRESHOLD)
    with sessions() as s:
        assert surge.reading(s, now=at).rate < THRESHOLD
    assert tick(sessions, at).started
    assert the_surge(sessions).shown["backlog"] == THRESHOLD


def test_an_update_is_queued_only_when_what_is_shown_changed(sessions) -> None:
    for n in range(THRESHOLD):
        arrive(sessions, n, T0)
    tick(sessions, T0 + timedelta(seconds=1))
    with db.session_scope(sessions) as s:  # the alert was posted
        s.execute(update(OutboxItem).where(OutboxItem.kind == surge.POST).values(state=outbox.DONE))
    arrive(sessions, 100, T0 + timedelta(seconds=5))
    assert tick(sessions, T0 + timedelta(seconds=11)).updated
    assert [k for k, _ in alert_items(sessions)] == [surge.POST, surge.UPDATE]
    # the update not yet sent will render the latest: a further change queues no second one
    arrive(sessions, 101, T0 + timedelta(seconds=15))
    assert tick(sessions, T0 + timedelta(seconds=21)).updated
    assert [k for k, _ in alert_items(sessions)] == [surge.POST, surge.UPDATE]
    shown = the_surge(sessions).shown
    assert (shown["rate"], shown["peak"], shown["mentions"]) == (7, 7, 7)


def test_it_ends_after_three_quiet_minutes_and_a_busy_moment_starts_the_count_again(sessions) -> None:
    for n in range(THRESHOLD):
        arrive(sessions, n, T0)
    first = tick(sessions, T0 + timedelta(seconds=1))
    posted_all(sessions)
    calm = T0 + timedelta(minutes=2)  # the minute's mentions have aged out, nothing waits
    assert not tick(sessions, calm).ended
    assert the_surge(sessions).calm_since == calm
    for n in range(10, 10 + THRESHOLD):  # busy again before three quiet minutes
        arrive(sessions, n, calm + timedelta(minutes=1))
    posted_all(sessions)
    tick(sessions, calm + timedelta(minutes=1, seconds=5))
    assert the_surge(sessions).calm_since is None
    quiet = calm + timedelta(minutes=3)
    tick(sessions, quiet)
    assert not tick(sessions, quiet + timedelta(minutes=2, seconds=59)).ended
    ended = tick(sessions, quiet + timedelta(minutes=3))
    assert ended == surge.Tick(surge_id=first.surge_id, updated=True, ended=True)
    over = the_surge(sessions)
    assert over.ongoing is None and over.ended_at == quiet  # it lasted until it went quiet
    assert (over.shown["mentions"], over.shown["cases"], over.shown["peak"]) == (10, 10, 5)
    assert tick(sessions, quiet + timedelta(minutes=10)) == surge.Tick()  # over is over


def a_surge_that_ended(sessions) -> surge.Tick:
    """A surge from T0: its posts all in the channel, quiet from T0+2 min, over at T0+5 min (the last tick)."""
    for n in range(THRESHOLD):
        arrive(sessions, n, T0)
    tick(sessions, T0)
    posted_all(sessions)
    tick(sessions, T0 + timedelta(minutes=2))
    return tick(sessions, T0 + timedelta(minutes=5))


def test_a_new_spike_after_the_end_is_a_new_surge(sessions) -> None:
    assert a_surge_that_ended(sessions).ended
    for n in range(10, 10 + THRESHOLD):
        arrive(sessions, n, T0 + timedelta(hours=1))
    assert tick(sessions, T0 + timedelta(hours=1)).started
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Surge)) == 2
        assert s.scalar(select(func.count()).select_from(Surge).where(Surge.ongoing == 1)) == 1


def test_the_sentiment_mix_uses_vaders_thresholds(sessions) -> None:
    scores = [-0.05, -0.049, 0.0, 0.049, 0.05, -0.9]
    for n, _ in enumerate(scores):
        arrive(sessions, n, T0)
    with db.session_scope(sessions) as s:
        for n, score in enumerate(scores):
            s.execute(update(Mention).where(Mention.external_id == str(n)).values(sentiment=score))
    tick(sessions, T0)
    shown = the_surge(sessions).shown
    assert shown["mix"] == [2, 3, 1]  # negative ≤ -0.05, positive ≥ 0.05, the rest neutral
    assert [w[0] for w in shown["worst"]] == [6, 1]  # the two negative ones, worst first, by case id


def test_common_terms_leave_out_stop_words_links_and_handles_and_count_each_post_once() -> None:
    texts = [
        "@acme My flight was CANCELLED and my bag is lost lost lost https://t.co/xyz",
        "@acme flight cancelled again, lost bag, no refund #acmefail",
        "Flight cancelled. Where is my refund? #acmefail",
        "I love the crew",
    ]
    terms, phrases = surge.common_terms(texts)
    assert terms == [("cancelled", 3), ("flight", 3), ("#acmefail", 2), ("bag", 2), ("lost", 2), ("refund", 2)]
    assert phrases == [("flight cancelled", 2)]  # "flight was cancelled" is not the phrase
    assert surge.common_terms(reversed(texts)) == (terms, phrases)  # the order of the posts changes nothing


def test_words_keep_apostrophes_inside_and_drop_what_says_nothing() -> None:
    assert surge.words("Don’t @acme me: it's 2 late www.acme.com/x <!channel>") == [
        "don't",
        "me",
        "it's",
        "2",
        "late",
        "channel",
    ]


def test_gathering_withdraws_only_waiting_normal_messages_a_worker_has_not_taken(sessions) -> None:
    """A case message a worker leased (or once tried) is posted as usual, never also listed in a batch."""
    for n in range(THRESHOLD):
        arrive(sessions, n, T0 + timedelta(seconds=n))
    posted_all(sessions)
    assert tick(sessions, T0 + timedelta(seconds=10)).started
    later = T0 + timedelta(seconds=20)
    for n in range(10, 14):
        arrive(sessions, n, later, text="any news on my order, can you check?")
    arrive(sessions, 20, later, text="I will sue you, lawyer contacted")  # urgent: its own message
    with db.session_scope(sessions) as s:
        waiting = s.scalars(
            select(OutboxItem).where(OutboxItem.kind == "post_parent", OutboxItem.state == outbox.PENDING)
        ).all()
        assert len(waiting) == 5
        waiting[0].lease_owner, waiting[0].lease_until = "worker", later + timedelta(seconds=15)
        waiting[1].attempts = 1  # a worker tried it once: it may be in Slack already
        taken = {waiting[0].case_id, waiting[1].case_id}
    tick(sessions, later + timedelta(seconds=1))
    with sessions() as s:
        [batch] = s.scalars(select(SurgeBatch)).all()
        listed = [case_id for case_id, _, again in batch.entries]
        assert len(listed) == 2 and not taken & set(listed)
        states = dict(
            s.execute(select(OutboxItem.case_id, OutboxItem.state).where(OutboxItem.kind == "post_parent")).all()
        )
        assert [states[c] for c in listed] == [outbox.CANCELLED] * 2
        assert sorted(states[c] for c in taken) == [outbox.PENDING] * 2
        assert s.scalar(select(func.count()).select_from(Case).where(Case.gathered_in == batch.id)) == 2
        kinds = s.scalars(select(OutboxItem.kind).where(OutboxItem.kind == surge.BATCH)).all()
        assert kinds == [surge.BATCH]
    tick(sessions, later + timedelta(seconds=11))  # nothing new: nothing gathered twice
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SurgeBatch)) == 1


def test_the_figures_name_each_surge_that_overlaps_the_period_with_its_totals(sessions) -> None:
    a_surge_that_ended(sessions)  # the first surge: T0 to T0+2 min (when it went quiet)
    later = T0 + timedelta(hours=1)
    for n in range(10, 10 + THRESHOLD + 1):
        arrive(sessions, n, later)
    tick(sessions, later)  # the second is still on
    with sessions() as s:
        answered = s.get(Case, 1)
        assert answered is not None
        answered.first_response_at = T0 + timedelta(minutes=1)  # (the ORM keeps its stored wait)
        s.commit()
        now = later + timedelta(minutes=1)
        both = surge.during(s, start=T0 - timedelta(hours=1), end=now, now=now)
        only_first = surge.during(s, start=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=30), now=now)
        after_first = surge.during(s, start=T0 + timedelta(minutes=2, microseconds=1), end=later, now=now)
        before_both = surge.during(s, start=T0 - timedelta(hours=1), end=T0, now=now)
    first, second = both
    assert (first.started_at, first.ended_at) == (T0, T0 + timedelta(minutes=2))
    assert (first.mentions, first.cases, first.answered, first.peak_per_min) == (THRESHOLD, THRESHOLD, 1, THRESHOLD)
    assert (second.started_at, second.ended_at) == (later, None)
    assert (second.mentions, second.cases, second.answered) == (THRESHOLD + 1, THRESHOLD + 1, 0)
    assert only_first == [first]  # a surge that ended as the period began still counts in it
    assert after_first == []  # over before the period; the second starts as it ends (the end is exclusive)
    assert before_both == []


def test_posts_waiting_from_the_minute_before_the_surge_was_noticed_are_gathered_too(sessions) -> None:
    """The tick notices a surge a few seconds late: the posts of the minute before are the surge's (its alert counts
    them), so their waiting messages are gathered rather than holding the channel; older ones are not."""
    arrive(sessions, 1, T0, text="any news on my order, can you check?")  # 61 s before the surge: not the surge's
    for n in range(2, 2 + THRESHOLD):
        arrive(sessions, n, T0 + timedelta(seconds=50 + n), text="any news on my order, can you check?")
    noticed = T0 + timedelta(seconds=61)
    assert tick(sessions, noticed).started
    with sessions() as s:
        [batch] = s.scalars(select(SurgeBatch)).all()
        assert sorted(case_id for case_id, _, _ in batch.entries) == list(range(2, 2 + THRESHOLD))
        first = s.scalar(select(OutboxItem.state).where(OutboxItem.kind == "post_parent", OutboxItem.case_id == 1))
        assert first == outbox.PENDING  # older than the surge's minute: its own message, as before


def test_with_no_surge_on_nothing_is_gathered_and_the_scheduler_has_no_page_to_follow(sessions) -> None:
    """A full page of waiting normal posts and no surge (storm mode off, or a quiet desk): the tick's gathering
    withdraws nothing and reports nothing looked at, so the scheduler does not go on page after page."""
    for n in range(surge.GATHER_LIMIT + 5):
        arrive(sessions, n, T0 + timedelta(milliseconds=n), text="any news on my order, can you check?")
    with sessions() as s:
        waiting = surge.waiting_parents(s, now=T0 + timedelta(seconds=1))
    assert len(waiting) == surge.GATHER_LIMIT  # the minute's posts, as a tick about to start a surge sees them
    with db.session_scope(sessions) as s:
        assert surge.gather(s, now=T0 + timedelta(seconds=1), waiting=waiting) == surge.Gathered()
    with sessions() as s:
        pending = s.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.state == outbox.PENDING))
    assert pending == surge.GATHER_LIMIT + 5


def test_a_big_surges_terms_are_counted_in_its_latest_posts_and_the_alert_says_so(sessions, monkeypatch) -> None:
    from bot.blocks.surge import alert_message

    monkeypatch.setattr(surge, "TEXT_SAMPLE", 3)
    for n in range(THRESHOLD):  # the two oldest say "parcel", the three latest "refund"
        text = "parcel lost again" if n < 2 else "refund late again"
        arrive(sessions, n, T0 + timedelta(seconds=n), text=text)
    tick(sessions, T0 + timedelta(seconds=10))
    shown = the_surge(sessions).shown
    assert shown["counted"] == 3 and shown["mentions"] == THRESHOLD
    assert shown["terms"] == [["late", 3], ["refund", 3]]  # "parcel" is only in the older two ("again": a stop word)
    found = surge.Alert(1, "C0CARE", None, T0, None, shown, [])
    text = str(alert_message(found)[1])
    assert f"Counted in the latest 3 of {THRESHOLD} posts." in text
    whole = surge.Alert(1, "C0CARE", None, T0, None, {**shown, "counted": THRESHOLD}, [])
    assert "Counted in the latest" not in str(alert_message(whole)[1])  # every post counted: nothing to say
