"""The demo's people: who they are, their organisation-wide roles and their seats."""

from __future__ import annotations

from dataclasses import dataclass

from auth.models import Role


@dataclass(frozen=True, slots=True)
class DemoPerson:
    username: str
    display_name: str
    roles: tuple[Role, ...]  # organisation-wide
    seats: tuple[tuple[str, str], ...]  # (body slug, role in the body)
