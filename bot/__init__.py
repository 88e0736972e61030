"""care-bot: a Slack desk for answering public social-media complaints."""

__version__ = "0.1.0"
