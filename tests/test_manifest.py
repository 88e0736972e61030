"""app_manifest.yaml is a valid Slack app manifest that matches what the bot serves and needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "app_manifest.yaml"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "slack" / "manifest.schema.1.0.0.json"

# Every bot scope must be justified by an API call the bot makes (see the comments in the manifest).
# Adding one means every workspace has to re-approve the app: extend this list only with the code.
ALLOWED_BOT_SCOPES = {
    "chat:write",  # chat.postMessage / chat.update / chat.postEphemeral
    "commands",  # /care
    "users:read",  # users.info for first names
    "channels:history",  # conversations.history/replies (include_all_metadata) in a public channel
    "groups:history",  # ... and in a private one
    "im:write",  # conversations.open: the digest's direct message to a manager
    "im:history",  # conversations.history in that DM, to find a digest already posted before a crash
    "files:write",  # files_upload_v2: the digest's chart
    "channels:read",  # conversations.members: the care channel's members are the care team by default
    "groups:read",  # ... when the care channel is private
    "usergroups:read",  # usergroups.users.list: user groups named in CARE_TEAM
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"Slack manifest schema not available at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)

    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))

    assert not errors, "\n".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors)


def test_manifest_basics(manifest: dict[str, Any]) -> None:
    assert "_metadata" not in manifest
    info = manifest["display_information"]
    assert info["name"] == "Care Desk"
    assert len(info["long_description"]) >= 175
    # the schema spells this constraint "regex", which JSON Schema validators ignore
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])
    bot_user = manifest["features"]["bot_user"]
    assert bot_user == {"display_name": "care-desk", "always_online": True}
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True  # handlers/home.py publishes it on app_home_opened
    # the digest arrives by direct message, which people read in the Messages tab; nobody writes to the bot
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is True


def test_care_command_and_interactivity_reach_the_slack_endpoint(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert "/care" in commands
    care = commands["/care"]
    assert care["url"].endswith("/slack/events")
    assert care["usage_hint"] == "stats [today|7d|30d] | mine | triage | digest | replies | help"
    assert care["should_escape"] is False

    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_bot_scopes_are_only_the_ones_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "the bot acts only with its bot token: no user scopes"
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), "duplicate scope"
    unexpected = set(bot) - ALLOWED_BOT_SCOPES
    assert not unexpected, f"scopes not on the allow-list (see tests/test_manifest.py): {unexpected}"
    assert {"chat:write", "commands", "im:write", "files:write"} <= set(bot)
    # who may act: the care channel's members (public or private channel) and CARE_TEAM's user groups
    assert {"channels:read", "groups:read", "usergroups:read"} <= set(bot)
