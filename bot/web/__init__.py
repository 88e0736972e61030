"""Where a complaint enters over HTTP: the routes (Slack events, webhooks, health) and the server."""
