"""What is not the service itself: the local demo, the Slack stand-in it runs against, connectors --check."""
