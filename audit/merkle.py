"""RFC 9162 Merkle tree hashes: leaf and chain hashes of entries, and roots over the leaves."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

ZERO_CHAIN = bytes(32)


def leaf_hash(canonical_entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()


class Frontier:
    """The roots of the perfect subtrees covering the leaves appended so far (a compact range).

    Appending is amortised O(1) and `root()` folds at most log2(n) hashes, so the root of every
    prefix of a million-leaf log can be taken in one pass.
    """

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        # (height, hash) pairs; heights strictly decrease from the left.
        self._stack: list[tuple[int, bytes]] = []
        heights = [h for h in range(size.bit_length(), -1, -1) if size >> h & 1]
        for height, value in zip(heights, hashes, strict=True):
            self._stack.append((height, value))

    def append(self, leaf: bytes) -> None:
        height, value = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            value = node_hash(left, value)
            height += 1
        self._stack.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value

    def hashes(self) -> list[bytes]:
        return [value for _, value in self._stack]


def root_of(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()
