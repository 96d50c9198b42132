"""Fixtures shared by the page tests (tests/web/town.py)."""

from tests.web.town import login, town

__all__ = ["login", "town"]
