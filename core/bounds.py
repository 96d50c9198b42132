"""Bounds on every input: ids within the database's keys, and text within the columns that keep it.

The API's structs declare the same bounds (msgspec), so an over-long field is refused before it is even
built; the domain checks them again for every other way in (forms, CLI, imports).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import QueryableAttribute

from core.errors import ValidationFailed
from core.text import translatable

# INTEGER primary keys on PostgreSQL (SQLite's hold 64 bits): the narrowest id column, so every id's bound.
MAX_ID = 2**31 - 1
# Text columns have no length of their own: an item's description or proposal is at most about 100 pages
# (its request may carry 1 MiB, web.limits.LONG_TEXT_BODY), an explanation a paragraph or two.
LONG_TEXT = 300_000
EXPLANATION = 5_000
# A word from a closed list (a role, a mode, a publicity): its columns are String(32) at most.
WORD = 32
TOO_LONG = translatable("At most {max} characters fit here.")
# Moments a meeting, a deadline or a search may name: wide enough for any real one, and far enough from
# datetime's own ends (years 1 and 9999) that converting between time zones cannot overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
E = TypeVar("E", bound=StrEnum)


def valid_id(value: int) -> bool:
    """Could a row have this id? Anything else is not found, without asking the database (which would
    fail on a number wider than its column)."""
    return 1 <= value <= MAX_ID


def length_of(column: QueryableAttribute[Any]) -> int:
    """The characters a String column holds, e.g. length_of(Meeting.place) == 300."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no length")
    return length


def check_moment(value: datetime, *, field: str) -> None:
    """A time-zone-aware moment within EARLIEST and LATEST (comparing aware moments cannot overflow)."""
    if not EARLIEST <= value < LATEST:
        raise ValidationFailed("Give a time between the years 2000 and 2999.", field=field)


def check_length(value: str, limit: int, *, field: str) -> None:
    if len(value) > limit:
        raise ValidationFailed(TOO_LONG, field=field, max=limit)


def check_lengths(values: Any, limits: dict[str, int]) -> None:
    """Each named text attribute of `values` (a spec) within its limit; the first one beyond is refused."""
    for field, limit in limits.items():
        check_length(getattr(values, field) or "", limit, field=field)


def check_choice(enum: type[E], value: str, field: str) -> E:
    """One word of a closed list (a role, a mode), or a ValidationFailed that lists the words."""
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(
            "{name} must be one of: {allowed}.", field=field, name=field, allowed=allowed
        ) from exc
