"""Alembic revisions for the care-bot schema (a package so they ship inside the wheel)."""
