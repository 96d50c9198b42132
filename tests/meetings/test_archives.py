"""Office documents are zip archives: looking inside one must never cost more than the caps allow, whatever
its headers claim (docs/attachments.md, "Accepted types")."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zipfile
from collections.abc import Awaitable
from pathlib import Path

import pytest

from core.errors import ValidationFailed
from meetings.storage import AttachmentStore, Stored, UnsupportedType, attachment_store
from tests.meetings.test_storage import OOXML, Source, files, ooxml

MiB = 1024 * 1024
DOCX = OOXML + "wordprocessingml.document"
MANIFEST = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Override PartName="/word/document.xml" ContentType="{DOCX}.main+xml"/></Types>'
).encode()
MEMORY_BOUND = 50 * MiB


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return attachment_store(tmp_path)


def bomb(zeros: int, *, claimed: int | None = None) -> bytes:
    """A docx whose manifest is followed by `zeros` zero bytes (deflate packs about 1000 to 1); with
    `claimed`, both headers of that entry say it unpacks to `claimed` bytes instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("[Content_Types].xml", "w") as entry:
            entry.write(MANIFEST)
            for _ in range(zeros // MiB):
                entry.write(bytes(MiB))
        archive.writestr("word/document.xml", "<w:document/>")
    data = bytearray(buffer.getvalue())
    if claimed is not None:
        struct.pack_into("<L", data, 22, claimed)  # the local header's uncompressed size
        struct.pack_into("<L", data, data.find(b"PK\x01\x02") + 24, claimed)  # the central directory's
    return bytes(data)


async def peak_of(work: Awaitable[Stored]) -> tuple[int, BaseException | None]:
    """The most memory allocated (all threads) while `work` runs, and what it raised."""
    tracemalloc.start()
    try:
        await work
    except (ValidationFailed, UnsupportedType) as exc:
        return tracemalloc.get_traced_memory()[1], exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, None


async def test_a_bomb_whose_header_claims_a_small_part_is_refused_without_unpacking_it(
    store: AttachmentStore,
) -> None:
    """200 MiB of zeros in a file of about 200 KiB; the header says 1000 bytes, which once let the whole
    part be unpacked at once."""
    data = bomb(200 * MiB, claimed=1000)
    assert len(data) < MiB

    peak, refused = await peak_of(
        store.put(Source(data), limit=50 * MiB, filename="pommi.docx", declared=DOCX)
    )

    assert peak < MEMORY_BOUND, f"peak {peak / MiB:.1f} MiB"
    assert isinstance(refused, ValidationFailed)
    assert refused.field == "file"
    assert refused.message == (
        "“pommi.docx” is damaged or crafted: its contents do not match its own table of contents."
    )
    assert files(store) == []


async def test_a_bomb_with_honest_headers_is_refused_by_its_ratio(store: AttachmentStore) -> None:
    data = bomb(200 * MiB)

    peak, refused = await peak_of(
        store.put(Source(data), limit=50 * MiB, filename="pommi.docx", declared=DOCX)
    )

    assert peak < MEMORY_BOUND, f"peak {peak / MiB:.1f} MiB"
    assert isinstance(refused, ValidationFailed)
    assert (
        refused.message
        == "“pommi.docx” is compressed more than 200 to 1, as a zip bomb is; it was not accepted."
    )
    assert files(store) == []


async def test_an_archive_of_too_many_parts_is_refused(store: AttachmentStore) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", MANIFEST)
        for n in range(10_000):
            archive.writestr(f"p/{n}", b"")

    with pytest.raises(ValidationFailed) as refused:
        await store.put(Source(buffer.getvalue()), limit=50 * MiB, filename="osat.docx", declared=DOCX)

    assert refused.value.message == "“osat.docx” holds more than 10000 parts; it was not accepted."
    assert files(store) == []


async def test_a_part_shorter_than_its_header_claims_is_refused(store: AttachmentStore) -> None:
    data = bytearray(ooxml(DOCX + ".main+xml"))
    directory = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, directory + 24, 5000)  # the manifest is shorter than that

    with pytest.raises(ValidationFailed) as refused:
        await store.put(Source(bytes(data)), limit=MiB, filename="lyhyt.docx", declared=DOCX)

    assert "“lyhyt.docx” is damaged or crafted" in refused.value.message


async def test_a_part_packed_with_a_method_documents_never_use_is_not_accepted(
    store: AttachmentStore,
) -> None:
    """bzip2 and LZMA unpack without a bound in Python's zipfile; Office and OpenDocument use only deflate."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("[Content_Types].xml", MANIFEST)

    with pytest.raises(UnsupportedType) as refused:
        await store.put(Source(buffer.getvalue()), limit=MiB, filename="a.docx", declared=DOCX)

    assert "not accepted" in refused.value.message


async def test_a_large_ordinary_document_is_read_through_and_accepted(store: AttachmentStore) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", MANIFEST)
        archive.writestr("word/document.xml", b"<w:p>Esittely</w:p>" * 50_000)
        archive.writestr("word/media/kuva.jpeg", os.urandom(8 * MiB), compress_type=zipfile.ZIP_STORED)

    stored = await store.put(Source(buffer.getvalue()), limit=50 * MiB, filename="esitys.docx", declared=DOCX)

    assert stored.media_type == DOCX
