"""What an operator sees of the running app: metrics (Prometheus), logs (text or JSON) and readiness."""
