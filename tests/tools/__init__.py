"""Tests of bot/tools/: the demo."""
