"""Delivery: the workers that lease outbox items and send them to Slack or a platform, exactly once."""
