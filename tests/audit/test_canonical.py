"""The fast canonical JSON path must be byte-identical to the RFC 8785 reference implementation."""

import random

import pytest
import rfc8785

from audit.actions import entry_fields
from audit.canonical import canonical_json, entry_bytes

TRICKY = [
    {"b": 1, "a": [True, False, None], "c": {"z": "", "y": "\u00e4\u00f6 \u20ac \U0001f600"}},
    {
        "quote": '"',
        "backslash": "\\",
        "controls": "\x00\x01\x1f\b\t\n\f\r",
        "del": "\x7f",
        "ls": "\u2028\u2029",
    },
    {"big": 2**53 - 1, "neg": -(2**53) + 1, "zero": 0},
    {"float": 1.5, "exp": 1e21, "tiny": 5e-324},  # reference path
    {"\u00e4": 1, "a": 2, "\U0001f600": 3, "\ufb01": 4},  # non-ASCII keys: reference path, UTF-16 order
    [],
    "plain",
]


@pytest.mark.parametrize("value", TRICKY)
def test_matches_reference_on_tricky_values(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_integers_beyond_the_json_safe_range_are_refused() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json({"huge": 2**64})


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.choice(["str", "int", "bool", "none", "list", "dict"] if depth < 3 else ["str", "int"])
    if kind == "str":
        return "".join(
            chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0xD800)])) for _ in range(6)
        )
    if kind == "int":
        return rng.randrange(-(2**53) + 1, 2**53)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        "".join(rng.choice("abcXYZ_09") for _ in range(4)): _random_value(rng, depth + 1) for _ in range(4)
    }


def test_matches_reference_on_random_values() -> None:
    rng = random.Random(8785)
    for _ in range(2000):
        value = {"data": _random_value(rng)}
        assert canonical_json(value) == rfc8785.dumps(value)


def test_verifier_entry_bytes_equal_the_canonical_entry() -> None:
    data = {"address": "127.0.0.1", "reason": 'wrong password "quoted" \u00e4', "n": 3}
    fields = entry_fields(7, "2026-11-28T09:00:00.000000Z", "user:1", "login.failed", "user:1", data)
    fast = entry_bytes(
        7, "2026-11-28T09:00:00.000000Z", "user:1", "login.failed", "user:1", canonical_json(data).decode()
    )
    assert fast == rfc8785.dumps(fields)
