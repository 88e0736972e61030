"""Tests of connectors/meta.py: Facebook and Instagram, sharing the fake Graph API of conftest.py."""
