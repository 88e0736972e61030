"""Triage learns from the team: what it agreed with (`/care triage`), and a model learned from the desk's decisions."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot import db
from bot.errors import UserError
from bot.models import Mention
from bot.services import cases, erasure, triage_learning, triage_policy
from tests.support.serve import clean_env
from tests.support.triage_desk import NOW, answer, ignore, post

# the team of this desk answers parcel trouble and ignores raffle spam, whatever the default policy says of them
ANSWERED = "my parcel {n} arrived crushed and the box was soaked"
IGNORED = "win a free raffle ticket {n} today follow and retweet"


def decided_desk(sessions, count: int = 25) -> None:
    with db.session_scope(sessions) as s:
        for n in range(count):
            answer(s, post(s, n, ANSWERED.format(n=n)), "replied" if n % 2 else "moved_to_dm")
            ignore(s, post(s, 1000 + n, IGNORED.format(n=n)), ("spam", "troll", "not_for_us")[n % 3])


def test_agreement_counts_each_decided_case_once_by_its_first_posts_verdict(sessions) -> None:
    with db.session_scope(sessions) as s:
        flagged_answered = post(s, 1, "my refund is late, where is it?")
        answer(s, flagged_answered)
        cases.record(s, cases.get_case(s, flagged_answered), actor="U0BOB", kind="replied", now=NOW)  # twice: once
        quiet_answered = post(s, 2, "Thanks, lovely crew")  # the policy: no reply needed; the team answered
        answer(s, quiet_answered, "moved_to_dm")
        flagged_ignored = post(s, 3, "you are all useless, worst airline")
        ignore(s, flagged_ignored, "troll")
        quiet_ignored = post(s, 4, "follow me for free followers")
        ignore(s, quiet_ignored, "spam")
        answered_then_ignored = post(s, 5, "my bag is lost")
        answer(s, answered_then_ignored)
        ignore(s, answered_then_ignored, "troll")  # it needed a reply: it got one
        undecided = post(s, 6, "my bag is lost too")
        cases.resolve(s, case_id=undecided, user_id="U0ALICE", outcome="resolved", comment=None, now=NOW)
        post(s, 7, "still open, nobody decided")
        old = post(s, 8, "my parcel is late")  # stored before verdicts were kept
        answer(s, old)
        s.execute(update(Mention).where(Mention.case_id == old).values(needs_reply=None))
        earlier = post(s, 9, "my refund is late", at=NOW - timedelta(days=40))  # outside the period
        answer(s, earlier)
    with sessions() as s:
        found = triage_learning.agreement(s, start=NOW - timedelta(days=30), end=NOW + timedelta(hours=1))
    assert (found.agreed_needed, found.flagged_not_needed, found.missed, found.agreed_not_needed) == (2, 1, 1, 1)
    assert found.unjudged == 1 and found.decided == 5
    assert found.precision == pytest.approx(2 / 3) and found.recall == pytest.approx(2 / 3)


def test_a_forgotten_customers_case_is_neither_judged_nor_learned_from(sessions) -> None:
    with db.session_scope(sessions) as s:
        answer(s, post(s, 1, "my refund is late, where is it?"))
    with db.session_scope(sessions) as s:
        erasure.forget(s, platform="twitter", author_id="author-1", handle=None, now=NOW)
    with sessions() as s:
        assert triage_learning.decisions(s) == []


def test_a_model_learned_from_the_desks_decisions_follows_what_the_team_did(sessions) -> None:
    decided_desk(sessions)
    with sessions() as s:
        examples = triage_learning.desk_examples(s)
    assert sum(examples.labels) == 25 and len(examples.labels) == 50
    assert examples.source == "the desk's decisions (50 cases)"
    model = triage_learning.learn(examples, triage_policy.default(), now=NOW)
    crushed = model.probability("my parcel arrived crushed")
    raffle = model.probability("free raffle ticket, follow and retweet")
    assert crushed > 0.7 > 0.3 > raffle
    assert any("crushed" in word for word in model.evidence("my parcel arrived crushed"))
    with_model = replace(triage_policy.default(), model=model)  # what CARE_TRIAGE_MODEL makes of the default
    assert with_model.assess("free raffle ticket, follow and retweet").needs_reply is False
    assert with_model.assess("my parcel arrived crushed").needs_reply is True


def test_too_few_decisions_are_refused_in_one_sentence(sessions) -> None:
    decided_desk(sessions, count=5)
    with sessions() as s, pytest.raises(UserError) as refused:
        triage_learning.learn(triage_learning.desk_examples(s), triage_policy.default(), now=NOW)
    assert str(refused.value) == (
        "Not enough to learn from in the desk's decisions (10 cases): 5 that needed a reply and 5 that did not "
        "(at least 20 of each)."
    )


def test_a_csv_with_a_missing_column_or_that_is_not_text_is_refused_in_one_sentence(tmp_path: Path) -> None:
    good = tmp_path / "labels.csv"
    good.write_text("tweet,label,confidence\nmy bag is lost,negative,1\nlovely crew,positive,0.6\n")
    found = triage_learning.csv_examples(
        good, text_column="tweet", label_column="label", needs_reply_value="negative", weight_column="confidence"
    )
    assert (found.texts, found.labels, found.weights) == (["my bag is lost", "lovely crew"], [True, False], [1.0, 0.6])
    with pytest.raises(UserError, match=r"has no column 'text' \(it has: tweet, label, confidence\)"):
        triage_learning.csv_examples(good, text_column="text", label_column="label", needs_reply_value="negative")
    binary = tmp_path / "labels.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(UserError, match="could not be read as a UTF-8 CSV file"):
        triage_learning.csv_examples(binary, text_column="text", label_column="label", needs_reply_value="x")


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "triage", *args],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_care_bot_triage_learn_on_the_desks_history_then_check_with_the_model(sessions, database_url, tmp_path) -> None:
    decided_desk(sessions)
    learned = cli(tmp_path, "learn", "--out", "model.json", DATABASE_URL=database_url)
    assert learned.returncode == 0, learned.stderr
    assert learned.stdout.splitlines() == [
        "Learned from the desk's decisions (50 cases): 25 needed a reply, 25 did not.",
        "Wrote model.json. Set CARE_TRIAGE_MODEL=model.json and restart the app to triage with it; "
        "`care-bot triage check` shows what it makes of a text first.",
    ]
    checked = cli(tmp_path, "check", "free raffle ticket, follow and retweet", CARE_TRIAGE_MODEL="model.json")
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["needs_reply"] is False and verdict["priority"] == "low"
    plain = cli(tmp_path, "check", "free raffle ticket, follow and retweet")  # the default policy alone
    assert json.loads(plain.stdout)["score"] != verdict["score"]


def test_care_bot_triage_learn_from_a_csv_and_its_mistakes(tmp_path: Path) -> None:
    rows = [(ANSWERED.format(n=n), "negative") for n in range(30)] + [
        (IGNORED.format(n=n), "neutral") for n in range(30)
    ]
    (tmp_path / "tweets.csv").write_text(
        "text,airline_sentiment\n" + "".join(f"{t},{label}\n" for t, label in rows), encoding="utf-8"
    )
    args = ["--csv", "tweets.csv", "--label-column", "airline_sentiment", "--needs-reply-value", "negative"]
    learned = cli(tmp_path, "learn", *args, "--out", "model.json")
    assert learned.returncode == 0, learned.stderr
    assert learned.stdout.startswith("Learned from tweets.csv (60 rows): 30 needed a reply, 30 did not.")
    assert json.loads((tmp_path / "model.json").read_text())["training"]["rows"] == 60
    wrong = cli(tmp_path, "learn", "--csv", "tweets.csv", "--out", "model.json")  # label column defaults to "label"
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.splitlines() == [
        "care-bot: tweets.csv has no column 'label' (it has: text, airline_sentiment)."
    ]
    nowhere = cli(tmp_path, "learn", *args, "--out", "no/such/dir/model.json")
    assert nowhere.returncode == 1 and "The model could not be written to no/such/dir/model.json" in nowhere.stderr
    assert "Traceback" not in wrong.stderr + nowhere.stderr
