"""Tests of connectors/: one module per platform, and the transport they share."""
