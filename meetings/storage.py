"""The bytes of attachments: a content-addressed store (SHA-256) that refuses what it cannot vouch for.

Files are named by their hash under `<data_dir>/attachments/ab/cdef…`, written through a temporary file
in the store's root (fsync, atomic rename, mode 0600) and identified by their bytes against an allow-list
(zip-based documents are looked into by meetings.archives, under caps).
They are hashed again before and while they are served: a damaged file is never passed on as the original.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import logging
import os
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from core.errors import KokousError, ValidationFailed
from core.text import translatable
from meetings.archives import look_inside

log = logging.getLogger("kokous.attachments")

CHUNK = 64 * 1024
HEAD = 8 * 1024  # enough of the start of a file to recognise it
FLUSH_AT = 4 * CHUNK  # an upload's bytes are written to disk in pieces of about this size
SMALL_ENTRY = 1024 * 1024  # the most we read of one zip entry when looking inside a document
OCTET_STREAM = "application/octet-stream"  # a browser that does not know the type says so; not a claim


class TooLarge(KokousError):  # noqa: N818 - named like core.errors' vocabulary (NotFound, Conflict)
    """The upload is bigger than the organisation's limit."""


class UnsupportedType(KokousError):  # noqa: N818 - as above
    """The file is not of an allowed type, or its name or declared type says something else."""


class Damaged(KokousError):  # noqa: N818 - as above
    """The stored bytes no longer match their hash, or are gone."""


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FileType:
    label: str  # what people call it, in refusals
    media_type: str  # stored and served
    extensions: tuple[str, ...]
    aliases: frozenset[str] = frozenset()  # other declared types that browsers send for it

    def accepts(self, declared: str) -> bool:
        declared = declared.split(";", 1)[0].strip().lower()
        return declared in {self.media_type, OCTET_STREAM} | self.aliases


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
PDF = FileType("PDF", "application/pdf", (".pdf",), frozenset({"application/x-pdf"}))
PNG = FileType("PNG", "image/png", (".png",))
JPEG = FileType("JPEG", "image/jpeg", (".jpg", ".jpeg"), frozenset({"image/pjpeg"}))
GIF = FileType("GIF", "image/gif", (".gif",))
DOCX = FileType("Word (.docx)", _OOXML + "wordprocessingml.document", (".docx",))
XLSX = FileType("Excel (.xlsx)", _OOXML + "spreadsheetml.sheet", (".xlsx",))
PPTX = FileType("PowerPoint (.pptx)", _OOXML + "presentationml.presentation", (".pptx",))
ODT = FileType("OpenDocument text (.odt)", _ODF + "text", (".odt",))
ODS = FileType("OpenDocument spreadsheet (.ods)", _ODF + "spreadsheet", (".ods",))
ODP = FileType("OpenDocument presentation (.odp)", _ODF + "presentation", (".odp",))
TEXT = FileType("plain text (.txt)", "text/plain", (".txt",))
# Windows names .csv files application/vnd.ms-excel when Excel is installed, and browsers pass that on.
CSV = FileType(
    "CSV", "text/csv", (".csv",), frozenset({"text/plain", "application/csv", "application/vnd.ms-excel"})
)
ALLOWED = (PDF, PNG, JPEG, GIF, DOCX, XLSX, PPTX, ODT, ODS, ODP, TEXT, CSV)
ALLOWED_LABELS = ", ".join(t.label for t in ALLOWED)

MAGIC = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
ZIP_MAGIC = b"PK\x03\x04"
# The main part's content type in [Content_Types].xml; macro-enabled variants have other names and fail.
OOXML_MAIN = {(t.media_type + ".main+xml").encode(): t for t in (DOCX, XLSX, PPTX)}
ODF_MIMETYPES = {t.media_type.encode(): t for t in (ODT, ODS, ODP)}
ZIP_MARKERS = frozenset({"mimetype", "[Content_Types].xml"})


def clean_filename(raw: str) -> str:
    """The last path segment, NFC, without control, format (bidi) or separator characters; at most 255."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c)[0] == "Z" else c for c in name if unicodedata.category(c)[0] != "C"
    )
    name = name.strip(" .")
    if not name:
        raise ValidationFailed("The file needs a name, such as report.pdf.", field="file")
    suffix = PurePosixPath(name).suffix[:16]
    return name if len(name) <= 255 else name[: 255 - len(suffix)] + suffix


def too_large(limit: int) -> TooLarge:
    shown = f"{limit / 1024**2:g} MiB" if limit >= 1024**2 else f"{limit / 1024:g} KiB"
    return TooLarge("The file is larger than the limit of {shown}.", shown=shown, limit=limit)


def refuse_type(template: str, **params: object) -> UnsupportedType:
    """`template` ends by naming the accepted types: {allowed}."""
    return UnsupportedType(template, allowed=ALLOWED_LABELS, **params)


@dataclass(slots=True)
class _TextCheck:
    """Whether the whole stream is UTF-8 without NUL bytes, fed chunk by chunk."""

    decoder: codecs.IncrementalDecoder = field(default_factory=codecs.getincrementaldecoder("utf-8"))
    ok: bool = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            self.decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.ok = False
            return
        self.ok = b"\x00" not in chunk


@dataclass(frozen=True, slots=True)
class _Received:
    path: Path
    sha256: str
    size: int
    head: bytes
    is_text: bool


class Incoming:
    """An upload on its way into the store: a temporary file in the store's root (mode 0600), hashed and
    measured as the bytes come, and refused (TooLarge) the moment it passes the limit."""

    def __init__(self, root: Path, limit: int) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=root, prefix=".incoming-")
        self.path, self.limit, self.size, self.moved = Path(name), limit, 0, False
        self._out = os.fdopen(fd, "wb")
        self._digest, self._head, self._text = hashlib.sha256(), bytearray(), _TextCheck()
        self._pending = bytearray()

    async def write(self, chunk: bytes) -> None:
        """Take a chunk on the event loop; the disk is written in a thread, a few chunks at a time."""
        self._count(len(chunk))
        self._pending += chunk
        if len(self._pending) >= FLUSH_AT:
            data, self._pending = bytes(self._pending), bytearray()
            await asyncio.to_thread(self._absorb, data)

    def take(self, chunk: bytes) -> None:
        """Take a chunk in the calling thread."""
        self._count(len(chunk))
        self._absorb(chunk)

    def finish(self) -> _Received:
        self._absorb(bytes(self._pending))
        self._text.feed(b"", final=True)
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        return _Received(self.path, self._digest.hexdigest(), self.size, bytes(self._head), self._text.ok)

    def discard(self) -> None:
        """Close and remove the temporary file, unless it was moved into the store."""
        self._out.close()
        if not self.moved:
            self.path.unlink(missing_ok=True)

    def _count(self, size: int) -> None:
        self.size += size
        if self.size > self.limit:
            raise too_large(self.limit)

    def _absorb(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self._text.feed(chunk)
        self._head += chunk[: HEAD - len(self._head)]
        self._out.write(chunk)


@dataclass(frozen=True, slots=True)
class Stored:
    sha256: str
    size: int
    media_type: str  # from the sniffed type, never the client's word
    filename: str


def _has_macros(names: list[str]) -> bool:
    return any(n.endswith("vbaProject.bin") or n.startswith(("Basic/", "Scripts/")) for n in names)


def _zip_type(path: Path, filename: str) -> FileType | None:
    """OOXML by its [Content_Types].xml, ODF by its mimetype entry; macros and other archives are refused.
    Raises UnsafeArchive (meetings.archives) for an archive that would cost too much to look into."""
    contents = look_inside(path, filename, wanted=ZIP_MARKERS, small=SMALL_ENTRY)
    if contents is None or _has_macros(contents.names):
        return None
    if "mimetype" in contents.names:
        return ODF_MIMETYPES.get(contents.small.get("mimetype", b"").strip())
    if "[Content_Types].xml" in contents.names:
        manifest = contents.small.get("[Content_Types].xml", b"")
        return next((t for marker, t in OOXML_MAIN.items() if marker in manifest), None)
    return None


def sniff(incoming: _Received, filename: str) -> tuple[FileType, ...]:
    """What the bytes are: one type, or both text types for UTF-8 text, or none."""
    head = incoming.head
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return (kind,)
    if head.startswith(ZIP_MAGIC):
        found = _zip_type(incoming.path, filename)
        return (found,) if found else ()
    return (TEXT, CSV) if incoming.is_text else ()


def settle_type(candidates: tuple[FileType, ...], filename: str, declared: str) -> FileType:
    """The sniffed type, if the file name's extension and the declared type agree with it."""
    if not candidates:
        raise refuse_type(translatable("This type of file is not accepted. Accepted types: {allowed}."))
    extension = PurePosixPath(filename).suffix.lower()
    kind = next((t for t in candidates if extension in t.extensions), None)
    if kind is None:
        raise refuse_type(
            translatable(
                "The file is {kind}, but its name ends in {extension!r}. Accepted types: {allowed}."
            ),
            kind=candidates[0].label,
            extension=extension or "(no extension)",
        )
    if not kind.accepts(declared):
        raise refuse_type(
            translatable("The file is {kind}, but it was sent as {declared}. Accepted types: {allowed}."),
            kind=kind.label,
            declared=declared[:100],
        )
    return kind


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(handle: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _damaged(sha256: str, reason: str) -> Damaged:
    log.error("stored attachment file is damaged", extra={"fields": {"sha256": sha256, "reason": reason}})
    return Damaged(
        "The stored file of this attachment is damaged and cannot be given out. "
        "The administrators have been told; the secretary can upload it again."
    )


class StoredFile:
    """An open stored file whose hash was checked; `chunks()` hashes it again while it is sent."""

    def __init__(self, handle: BinaryIO, sha256: str, size: int) -> None:
        self._handle, self.sha256, self.size = handle, sha256, size

    async def chunks(self) -> AsyncIterator[bytes]:
        """The bytes, one chunk behind the reader: if they change during sending, the last chunk is
        withheld, so the client gets fewer bytes than Content-Length announced and knows the copy is bad."""
        digest, sent = hashlib.sha256(), 0
        try:
            pending = await asyncio.to_thread(self._handle.read, CHUNK)
            while pending:
                digest.update(pending)
                sent += len(pending)
                following = await asyncio.to_thread(self._handle.read, CHUNK)
                if not following:
                    break
                yield pending
                pending = following
            if (digest.hexdigest(), sent) != (self.sha256, self.size):
                raise _damaged(self.sha256, "changed while being sent")
            if pending:
                yield pending
        finally:
            self._handle.close()

    def close(self) -> None:
        self._handle.close()


class AttachmentStore:
    """Files by SHA-256 under `root`; identical content is kept once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    @contextlib.asynccontextmanager
    async def receiving(self, *, limit: int) -> AsyncIterator[Incoming]:
        """A temporary file for an upload of at most `limit` bytes; when the block ends it has been moved
        into the store by `keep`, or it is removed, whatever happened (a refusal, a client gone)."""
        incoming = await asyncio.to_thread(Incoming, self.root, limit)
        try:
            yield incoming
        finally:
            await asyncio.to_thread(incoming.discard)

    async def keep(self, incoming: Incoming, *, filename: str, declared: str) -> Stored:
        """Store what was received if it is of an allowed type that its name and declared type agree with;
        raises UnsupportedType or ValidationFailed and then keeps nothing."""
        return await asyncio.to_thread(self._settle, incoming, clean_filename(filename), declared)

    async def put(self, source: Readable, *, limit: int, filename: str, declared: str) -> Stored:
        """Store `source` if it is at most `limit` bytes of an allowed type that its name and declared type
        agree with; raises TooLarge, UnsupportedType or ValidationFailed and then keeps nothing."""
        return await asyncio.to_thread(self._put, source, limit, clean_filename(filename), declared)

    async def open(self, sha256: str, *, size: int) -> StoredFile:
        """The file, after one full pass that checks its hash and size; raises Damaged if they differ."""
        return await asyncio.to_thread(self._open, sha256, size)

    def _put(self, source: Readable, limit: int, filename: str, declared: str) -> Stored:
        """Copy into a temporary file, reading at most limit + 1 bytes, then settle it."""
        incoming = Incoming(self.root, limit)
        try:
            while chunk := source.read(min(CHUNK, limit + 1 - incoming.size)):
                incoming.take(chunk)
            return self._settle(incoming, filename, declared)
        finally:
            incoming.discard()

    def _settle(self, incoming: Incoming, filename: str, declared: str) -> Stored:
        received = incoming.finish()
        if received.size == 0:
            raise ValidationFailed("The file is empty.", field="file")
        kind = settle_type(sniff(received, filename), filename, declared)
        incoming.moved = self._keep(received)
        return Stored(received.sha256, received.size, kind.media_type, filename)

    def _keep(self, received: _Received) -> bool:
        """Rename into place (True), unless an intact copy is already there; a damaged copy is replaced."""
        target = self.path(received.sha256)
        if not target.parent.is_dir():
            target.parent.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(self.root)
        if target.exists():
            with target.open("rb") as existing:
                if _hash_file(existing) == (received.sha256, received.size):
                    return False
            log.warning("replacing a damaged stored file", extra={"fields": {"sha256": received.sha256}})
        os.replace(received.path, target)
        _fsync_dir(target.parent)
        return True

    def _open(self, sha256: str, size: int) -> StoredFile:
        try:
            handle = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise _damaged(sha256, "missing") from None
        try:
            if _hash_file(handle) != (sha256, size):
                raise _damaged(sha256, "hash or size mismatch")
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return StoredFile(handle, sha256, size)


def attachment_store(data_dir: Path) -> AttachmentStore:
    return AttachmentStore(data_dir / "attachments")
