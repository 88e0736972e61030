"""The real `care-bot` command in a subprocess: bad settings end in one sentence and exit status 2,
`db upgrade` is repeatable, and `serve` runs the whole app (HTTP, outbox worker) against a Slack stand-in."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from bot.tools.slack_standin import SlackStandIn
from tests.support.env import CHANNEL, WEBHOOK_SECRET
from tests.support.serve import clean_env, free_port, start_serve, stop, valid_settings, wait_healthy
from tests.support.waiting import wait_for
from tests.support.webhooks import post_webhook, webhook_body


def run_cli(tmp_path: Path, *args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_sentence(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0], lines[0]
    assert lines[0].startswith("care-bot: "), lines[0]
    return lines[0]


# -- bad settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        pytest.param({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN", id="no-bot-token"),
        pytest.param({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN", id="user-token"),
        pytest.param({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET", id="no-signing-secret"),
        pytest.param({"SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN", id="bad-app-token"),
        pytest.param({"CARE_CHANNEL": "#care"}, "CARE_CHANNEL", id="channel-name"),
        pytest.param({"CARE_ESCALATE_TO": "U123ABC, @bob"}, "CARE_ESCALATE_TO", id="escalate-to"),
        pytest.param({"PORT": "abc"}, "PORT", id="port-abc"),
        pytest.param({"PORT": "70000"}, "PORT", id="port-range"),
        pytest.param({"DATABASE_URL": "care.db"}, "DATABASE_URL", id="database-url-no-scheme"),
        pytest.param({"DATABASE_URL": "mysql://care@db/care"}, "DATABASE_URL", id="database-url-mysql"),
        pytest.param({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", id="api-url"),
        pytest.param({"CARE_GENERIC_REPLY_URL": "ftp://relay"}, "CARE_GENERIC_REPLY_URL", id="reply-url"),
        pytest.param({"CARE_MOVE_TO_DM_TEMPLATE": "Hi {name}"}, "CARE_MOVE_TO_DM_TEMPLATE", id="template"),
        pytest.param({"CARE_TRIAGE_FILE": "no-such-policy.toml"}, "CARE_TRIAGE_FILE", id="triage-file-missing"),
        pytest.param({"CARE_TRIAGE_FILE": "."}, "CARE_TRIAGE_FILE", id="triage-file-directory"),
        pytest.param({"CARE_TRIAGE_MODEL": "no-such-model.json"}, "CARE_TRIAGE_MODEL", id="triage-model-missing"),
        pytest.param({"CARE_WINS_CHANNEL": "#wins"}, "CARE_WINS_CHANNEL", id="wins-channel-name"),
        pytest.param({"CARE_SLA_FIRST_RESPONSE": "99999999999d"}, "CARE_SLA_FIRST_RESPONSE", id="sla-overflow"),
        pytest.param({"DATABASE_URL": "sqlite:///"}, "DATABASE_URL", id="database-in-memory"),
        pytest.param({"CARE_ENV_FILE": "no-such.env"}, "CARE_ENV_FILE", id="env-file-missing"),
        pytest.param({"HOST": "0.0.0.0:3000"}, "HOST", id="host-with-port"),
        pytest.param({"LOG_FORMAT": "xml"}, "LOG_FORMAT", id="log-format"),
        pytest.param({"PORT": "３０００"}, "PORT", id="port-full-width-digits"),
        pytest.param({"CARE_SWEEP_SECONDS": "1e308"}, "CARE_SWEEP_SECONDS", id="sweep-huge"),
        pytest.param({"CARE_TIMEZONE": "America"}, "CARE_TIMEZONE", id="timezone-directory"),
    ],
)
def test_serve_with_a_bad_setting_exits_2_with_one_sentence(tmp_path, overrides, variable):
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, **overrides))
    assert_one_sentence(result, variable)
    assert result.stdout == ""


def test_serve_with_nothing_configured_names_the_first_missing_variable(tmp_path):
    result = run_cli(tmp_path, "serve", env={})
    assert_one_sentence(result, "SLACK_BOT_TOKEN")


def test_bad_setting_in_a_dot_env_file_is_reported_the_same_way(tmp_path):
    settings = valid_settings(tmp_path, CARE_CHANNEL="#care")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    result = run_cli(tmp_path, "serve", env={})
    assert_one_sentence(result, "CARE_CHANNEL")


def test_serve_with_a_database_that_cannot_be_opened_exits_2(tmp_path):
    (tmp_path / "care.db").mkdir()  # a directory where the database file should be
    url = f"sqlite:///{tmp_path / 'care.db'}"
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, DATABASE_URL=url))
    # one line: the migrations that were about to run say nothing at the default level
    line = assert_one_sentence(result, "DATABASE_URL")
    assert line == "care-bot: DATABASE_URL names a database that could not be opened (unable to open database file)."


def test_serve_with_a_database_in_a_directory_that_does_not_exist_exits_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'care.db'}"
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, DATABASE_URL=url))
    line = assert_one_sentence(result, "DATABASE_URL")
    assert "a directory that does not exist" in line and str(tmp_path / "no" / "such" / "dir") in line


def test_serve_with_a_policy_file_that_has_a_mistake_names_it_before_opening_anything(tmp_path):
    (tmp_path / "policy.toml").write_text('format = 1\n[cues.refund]\nwieght = 2\nwords = ["refund"]\n')
    result = run_cli(tmp_path, "serve", env=valid_settings(tmp_path, CARE_TRIAGE_FILE="policy.toml"))
    line = assert_one_sentence(result, "CARE_TRIAGE_FILE")
    assert "[cues.refund] has an unknown setting 'wieght'" in line
    assert not (tmp_path / "care.db").exists()  # refused before the database was opened or migrated


# -- triage check ---------------------------------------------------------------------------------
def test_triage_check_prints_one_json_object_per_text_given_as_arguments(tmp_path):
    result = run_cli(
        tmp_path, "triage", "check", "My flight was cancelled, I want a refund!", "Thanks, lovely crew", env={}
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert list(first) == ["needs_reply", "score", "priority", "reason"]
    assert first["needs_reply"] is True and first["priority"] in ("high", "urgent") and 0.5 <= first["score"] <= 1
    assert "'cancelled'" in first["reason"] and "'refund'" in first["reason"]
    assert second["needs_reply"] is False and second["priority"] == "low" and 0 <= second["score"] < 0.5
    assert second["reason"].startswith("Low · praise:")


def test_triage_check_reads_one_text_per_line_from_standard_input_and_honours_the_policy_file(tmp_path):
    (tmp_path / "policy.toml").write_text(
        "format = 1\n[score]\nbias = -5.0\ntone = 0.0\n"
        '[cues.parcel]\nweight = 10.0\npriority = "urgent"\nwords = ["parcel"]\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "check"],
        cwd=tmp_path,
        env=clean_env(CARE_TRIAGE_FILE="policy.toml"),
        input="where is my parcel\n\nMy flight was cancelled!\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(verdicts) == 2  # the blank line is skipped
    assert (
        verdicts[0]["priority"] == "urgent" and verdicts[0]["reason"] == "Urgent · needs a reply: 'parcel' · tone calm"
    )
    assert verdicts[1]["needs_reply"] is False  # this team's policy has no cue for a cancellation


def test_triage_check_with_a_bad_policy_file_exits_2_with_one_sentence(tmp_path):
    (tmp_path / "policy.toml").write_text("format = 1\n[score]\nhigh = 2\n")
    result = run_cli(tmp_path, "triage", "check", "hello", env={"CARE_TRIAGE_FILE": "policy.toml"})
    line = assert_one_sentence(result, "CARE_TRIAGE_FILE")
    assert "[score] high must be between 0 and 1" in line
    assert result.stdout == ""


# -- db upgrade -----------------------------------------------------------------------------------
def test_db_upgrade_creates_the_schema_and_can_run_again(tmp_path):
    db_file = tmp_path / "fresh.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    first = run_cli(tmp_path, "db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert db_file.is_file()
    engine = create_engine(f"sqlite:///{db_file}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"cases", "mentions", "alembic_version"} <= tables, tables

    second = run_cli(tmp_path, "db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr


def test_db_upgrade_defaults_to_care_db_in_the_working_directory(tmp_path):
    result = run_cli(tmp_path, "db", "upgrade", env={})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "care.db").is_file()


@pytest.mark.parametrize("url", ["care.db", "mysql://care@db/care", "postgresql://care:pw@db:port/care"])
def test_db_upgrade_with_a_bad_database_url_exits_2(tmp_path, url):
    result = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": url})
    line = assert_one_sentence(result, "DATABASE_URL")
    assert ":pw@" not in line


def test_db_upgrade_with_a_database_that_cannot_be_opened_exits_2(tmp_path):
    result = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'care.db'}"})
    assert_one_sentence(result, "DATABASE_URL")


# -- serve ----------------------------------------------------------------------------------------
@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token="xoxb-cli-test-token") as slack:
        yield slack


def test_serve_runs_the_app_and_delivers_to_slack(tmp_path, standin):
    env = valid_settings(
        tmp_path,
        SLACK_API_URL=standin.api_url,
        CARE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CARE_GENERIC_REPLY_URL=standin.reply_url,
    )
    served = start_serve(tmp_path, env)
    try:
        health = wait_healthy(served)
        assert health.json()["ok"] is True
        assert standin.calls_to("auth.test"), "serve checks the token on start-up"

        r = post_webhook(served.url, webhook_body())
        assert r.status_code == 202, r.text
        assert r.json() == {"case_id": 1, "duplicate": False}

        # The outbox worker inside `serve` posts the parent message on its own.
        posts = wait_for(lambda: standin.calls_to("chat.postMessage"), timeout=10)
        assert posts[0].params["channel"] == CHANNEL
        assert posts[0].token == "xoxb-cli-test-token"
        assert len(standin.channel(CHANNEL)) == 1

        unsigned = httpx.post(f"{served.url}/webhooks/generic", content=json.dumps(webhook_body()), timeout=10)
        assert unsigned.status_code == 401
    finally:
        code = stop(served)
    output = served.output()
    assert code in (0, -signal.SIGTERM), output
    assert "Traceback" not in output, output
    assert "xoxb-cli-test-token" not in output, output


def test_serve_with_a_token_slack_rejects_exits_2(tmp_path, standin):
    env = valid_settings(tmp_path, SLACK_API_URL=standin.api_url, SLACK_BOT_TOKEN="xoxb-revoked-token")
    result = run_cli(tmp_path, "serve", env=env, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("care-bot: SLACK_BOT_TOKEN"), result.stderr
    assert "invalid_auth" in last
    assert "xoxb-revoked-token" not in result.stderr + result.stdout
    assert [c.method for c in standin.state.calls] == ["auth.test"]  # nothing else was attempted


def test_serve_with_an_app_token_slack_rejects_exits_2(tmp_path, standin):
    """Socket Mode: the stand-in refuses apps.connections.open for any token but the bot's, like a bad xapp-."""
    env = valid_settings(
        tmp_path, SLACK_API_URL=standin.api_url, SLACK_APP_TOKEN="xapp-1-A0-revoked", SLACK_SIGNING_SECRET=None
    )
    result = run_cli(tmp_path, "serve", env=env, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("care-bot: SLACK_APP_TOKEN"), result.stderr
    assert "invalid_auth" in last
    assert "xapp-1-A0-revoked" not in result.stderr + result.stdout
    assert "apps.connections.open" in [c.method for c in standin.state.calls]


def test_serve_starts_even_when_slack_is_unreachable(tmp_path):
    """An outage at start-up is not a configuration error: the outbox retries once Slack is back."""
    env = valid_settings(tmp_path, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    served = start_serve(tmp_path, env)
    try:
        assert wait_healthy(served).json()["ok"] is True
    finally:
        code = stop(served)
    assert code in (0, -signal.SIGTERM), served.output()
    assert "Traceback" not in served.output()


def test_connectors_lists_every_platform_without_needing_slack_settings(tmp_path):
    result = run_cli(tmp_path, "connectors", env={"X_USER_ID": "2244994945"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert "X (Twitter)" in lines[0] and "disabled" in lines[0] and "missing X_BEARER_TOKEN" in lines[0]
    assert any("Google Business Profile" in line and "GOOGLE_LOCATIONS" in line for line in lines)


def test_connectors_with_a_bad_platform_setting_exits_2(tmp_path):
    result = run_cli(tmp_path, "connectors", "--check", env={"REDDIT_POLL_SECONDS": "soon"})
    assert_one_sentence(result, "REDDIT_POLL_SECONDS")


def test_connectors_check_opens_the_apps_database_and_reports_one_that_cannot_be_opened(tmp_path):
    ok = run_cli(tmp_path, "connectors", "--check", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'care.db'}"})
    assert ok.returncode == 0 and (tmp_path / "care.db").exists(), ok.stderr
    broken = run_cli(
        tmp_path, "connectors", "--check", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'care.db'}"}
    )
    assert_one_sentence(broken, "DATABASE_URL")


# -- forget ---------------------------------------------------------------------------------------
def test_forget_erases_a_customer_says_what_it_changed_and_the_app_updates_slack(tmp_path, app_url, rt, slack, clock):
    """The operator's run against the app's database; the running app's outbox then updates the case message."""
    assert post_webhook(app_url, webhook_body()).status_code == 202
    rt.deliverer.drain()
    [message] = slack.channel(CHANNEL)
    assert "Jane Doe" in json.dumps(message.blocks)

    database = {"DATABASE_URL": rt.settings.database_url}
    result = run_cli(tmp_path, "forget", "--platform", "twitter", "--author", "42", env=database)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "cases: 1" in lines and "posts: 1" in lines and "Slack messages to update: 1" in lines
    assert lines[-1] == (
        "Erased twitter author 42 from 1 case; the running app updates 1 Slack message to '[removed on request]'."
    )
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(seconds=1))  # the CLI queued it on the wall clock
    rt.deliverer.drain()
    shown = json.dumps(message.blocks)
    assert "[removed on request]" in shown and "Jane Doe" not in shown and "refund" not in shown

    again = run_cli(tmp_path, "forget", "--platform", "twitter", "--handle", "@jane_doe", env=database)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "Nothing to erase: no personal data is stored for twitter user @jane_doe (erased already, or never stored)."
    ]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param((), "--platform", id="nothing"),
        pytest.param(("--platform", "twitter"), "--author --handle", id="no-person"),
        pytest.param(("--author", "42"), "--platform", id="no-platform"),
        pytest.param(("--platform", "twitter", "--author", "42", "--handle", "jane_doe"), "--handle", id="both"),
        pytest.param(("--platform", " ", "--author", "42"), "--platform", id="blank-platform"),
        pytest.param(("--platform", "twitter", "--handle", "@"), "--handle", id="blank-handle"),
        pytest.param(("--platform", "twitter", "--author"), "--author", id="no-value"),
    ],
)
def test_forget_with_bad_arguments_exits_2_with_one_sentence_and_touches_nothing(tmp_path, args, named):
    result = run_cli(tmp_path, "forget", *args, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'care.db'}"})
    assert_one_sentence(result, named)
    assert result.stdout == ""
    assert not (tmp_path / "care.db").exists()


def test_forget_with_a_database_that_cannot_be_opened_exits_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'no' / 'care.db'}"
    result = run_cli(tmp_path, "forget", "--platform", "twitter", "--author", "42", env={"DATABASE_URL": url})
    assert_one_sentence(result, "DATABASE_URL")
