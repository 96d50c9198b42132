"""The attachment store: content addressing, limits, the type allow-list and the integrity check."""

from __future__ import annotations

import hashlib
import io
import logging
import stat
import zipfile
from pathlib import Path

import pytest

from core.errors import ValidationFailed
from meetings.storage import (
    CHUNK,
    AttachmentStore,
    Damaged,
    TooLarge,
    UnsupportedType,
    attachment_store,
    clean_filename,
)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20) + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64) + b"This program cannot be run"
)
OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."


def ooxml(main: str, *extra: str) -> bytes:
    manifest = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/main.xml" ContentType="{main}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", manifest)
        archive.writestr("word/document.xml", "<document/>")
        for name in extra:
            archive.writestr(name, b"\x00macro")
    return buffer.getvalue()


def odf(mimetype: str, *extra: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
        for name in extra:
            archive.writestr(name, "<script/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


class Source:
    """A readable that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.taken = io.BytesIO(data), 0

    def read(self, size: int, /) -> bytes:
        chunk = self.data.read(size)
        self.taken += len(chunk)
        return chunk


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return attachment_store(tmp_path)


def files(store: AttachmentStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


async def read_all(store: AttachmentStore, sha256: str, size: int) -> bytes:
    stored = await store.open(sha256, size=size)
    return b"".join([chunk async for chunk in stored.chunks()])


async def test_put_stores_by_hash_with_owner_only_access(store: AttachmentStore) -> None:
    stored = await store.put(Source(PDF), limit=1024, filename="esitys.pdf", declared="application/pdf")

    sha = hashlib.sha256(PDF).hexdigest()
    assert (stored.sha256, stored.size, stored.media_type, stored.filename) == (
        sha,
        len(PDF),
        "application/pdf",
        "esitys.pdf",
    )
    assert files(store) == [store.root / sha[:2] / sha[2:]]
    assert stat.S_IMODE(store.path(sha).stat().st_mode) == 0o600
    assert await read_all(store, sha, len(PDF)) == PDF


async def test_identical_content_is_kept_once(store: AttachmentStore) -> None:
    first = await store.put(Source(PDF), limit=1024, filename="a.pdf", declared="application/pdf")
    second = await store.put(Source(PDF), limit=1024, filename="b.pdf", declared="application/pdf")

    assert first.sha256 == second.sha256
    assert len(files(store)) == 1


async def test_a_file_over_the_limit_is_refused_after_limit_plus_one_bytes(store: AttachmentStore) -> None:
    source = Source(b"x" * (5 * CHUNK))

    with pytest.raises(TooLarge, match="limit of 2 KiB"):
        await store.put(source, limit=2048, filename="big.txt", declared="text/plain")

    assert source.taken == 2049
    assert files(store) == []


async def test_a_file_of_exactly_the_limit_is_accepted(store: AttachmentStore) -> None:
    stored = await store.put(Source(b"y" * 2048), limit=2048, filename="full.txt", declared="text/plain")

    assert stored.size == 2048


async def test_an_empty_file_is_refused(store: AttachmentStore) -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        await store.put(Source(b""), limit=2048, filename="empty.txt", declared="text/plain")
    assert files(store) == []


@pytest.mark.parametrize(
    ("data", "filename", "declared", "media_type"),
    [
        (PDF, "a.pdf", "application/pdf", "application/pdf"),
        (PDF, "A.PDF", "application/octet-stream", "application/pdf"),
        (PNG, "kartta.png", "image/png", "image/png"),
        (JPEG, "kuva.jpg", "image/jpeg", "image/jpeg"),
        (JPEG, "kuva.jpeg", "image/pjpeg", "image/jpeg"),
        (GIF, "logo.gif", "image/gif", "image/gif"),
        (
            ooxml(OOXML + "wordprocessingml.document.main+xml"),
            "a.docx",
            OOXML + "wordprocessingml.document",
            None,
        ),
        (ooxml(OOXML + "spreadsheetml.sheet.main+xml"), "a.xlsx", OOXML + "spreadsheetml.sheet", None),
        (
            ooxml(OOXML + "presentationml.presentation.main+xml"),
            "a.pptx",
            OOXML + "presentationml.presentation",
            None,
        ),
        (odf(ODF + "text"), "a.odt", ODF + "text", None),
        (odf(ODF + "spreadsheet"), "a.ods", ODF + "spreadsheet", None),
        (odf(ODF + "presentation"), "a.odp", ODF + "presentation", None),
        ("Pöytäkirjan liite\n".encode(), "liite.txt", "text/plain; charset=utf-8", "text/plain"),
        (b"nimi;puolue\nLiisa;X\n", "jasenet.csv", "text/csv", "text/csv"),
        (b"nimi;puolue\nLiisa;X\n", "jasenet.csv", "application/vnd.ms-excel", "text/csv"),
    ],
)
async def test_allowed_types_are_recognised_by_their_bytes(
    store: AttachmentStore, data: bytes, filename: str, declared: str, media_type: str | None
) -> None:
    stored = await store.put(Source(data), limit=1 << 20, filename=filename, declared=declared)

    assert stored.media_type == (media_type or declared)


@pytest.mark.parametrize(
    ("data", "filename", "declared", "reason"),
    [
        (EXE, "ohjelma.pdf", "application/pdf", "not accepted"),
        (EXE, "ohjelma.exe", "application/x-msdownload", "not accepted"),
        (PDF, "a.pdf", "image/png", "PDF, but it was sent as image/png"),
        (PDF, "a.png", "image/png", "PDF, but its name ends in '.png'"),
        (PDF, "a", "application/pdf", "no extension"),
        (PNG, "a.pdf", "application/pdf", "PNG, but its name ends in '.pdf'"),
        (b"plain words", "a.pdf", "application/pdf", "plain text (.txt), but its name ends in '.pdf'"),
        (b"with a \x00 byte", "a.txt", "text/plain", "not accepted"),
        (b"latin-1 \xe4\xe4ni", "a.txt", "text/plain", "not accepted"),
        (b"<html><script>alert(1)</script>", "a.html", "text/html", "its name ends in '.html'"),
        (plain_zip(), "a.docx", OOXML + "wordprocessingml.document", "not accepted"),
        (plain_zip(), "a.zip", "application/zip", "not accepted"),
        (b"PK\x03\x04 not really a zip", "a.docx", OOXML + "wordprocessingml.document", "not accepted"),
        (
            ooxml("application/vnd.ms-word.document.macroEnabled.main+xml"),
            "a.docx",
            OOXML + "wordprocessingml.document",
            "not accepted",
        ),
        (
            ooxml(OOXML + "wordprocessingml.document.main+xml", "word/vbaProject.bin"),
            "a.docx",
            OOXML + "wordprocessingml.document",
            "not accepted",
        ),
        (odf(ODF + "text", "Basic/Standard/Module1.xml"), "a.odt", ODF + "text", "not accepted"),
        (odf(ODF + "text-template"), "a.ott", ODF + "text-template", "not accepted"),
    ],
)
async def test_other_types_and_disagreeing_names_are_refused(
    store: AttachmentStore, data: bytes, filename: str, declared: str, reason: str
) -> None:
    with pytest.raises(UnsupportedType) as refused:
        await store.put(Source(data), limit=1 << 20, filename=filename, declared=declared)

    assert reason in refused.value.message
    assert "Accepted types: PDF, PNG, JPEG, GIF, Word (.docx)" in refused.value.message
    assert files(store) == []


async def test_a_tampered_file_is_refused_before_anything_is_read(
    store: AttachmentStore, caplog: pytest.LogCaptureFixture
) -> None:
    stored = await store.put(Source(PDF), limit=1024, filename="a.pdf", declared="application/pdf")
    store.path(stored.sha256).write_bytes(PDF.replace(b"Catalog", b"Katalog"))

    with caplog.at_level(logging.ERROR, logger="kokous.attachments"), pytest.raises(Damaged, match="damaged"):
        await store.open(stored.sha256, size=stored.size)

    assert [r.fields for r in caplog.records] == [  # type: ignore[attr-defined]
        {"sha256": stored.sha256, "reason": "hash or size mismatch"}
    ]


async def test_a_missing_file_is_damaged(store: AttachmentStore) -> None:
    stored = await store.put(Source(PDF), limit=1024, filename="a.pdf", declared="application/pdf")
    store.path(stored.sha256).unlink()

    with pytest.raises(Damaged):
        await store.open(stored.sha256, size=stored.size)


async def test_a_file_changed_while_sent_loses_its_last_chunk(store: AttachmentStore) -> None:
    data = b"rivi\n" * (3 * CHUNK // 5 + 7)
    stored = await store.put(Source(data), limit=1 << 20, filename="a.txt", declared="text/plain")
    opened = await store.open(stored.sha256, size=stored.size)
    with store.path(stored.sha256).open("r+b") as handle:
        handle.seek(len(data) - 3)
        handle.write(b"XYZ")

    received: list[bytes] = []

    async def download() -> None:
        async for chunk in opened.chunks():
            received.append(chunk)

    with pytest.raises(Damaged):
        await download()

    assert b"".join(received) == data[: 3 * CHUNK]


async def test_storing_again_replaces_a_damaged_copy(store: AttachmentStore) -> None:
    stored = await store.put(Source(PDF), limit=1024, filename="a.pdf", declared="application/pdf")
    store.path(stored.sha256).write_bytes(b"garbage")

    await store.put(Source(PDF), limit=1024, filename="a.pdf", declared="application/pdf")

    assert await read_all(store, stored.sha256, stored.size) == PDF


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("esityslista.pdf", "esityslista.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\liisa\\Liite 1.pdf", "Liite 1.pdf"),
        ("lasku\u202efdp.exe", "laskufdp.exe"),  # a right-to-left override would show "laskuexe.pdf"
        ("rivi\nvaihto\t.pdf", "rivivaihto.pdf"),
        ("  .piilo.pdf. ", "piilo.pdf"),
        ("Ka\u0308ytto\u0308.txt", "Käyttö.txt"),
        ("a\u00a0b.txt", "a b.txt"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "../", "\u202e"])
def test_a_file_needs_a_name(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        clean_filename(raw)
