"""Thin Slack listeners: ack, parse into plain values, call one service, render, call Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.runtime import Runtime


def register_all(app: App, rt: Runtime) -> None:
    from handlers import actions, commands, views

    for module in (actions, views, commands):
        module.register(app, rt)


def clicked_case_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


def user_id(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])
