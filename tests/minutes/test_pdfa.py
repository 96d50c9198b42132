"""The signed minutes stay PDF/A-3b (ISO 19005-3), checked with pikepdf (qpdf) since veraPDF is not packaged
here: the structural rules a validator checks first, on the file after both signatures."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pikepdf
import pytest

from tests.minutes.conftest import Signed

PDFA_ID = "{http://www.aiim.org/pdfa/ns/id/}"


@pytest.fixture(scope="module")
def pdf(signed: Signed) -> Iterator[pikepdf.Pdf]:
    with pikepdf.open(io.BytesIO(signed.pdf)) as document:
        yield document


def fonts(pdf: pikepdf.Pdf) -> Iterator[Any]:
    for page in pdf.pages:
        for font in page.Resources.get("/Font", {}).values():
            yield from font.get("/DescendantFonts", [font])


def test_declares_pdfa_3b_in_pdf_1_7(pdf: pikepdf.Pdf) -> None:
    """6.1.2: the header version; 6.6.4: the identification schema in the XMP metadata."""
    assert pdf.pdf_version == "1.7"
    with pdf.open_metadata() as xmp:
        assert (xmp[f"{PDFA_ID}part"], xmp[f"{PDFA_ID}conformance"]) == ("3", "B")


def test_has_an_rgb_output_intent(pdf: pikepdf.Pdf) -> None:
    """6.2.3: an OutputIntent of subtype GTS_PDFA1 with an embedded ICC profile."""
    intents = pdf.Root.OutputIntents
    assert [str(i.S) for i in intents] == ["/GTS_PDFA1"]
    profile = intents[0].DestOutputProfile
    assert profile.N == 3
    assert len(profile.read_bytes()) > 1000


def test_every_font_is_embedded(pdf: pikepdf.Pdf) -> None:
    """6.2.11.4: every font program is embedded."""
    descriptors = [f.FontDescriptor for f in fonts(pdf)]
    assert descriptors
    assert all(any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")) for d in descriptors)


def test_info_dictionary_agrees_with_xmp(pdf: pikepdf.Pdf) -> None:
    """6.6.3 (ISO 19005-3 via 19005-2): document info entries equal their XMP counterparts."""
    pairs = {
        "/Title": "{http://purl.org/dc/elements/1.1/}title",
        "/Producer": "{http://ns.adobe.com/pdf/1.3/}Producer",
        "/Creator": "{http://ns.adobe.com/xap/1.0/}CreatorTool",
        "/Keywords": "{http://ns.adobe.com/pdf/1.3/}Keywords",
    }
    with pdf.open_metadata() as xmp:
        for info_key, xmp_key in pairs.items():
            if info_key in pdf.docinfo:
                assert str(pdf.docinfo[info_key]) == str(xmp[xmp_key]), info_key


def test_attachments_are_associated_files(pdf: pikepdf.Pdf) -> None:
    """6.8: embedded files are associated files (/AF, /AFRelationship) with a MIME type and a date."""
    specs = list(pdf.Root.AF)
    found = {str(s.UF): (str(s.AFRelationship), str(s.EF.F.Subtype)) for s in specs}
    assert found == {
        "minutes.json": ("/Source", "/application/json"),
        "audit-checkpoint.txt": ("/Supplement", "/text/plain"),
    }
    assert len(specs) == len(found)
    assert all("/ModDate" in s.EF.F.Params for s in specs)


def test_no_encryption_scripts_or_external_content(pdf: pikepdf.Pdf) -> None:
    """6.1.3 no encryption, a file identifier; 6.6.1 no JavaScript."""
    assert not pdf.is_encrypted
    assert "/ID" in pdf.trailer
    assert "/JavaScript" not in pdf.Root.get("/Names", {})
    assert "/OpenAction" not in pdf.Root
