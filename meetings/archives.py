"""Looking inside zip-based documents (Office Open XML, OpenDocument) without trusting their headers.

The central directory is read only when its end record says it is small. Every part is then unpacked as a
stream, 64 KiB at a time, and counted as it comes; nothing is ever unpacked whole. A document is refused,
naming it, when it has too many parts, when a part or the whole would unpack to more than the caps or a part
is compressed more than documents ever are (a zip bomb), and when a part does not match what the directory
says of it. Parts packed with anything but deflate (or not packed) are not read at all: documents use nothing
else, and Python unpacks bzip2 and LZMA without a bound.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from core.errors import ValidationFailed

MiB = 1024 * 1024
MAX_PARTS = 10_000  # a large presentation has a few thousand
MAX_DIRECTORY = 2 * MiB  # the central directory's bytes: what zipfile reads (and keeps) before anything else
MAX_PART = 512 * MiB  # unpacked, one part (or the file's own size, if more: a stored video)
MAX_UNPACKED = 1024 * MiB  # unpacked, all parts together (or twice the file's size, if more)
MAX_RATIO = 200  # unpacked to packed, for a part over RATIO_FLOOR; deflate's own ceiling is about 1000
RATIO_FLOOR = 1 * MiB  # smaller parts may compress better (repetitive XML) and cannot cost much
STEP = 64 * 1024
PACKINGS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_END = struct.Struct("<4s4H2LH")  # the end of central directory record
_END_SIGNATURE, _ZIP64_LOCATOR = b"PK\x05\x06", b"PK\x06\x07"
_BROKEN = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError)


class UnsafeArchive(ValidationFailed):
    """Looking inside the file would cost more than any document does, or its directory misstates it."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template, field="file", **params)


@dataclass(slots=True)
class Contents:
    names: list[str]
    small: dict[str, bytes] = field(default_factory=dict)  # the wanted parts that were small enough


def look_inside(path: Path, name: str, *, wanted: frozenset[str], small: int) -> Contents | None:
    """The part names, and the wanted parts of at most `small` bytes; None if this is no zip that a document
    would be (not a zip, ZIP64, encrypted or oddly packed parts). Raises UnsafeArchive."""
    with path.open("rb") as handle:
        size = _check_directory(handle, name)
        if size is None:
            return None
        try:
            with zipfile.ZipFile(handle) as archive:
                return _read_parts(archive, name, size, wanted, small)
        except _BROKEN:
            return None


def _check_directory(handle: BinaryIO, name: str) -> int | None:
    """The file's size if its end record (found as zipfile finds it) describes a small directory."""
    size = handle.seek(0, os.SEEK_END)
    start = max(size - (1 << 16) - _END.size, 0)
    handle.seek(start)
    tail = handle.read()
    at = len(tail) - _END.size
    if not (at >= 0 and tail[at:].startswith(_END_SIGNATURE) and tail.endswith(b"\0\0")):
        at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return None
    handle.seek(max(start + at - 20, 0))
    if handle.read(4) == _ZIP64_LOCATOR:  # zipfile would believe the ZIP64 record's counts instead
        return None
    parts, directory = _END.unpack_from(tail, at)[4:6]
    if parts > MAX_PARTS or directory > MAX_DIRECTORY:
        raise too_many_parts(name)
    return size


def _read_parts(
    archive: zipfile.ZipFile, name: str, size: int, wanted: frozenset[str], small: int
) -> Contents | None:
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise too_many_parts(name)
    if any(info.compress_type not in PACKINGS or info.flag_bits & 0x1 for info in infos):
        return None
    budget = Budget(name, part=max(MAX_PART, size), total=max(MAX_UNPACKED, 2 * size))
    for info in infos:
        budget.claim(info.file_size, info.compress_size)
    contents = Contents([info.filename for info in infos])
    for info in infos:
        data = _unpack(archive, info, budget, keep=small if info.filename in wanted else 0)
        if data is not None:
            contents.small[info.filename] = data
    return contents


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, *, keep: int) -> bytes | None:
    """Unpack one part as a stream, counting every byte; returns it if it is at most `keep` bytes."""
    kept: bytearray | None = bytearray() if keep and info.file_size <= keep else None
    got = 0
    try:
        with archive.open(info) as part:
            while chunk := part.read(STEP):
                got += len(chunk)
                budget.spend(len(chunk), got, info.compress_size)
                if kept is not None:
                    kept += chunk[: keep + 1 - len(kept)]
    except _BROKEN:
        raise damaged(budget.name) from None
    if got != info.file_size or (kept is not None and len(kept) > keep):
        raise damaged(budget.name)
    return bytes(kept) if kept is not None else None


@dataclass(slots=True)
class Budget:
    """The caps for one archive: first against what the directory claims, then against what unpacks."""

    name: str
    part: int
    total: int
    claimed: int = 0
    spent: int = 0

    def claim(self, unpacked: int, packed: int) -> None:
        self.claimed += unpacked
        self._check(unpacked, self.claimed, packed)

    def spend(self, chunk: int, so_far: int, packed: int) -> None:
        self.spent += chunk
        self._check(so_far, self.spent, packed)

    def _check(self, part: int, total: int, packed: int) -> None:
        if part > RATIO_FLOOR and part > MAX_RATIO * max(packed, 1):
            raise UnsafeArchive(
                "“{name}” is compressed more than {ratio} to 1, as a zip bomb is; it was not accepted.",
                name=self.name,
                ratio=MAX_RATIO,
            )
        if part > self.part or total > self.total:
            raise UnsafeArchive(
                "“{name}” would unpack to more than {shown} MiB; it was not accepted.",
                name=self.name,
                shown=(self.part if part > self.part else self.total) // MiB,
            )


def too_many_parts(name: str) -> UnsafeArchive:
    return UnsafeArchive(
        "“{name}” holds more than {count} parts; it was not accepted.", name=name, count=MAX_PARTS
    )


def damaged(name: str) -> UnsafeArchive:
    return UnsafeArchive(
        "“{name}” is damaged or crafted: its contents do not match its own table of contents.", name=name
    )
