"""Hookgate."""
