"""PAdES signatures on the minutes PDF, checked by pyHanko's validator and independently by poppler's pdfsig:
the chair certifies allowing form filling, the secretary countersigns, one changed byte breaks both."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import pikepdf
import pytest
import rfc8785
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import async_validate_pdf_signature, read_certification_data
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from minutes.document import SignerRole
from minutes.pades import SigningOrderError, asn1_certificate, checkpoint_of, sign_pdf
from tests.minutes.conftest import (
    CHAIR_AT,
    SECRETARY_AT,
    Installation,
    Signed,
    flip_byte,
    pdf_signer,
    require_tool,
    run,
)


async def statuses(pdf: bytes, installation: Installation) -> list[object]:
    context = ValidationContext(
        trust_roots=[asn1_certificate(installation.ca.certificate)],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=SECRETARY_AT,
    )
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return [await async_validate_pdf_signature(s, context) for s in signatures]


@pytest.fixture(scope="module")
def nss_db(installation: Installation, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database that trusts the municipality's CA, for pdfsig."""
    directory = tmp_path_factory.mktemp("nss")
    certutil = require_tool("certutil")
    assert run(certutil, "-N", "-d", f"sql:{directory}", "--empty-password").returncode == 0
    ca = installation.data_dir / "public" / "minutes-ca.pem"
    added = run(
        certutil, "-A", "-d", f"sql:{directory}", "-n", "kokous-minutes-ca", "-t", "C,C,C", "-i", str(ca)
    )
    assert added.returncode == 0, added.stderr
    return f"sql:{directory}"


def pdfsig(pdf: bytes, nss_db: str, tmp_path: Path) -> list[dict[str, str]]:
    """pdfsig's findings per signature; it exits 0 even on a digest mismatch, so its text is what counts."""
    path = tmp_path / "minutes.pdf"
    path.write_bytes(pdf)
    result = run(require_tool("pdfsig"), "-nssdir", nss_db, str(path))
    assert result.returncode == 0, result.stderr
    blocks = re.split(r"^Signature #\d+:$", result.stdout, flags=re.MULTILINE)[1:]
    return [dict(re.findall(r"^[ \t]+- ([^:\n]+): (.*)$", block, flags=re.MULTILINE)) for block in blocks]


async def test_pyhanko_validates_both_signatures(signed: Signed, installation: Installation) -> None:
    chair, secretary = await statuses(signed.pdf, installation)
    for status in (chair, secretary):
        assert status.bottom_line, status.pretty_print_details()  # type: ignore[attr-defined]
    assert chair.coverage == SignatureCoverageLevel.ENTIRE_REVISION  # type: ignore[attr-defined]
    assert chair.docmdp_ok  # type: ignore[attr-defined]
    assert secretary.coverage == SignatureCoverageLevel.ENTIRE_FILE  # type: ignore[attr-defined]
    assert [s.signer_reported_dt for s in (chair, secretary)] == [CHAIR_AT, SECRETARY_AT]  # type: ignore[attr-defined]


def test_the_chair_certifies_allowing_form_filling(signed: Signed) -> None:
    """DESIGN.md §11: any other level and the secretary's signature breaks the chair's."""
    certification = read_certification_data(PdfFileReader(io.BytesIO(signed.pdf)))
    assert certification is not None
    assert certification.permission == MDPPerm.FILL_FORMS


def test_each_signature_carries_its_checkpoint(signed: Signed) -> None:
    signatures = PdfFileReader(io.BytesIO(signed.pdf)).embedded_signatures
    assert [checkpoint_of(s) for s in signatures] == [signed.chair_note, signed.secretary_note]
    with pikepdf.open(io.BytesIO(signed.pdf)) as pdf:
        attached = pdf.attachments["audit-checkpoint.txt"].get_file().read_bytes()
    assert attached.decode() == signed.chair_note


def test_the_pdf_carries_the_same_content_as_the_json(signed: Signed) -> None:
    """The attached minutes.json is the canonical document the JSON signatures' hash names."""
    with pikepdf.open(io.BytesIO(signed.pdf)) as pdf:
        source = pdf.attachments["minutes.json"].get_file().read_bytes()
    signed_hash = json.loads(
        base64.urlsafe_b64decode(json.loads(signed.json)["signatures"][0].split(".")[1] + "==")
    )
    assert hashlib.sha256(source).hexdigest() == signed_hash["minutes_sha256"]
    assert source == rfc8785.dumps(json.loads(signed.json)["document"])


def test_pdfsig_validates_both_signatures(signed: Signed, nss_db: str, tmp_path: Path) -> None:
    found = pdfsig(signed.pdf, nss_db, tmp_path)
    assert [f["Signer Certificate Common Name"] for f in found] == ["Paula Puheenjohtaja", "Sanna Sihteeri"]
    assert [f["Signature Validation"] for f in found] == ["Signature is Valid."] * 2
    assert [f["Certificate Validation"] for f in found] == ["Certificate is Trusted."] * 2
    assert [f["Signature Type"] for f in found] == ["ETSI.CAdES.detached"] * 2


MISMATCH, VALID = "Digest Mismatch.", "Signature is Valid."


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (b"Kokous", [MISMATCH, MISMATCH]),  # the info dictionary WeasyPrint wrote: both signatures cover it
        (b"Paula Puheenjohtaja", [MISMATCH, MISMATCH]),  # the chair's signature dictionary
        (b"Sanna Sihteeri", [VALID, MISMATCH]),  # the secretary's: the chair's signature ends before it
    ],
)
async def test_one_changed_byte_is_caught_by_both_tools(
    signed: Signed,
    installation: Installation,
    nss_db: str,
    tmp_path: Path,
    marker: bytes,
    expected: list[str],
) -> None:
    changed = flip_byte(signed.pdf, marker)
    found = pdfsig(changed, nss_db, tmp_path)
    assert [f["Signature Validation"] for f in found] == expected
    intact = [s.intact for s in await statuses(changed, installation)]  # type: ignore[attr-defined]
    assert intact == [e == VALID for e in expected]


@pytest.mark.parametrize(
    ("stage", "role"),
    [("unsigned_pdf", SignerRole.SECRETARY), ("chair_pdf", SignerRole.CHAIR), ("pdf", SignerRole.SECRETARY)],
)
async def test_the_chair_signs_first_and_each_once(
    signed: Signed, installation: Installation, stage: str, role: SignerRole
) -> None:
    """R-CHECK-1: the chair signs, the secretary countersigns; the certification comes first (DESIGN §11)."""
    with pytest.raises(SigningOrderError):
        await sign_pdf(getattr(signed, stage), pdf_signer(installation, role, signed.chair_note))
