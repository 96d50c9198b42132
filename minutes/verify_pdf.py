"""Checking the signed minutes PDF with pyHanko's validator: digests, certificate paths, the chair's
certification (DocMDP), revisions added after the last signature, and each signature's audit checkpoint."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from minutes.pades import FIELD_NAMES, asn1_certificate, checkpoint_of
from minutes.verify import (
    SignatureFinding,
    TrustAnchors,
    Verification,
    chains_to,
    check_checkpoint,
    roles_missing,
)

ROLES = {field: role.value for role, field in FIELD_NAMES.items()}
ALLOWED_AFTER = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


def _context(anchors: TrustAnchors, moment: datetime) -> ValidationContext:
    # A municipal CA publishes no CRL or OCSP responder; revocation is the CA's re-issue (decision 0010).
    roots = [asn1_certificate(anchors.ca)] if anchors.ca is not None else []
    return ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment
    )


async def _finding(signature: Any, anchors: TrustAnchors, last: bool) -> SignatureFinding:
    claimed = signature.self_reported_timestamp
    # Kokous's signatures always state their time; without one the path is checked at the certificate's start.
    signed_at = claimed or signature.signer_cert.not_valid_before
    status = await async_validate_pdf_signature(signature, _context(anchors, signed_at))
    changed = []
    if not (status.intact and status.valid):
        changed.append("the signed bytes do not match the signature")
    if last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        changed.append("bytes were added after the last signature")
    if status.modification_level not in ALLOWED_AFTER or status.docmdp_ok is False:
        changed.append("the document was changed after this signature beyond filling in signatures")
    certificate = x509.load_der_x509_certificate(signature.signer_cert.dump())
    untrusted = [] if status.trusted else chains_to(certificate, anchors.ca, signed_at)
    if not untrusted and not status.trusted and not changed:
        untrusted.append("the certificate path to the CA does not validate")
    if claimed is None:
        untrusted.append("the signature states no signing time")
    return SignatureFinding(
        role=ROLES.get(signature.field_name, signature.field_name),
        signer=certificate.subject.rfc4514_string(),
        signed_at=signed_at,
        intact=not changed,
        trusted=not untrusted,
        checkpoint=check_checkpoint(checkpoint_of(signature), anchors.audit),
        problems=tuple(changed + untrusted),
    )


async def verify_pdf(data: bytes, anchors: TrustAnchors) -> Verification:
    result = Verification("PDF")
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
        count = len(signatures)
        for index, signature in enumerate(signatures):
            result.signatures.append(await _finding(signature, anchors, last=index == count - 1))
    except (PdfReadError, SignatureValidationError, ValueError, KeyError) as exc:
        result.modified = True
        result.problems.append(f"the file cannot be read as a signed PDF: {exc}")
        return result
    result.problems += [f"no {role} signature" for role in roles_missing(result.signatures)]
    return result
