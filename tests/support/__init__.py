"""What the tests share that is not a test: the app's test settings, signed Slack requests, complaints through
the generic webhook, a desk driving the app over HTTP, `care-bot serve` in a subprocess, the stats data set and
reading a block tree's text. Stand-ins for Slack's and the platforms' APIs live in tests/fakes/."""
