"""Tests of bot/schedule/: the scheduler, its jobs (the SLA sweep's reminders) and the pollers."""
