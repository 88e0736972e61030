"""The playbook file: the shipped default, what a team can tune, placeholders and {due}, and every mistake refused in
one sentence naming CARE_PLAYBOOK_FILE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.services import coach, playbook
from bot.services.playbook import Names, due_words
from bot.sla import BusinessHours, SlaPolicy, SlaTargets
from connectors.base import rule_for

NAMES = Names(customer="Jane", agent="Alice", case="42", due="within the hour", contact="by direct message")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        playbook.load(path)
    message = str(raised.value)
    assert message.startswith(f"CARE_PLAYBOOK_FILE ({path})") and "\n" not in message
    return message


# -- the shipped default -------------------------------------------------------------------------------------------
def test_the_default_has_the_six_saved_replies_and_every_coach_rule_on() -> None:
    book = playbook.default()
    assert [r.id for r in book.replies] == [
        "acknowledge",
        "apologise",
        "move_offline",
        "thank_praise",
        "closing",
        "follow_up",
    ]
    assert [r.title for r in book.replies][:2] == ["Acknowledge", "Apologise"]
    assert book.coach.enabled == frozenset(playbook.RULE_KEYS)
    assert playbook.configured(None) is book


@pytest.mark.parametrize("platform", ["twitter", "facebook", "instagram", "reddit", "google"])
@pytest.mark.parametrize("reply_id", [r.id for r in playbook.default().replies])
def test_every_default_saved_reply_put_in_a_new_reply_passes_the_default_coach(reply_id: str, platform: str) -> None:
    book = playbook.default()
    saved = book.reply(reply_id)
    assert saved is not None
    text = book.compose(saved.text_for(platform), NAMES, current="", keep=False)
    draft = coach.Draft(text, "Jane", "Alice", platform, rule_for(platform))
    assert coach.review(draft, book.coach) == [], text


def test_a_variant_is_used_on_its_platform_and_x_has_two_names() -> None:
    book = playbook.parse(
        {
            "format": 1,
            "replies": [
                {"id": "hi", "title": "Hi", "text": "general", "variants": {"twitter": "short", "google": "g"}}
            ],
        },
        source="test",
        base=playbook.default(),
    )
    saved = book.reply("hi")
    assert saved is not None
    assert [saved.text_for(p) for p in ("twitter", "x", "X", "google", "reddit")] == [
        "short",
        "short",
        "short",
        "g",
    ] + ["general"]


# -- filling in and composing --------------------------------------------------------------------------------------
def test_a_new_reply_starts_with_the_greeting_a_blank_line_and_the_sign_off() -> None:
    assert playbook.default().start(NAMES) == "Hi Jane,\n\n– Alice"


def test_a_saved_reply_goes_between_greeting_and_sign_off_or_below_what_was_written() -> None:
    book = playbook.default()
    body = "Your case is {case}; I'll reply {due} ({contact})."
    filled = "Your case is 42; I'll reply within the hour (by direct message)."
    assert book.compose(body, NAMES, current="anything", keep=False) == f"Hi Jane,\n{filled}\n– Alice"
    assert book.compose(body, NAMES, current="", keep=True) == f"Hi Jane,\n{filled}\n– Alice"
    written = "Hi Jane,\nSo sorry about the wait.\n– Alice"
    assert book.compose(body, NAMES, current=written, keep=True) == (
        f"Hi Jane,\nSo sorry about the wait.\n{filled}\n– Alice"
    )
    assert book.compose(body, NAMES, current="Jane, sorry!", keep=True) == f"Jane, sorry!\n{filled}"


# -- what a team tunes ---------------------------------------------------------------------------------------------
def test_a_teams_file_keeps_the_default_for_what_it_leaves_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
format = 1
[compose]
sign_off = "{agent} at Acme"
[coach.shouting]
on = false
[coach.excuses]
phrases = ["rules are rules"]
""",
    )
    book = playbook.load(path)
    default = playbook.default()
    assert book.greeting == default.greeting and book.sign_off == "{agent} at Acme"
    assert book.replies == default.replies
    assert "shouting" not in book.coach.enabled and "excuses" in book.coach.enabled
    assert book.coach.excuses.find(playbook.normalise("Sorry, rules are rules.")) == "rules are rules"
    assert book.coach.excuses.find(playbook.normalise("You should have read them")) is None
    assert book.coach.promises == default.coach.promises and book.coach.time_patterns == default.coach.time_patterns


def test_a_team_can_have_no_saved_replies_and_switch_the_coach_off(tmp_path: Path) -> None:
    book = playbook.load(write(tmp_path, "format = 1\nreplies = []\n[coach]\non = false\n"))
    assert book.replies == () and book.coach.enabled == frozenset()


def test_literal_braces_are_written_doubled(tmp_path: Path) -> None:
    book = playbook.load(write(tmp_path, 'format = 1\n[[replies]]\nid = "a"\ntitle = "A"\ntext = "{{x}} {customer}"\n'))
    assert playbook.fill(book.replies[0].text, NAMES) == "{x} Jane"


# -- mistakes, each one sentence -----------------------------------------------------------------------------------
REPLY = '[[replies]]\nid = "sorry"\ntitle = "Sorry"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("format = 1\n[compose\n", "is not valid TOML"),
        ("format = 2\n", "format must be 1"),
        ("format = 1\nreplys = []\n", "the file has an unknown setting 'replys'"),
        (
            f'format = 1\n{REPLY}text = "Hi {{name}}"\n',
            "[[replies]] 'sorry' text uses unknown placeholder {name}: only ",
        ),
        (f"format = 1\n{REPLY}", "[[replies]] 'sorry' needs a text."),
        (f'format = 1\n{REPLY}text = "  "\n', "[[replies]] 'sorry' text must be a text of 1 to 2000 characters"),
        (f'format = 1\n{REPLY}text = "Hi {{customer"\n', "text is not a valid template"),
        (f'format = 1\n{REPLY}text = "Hi {{customer!r}}"\n', "uses a placeholder with a format"),
        (f'format = 1\n{REPLY}text = "x"\n[replies.variants]\ntwitter = "{{due:>9}}"\n', "variant 'twitter'"),
        (f'format = 1\n{REPLY}text = "x"\n{REPLY}text = "y"\n', "appears twice"),
        ('format = 1\n[[replies]]\nid = "Bad Id"\ntitle = "x"\ntext = "x"\n', "needs an id of lower-case letters"),
        (f'format = 1\n{REPLY}text = "x"\nsubject = "y"\n', "has an unknown setting 'subject'"),
        ('format = 1\n[compose]\ngreeting = "Hi {first_name},"\n', "[compose] greeting uses unknown placeholder"),
        ('format = 1\n[coach.excuses]\nphrases = "you should have"\n', "[coach.excuses] phrases must be a list"),
        ('format = 1\n[coach.greeting]\non = "yes"\n', "[coach.greeting] on must be true or false"),
        ("format = 1\n[coach.shouting]\nmin_words = 0\n", "min_words must be a whole number from 1 to 50"),
        ("format = 1\n[coach.vague_promise]\ntime_patterns = ['(']\n", "is not a regular expression"),
        ("format = 1\n[coach.spelling]\non = true\n", "[coach] has an unknown setting 'spelling'"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_setting_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(write(tmp_path, text))


def test_an_unreadable_file_is_one_sentence(tmp_path: Path) -> None:
    assert refused(tmp_path / "missing.toml").endswith("missing.toml) does not exist.")
    assert "names a directory" in refused(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("format = 1\n# caf\xe9\n".encode("latin-1"))
    assert "is not UTF-8 text" in refused(bad)


def test_configured_reads_the_named_file(tmp_path: Path) -> None:
    path = write(tmp_path, "format = 1\nreplies = []\n")
    assert playbook.configured(path).replies == ()
    with pytest.raises(ConfigError, match="CARE_PLAYBOOK_FILE"):
        playbook.configured(tmp_path / "nope.toml")


# -- {due}: when the customer will hear back -----------------------------------------------------------------------
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (timedelta(minutes=1), "within 1 minute"),
        (timedelta(minutes=30), "within 30 minutes"),
        (timedelta(minutes=45), "within the hour"),
        (timedelta(hours=1), "within the hour"),
        (timedelta(minutes=90), "within 2 hours"),
        (timedelta(hours=24), "within 24 hours"),
        (timedelta(days=3), "within 3 days"),
    ],
)
def test_due_around_the_clock_says_how_long(target: timedelta, words: str) -> None:
    policy = SlaPolicy(normal=SlaTargets(first_response=target))
    assert due_words(policy, priority="normal", now=NOW) == words


def test_due_uses_the_urgent_target_for_an_urgent_case() -> None:
    policy = SlaPolicy(urgent=SlaTargets(first_response=timedelta(minutes=15)))
    assert due_words(policy, priority="urgent", now=NOW) == "within 15 minutes"
    assert due_words(policy, priority="high", now=NOW) == "within the hour"


@pytest.mark.parametrize(
    ("local", "words"),
    [
        ("2026-11-24 10:00", "within the hour"),  # Tuesday morning, open: the clock runs
        ("2026-11-24 07:00", "by 10:00 today"),  # before opening
        ("2026-11-24 17:00", "by tomorrow 09:30"),  # half an hour before closing: the rest tomorrow
        ("2026-11-24 20:00", "by tomorrow 10:00"),
        ("2026-11-27 20:00", "by Monday 10:00"),  # Friday evening
    ],
)
def test_due_in_business_hours_names_the_moment_when_the_clock_stops_first(local: str, words: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    policy = SlaPolicy(hours=BusinessHours.parse("Mon-Fri 09:00-17:30", berlin))
    now = datetime.fromisoformat(local).replace(tzinfo=berlin)
    assert due_words(policy, priority="normal", now=now) == words
