"""Slack out: pure Block Kit builders (data in, dicts out), and the thread links they use."""
