"""Domain services: plain functions over a session and plain values."""
