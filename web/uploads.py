"""Reading a multipart/form-data upload as it arrives: the file goes straight into a sink (the attachment
store's temporary file, or memory for a small CSV file) and only a few short text fields are kept.

Litestar's own form parser first spools every file into a temporary file of its own (under /tmp, which may
be memory) and leaves it to the garbage collector when the request fails half-way; this reader hands each
parsed chunk on at once, so an upload is written once, where it belongs, and its sink decides the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from core.errors import ValidationFailed
from meetings.storage import OCTET_STREAM

FILE_FIELD = "file"
FIELD_MAX = 4096  # bytes in one text field: the upload forms' texts are at most 300 characters
MAX_PARTS = 16  # a file and a few fields; a browser sends no more


class Sink(Protocol):
    async def write(self, chunk: bytes, /) -> None: ...


class Collected:
    """A sink that keeps the file in memory, for small files under their route's body limit (web.limits)."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, chunk: bytes, /) -> None:
        self.data += chunk


@dataclass
class UploadForm:
    """The kept text fields (the first of each name), and the name and declared type of the one file."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None  # None: no file was chosen
    declared: str = OCTET_STREAM  # a part without a type makes no claim


def not_a_form() -> ValidationFailed:
    return ValidationFailed("The upload is not a complete multipart/form-data form.", field=FILE_FIELD)


def multipart_boundary(options: dict[str, str]) -> bytes:
    boundary = options.get("boundary", "")
    if not boundary:
        raise not_a_form()
    return boundary.encode()


async def read_upload(
    chunks: AsyncIterator[bytes], boundary: bytes, sink: Sink, *, fields: frozenset[str]
) -> UploadForm:
    """Parse the form from `chunks`, writing the file part `file` to `sink` as it comes; raises
    ValidationFailed for a broken form, a second file or an overlong field, and whatever the sink raises."""
    reader = _Reader(sink, fields)
    try:
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS) as parser:
            async for chunk in chunks:
                if chunk:
                    await reader.feed(parser.parse(chunk))
                if parser.closed:
                    break
            await reader.feed(parser.parse(b""))  # the end of the input
    except (ParserError, ParserLimitReached):
        raise not_a_form() from None
    return reader.form


class _Reader:
    def __init__(self, sink: Sink, names: frozenset[str]) -> None:
        self.sink, self.names, self.form = sink, names, UploadForm()
        self.name, self.text, self.to_sink = "", bytearray(), False
        self.keep_text = False

    async def feed(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, MultipartSegment):
                self._start(event)
            elif event is None:
                self._end()
            elif isinstance(event, bytes | bytearray):
                await self._data(bytes(event))

    async def _data(self, data: bytes) -> None:
        if self.to_sink:
            await self.sink.write(data)
        elif self.keep_text:
            self.text += data
            if len(self.text) > FIELD_MAX:
                raise ValidationFailed("{name} is too long.", field=self.name, name=self.name)

    def _start(self, part: MultipartSegment) -> None:
        self.name, self.text = part.name or "", bytearray()
        self.to_sink = self.name == FILE_FIELD and bool(part.filename)  # "": no file was chosen
        self.keep_text = (
            part.filename is None and self.name in self.names and self.name not in self.form.fields
        )
        if self.to_sink:
            if self.form.filename is not None:
                raise ValidationFailed("Choose one file to upload.", field=FILE_FIELD)
            self.form.filename, self.form.declared = part.filename, part.content_type or OCTET_STREAM

    def _end(self) -> None:
        if self.keep_text:
            try:
                self.form.fields[self.name] = self.text.decode()
            except UnicodeDecodeError:
                raise ValidationFailed("{name} must be text.", field=self.name, name=self.name) from None
        self.to_sink = self.keep_text = False
