"""Tests of bot/outbox/: the lease loop and the Slack lane, against the fake Slack."""
