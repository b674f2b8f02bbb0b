"""Compliance engine: the 3676 baseline as policy data, config parsers and pure check functions."""
