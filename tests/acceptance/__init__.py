"""Acceptance tests: the real `care-bot serve` in a subprocess, driven as Slack and the platforms drive it."""
