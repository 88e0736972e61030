"""Social platforms behind one small interface (see connectors.base)."""
