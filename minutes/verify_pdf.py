"""Checking the signed minutes PDF with pyHanko's validator: digests, certificate paths, the chair's
certification (DocMDP), revisions added after the last signature, and each signature's audit checkpoint."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from minutes.findings import (
    SignatureFinding,
    TrustAnchors,
    Verification,
    chains_to,
    check_checkpoint,
    named_signer,
    roles_missing,
)
from minutes.pades import FIELD_NAMES, asn1_certificate, checkpoint_of
from minutes.render import SOURCE_FILE

ROLES = {field: role.value for role, field in FIELD_NAMES.items()}
ALLOWED_AFTER = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


def _context(anchors: TrustAnchors, moment: datetime) -> ValidationContext:
    # A municipal CA publishes no CRL or OCSP responder; revocation is the CA's re-issue (decision 0010).
    roots = [asn1_certificate(anchors.ca)] if anchors.ca is not None else []
    return ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment
    )


def source_document(reader: PdfFileReader) -> Any:
    """The minutes' own JSON that rendering attached (minutes.render.SOURCE_FILE), if the PDF has it."""
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return None
    entries = [names[i] for i in range(len(names))]
    for name, spec in zip(entries[::2], entries[1::2], strict=False):
        if str(name) == SOURCE_FILE:
            return json.loads(spec["/EF"]["/F"].data)
    return None


def signer_problems(certificate: x509.Certificate, role: str, document: Any) -> list[str]:
    """R-CHECK-1: the chair and the secretary the minutes name, not just anyone with a certificate."""
    if document is None:
        return [f"the PDF carries no {SOURCE_FILE} naming its {role}"]
    ids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    subject = str(ids[0].value) if ids else None
    named = named_signer(document, role)
    return [] if named == subject else [f"signed as {role} by {subject}, but the minutes name {named}"]


async def _finding(signature: Any, anchors: TrustAnchors, last: bool, document: Any) -> SignatureFinding:
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
    role = ROLES.get(signature.field_name, signature.field_name)
    untrusted += signer_problems(certificate, role, document)
    return SignatureFinding(
        role=role,
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
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        document = source_document(reader)
        for index, signature in enumerate(signatures):
            last = index == len(signatures) - 1
            result.signatures.append(await _finding(signature, anchors, last, document))
    except (PdfReadError, SignatureValidationError, ValueError, KeyError) as exc:
        result.modified = True
        result.problems.append(f"the file cannot be read as a signed PDF: {exc}")
        return result
    result.problems += [f"no {role} signature" for role in roles_missing(result.signatures)]
    return result
