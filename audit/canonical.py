"""RFC 8785 (JCS) canonical JSON, with a fast path for the values the log actually holds."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_SAFE_INT = 2**53


def canonical_json(value: Any) -> bytes:
    """JCS bytes of `value`.

    For objects built only of ASCII keys, strings, safe integers, booleans, null, lists and
    objects, Python's sorted compact JSON is byte-identical to JCS and about three times faster;
    anything else (floats, huge integers, non-ASCII keys whose UTF-16 order may differ) goes
    through the reference implementation.
    """
    if _plain(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return bytes(rfc8785.dumps(value))


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -_SAFE_INT < value < _SAFE_INT
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


# JSON string encoding without ASCII escaping: what JCS prescribes for strings, and what json.dumps uses.
_json_str = json.encoder.encode_basestring


def entry_bytes(seq: int, ts: str, actor: str, action: str, subject: str, data_json: str) -> bytes:
    """JCS of an entry whose `data` is already canonical JSON text (as the database stores it).

    Keys in JCS order: action, actor, data, seq, subject, ts. Identical to
    `canonical_json(entry_fields(...))`; tests hold the two together.
    """
    return (
        f'{{"action":{_json_str(action)},"actor":{_json_str(actor)},"data":{data_json},'
        f'"seq":{seq},"subject":{_json_str(subject)},"ts":{_json_str(ts)}}}'
    ).encode()
