"""Tests of bot/blocks/: the pure Block Kit builders."""
