"""Shared pytest fixtures; see conftest.py (pytest_plugins)."""
