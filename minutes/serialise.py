"""The minutes as JSON: plain values from the content model, canonical bytes (RFC 8785) and their hash.

Field names are the model's; enumerations are their values, moments RFC 3339 in UTC, days ISO 8601. A
few derived facts that a reader should not have to compute are added: the decision modes used (R-MIN-2) and
each vote's count beside the stances it comes from (R-VOTE-3).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from audit.canonical import canonical_json
from meetings.rules.voting import Choice
from minutes.document import MinutesDocument, Vote

JSONValue = Any  # what json.loads returns: dict, list, str, int, bool or None


def _moment(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("a moment in the minutes must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _vote_extras(vote: Vote) -> dict[str, JSONValue]:
    return {"counts": {choice.value: vote.count(choice) for choice in Choice}}


def _document_extras(document: MinutesDocument) -> dict[str, JSONValue]:
    return {"modes": list(document.modes)}


EXTRAS: dict[type, Callable[[Any], dict[str, JSONValue]]] = {
    Vote: _vote_extras,
    MinutesDocument: _document_extras,
}


def plain(value: object) -> JSONValue:
    """The JSON value of any part of the content model."""
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        extras = EXTRAS.get(type(value))
        return result | extras(value) if extras else result
    raise TypeError(f"{type(value).__name__} has no place in minutes JSON")


def document_json(document: MinutesDocument) -> dict[str, JSONValue]:
    result: dict[str, JSONValue] = plain(document)
    return result


def canonical(value: JSONValue) -> bytes:
    """RFC 8785 bytes: the same content always gives the same bytes, whoever serialises it."""
    return canonical_json(value)


def content_hash(value: JSONValue) -> str:
    """Hex SHA-256 of the canonical bytes: what every signature of the JSON minutes is made over."""
    return hashlib.sha256(canonical(value)).hexdigest()
