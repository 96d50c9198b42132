"""Marks user interface text that is not written where it is raised or shown, so `make messages` finds it."""

from __future__ import annotations


def translatable(text: str) -> str:
    """`text` unchanged: for a module constant, a refusal handed on, or a fallback translated later."""
    return text
