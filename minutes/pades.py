"""PAdES signatures on the minutes PDF with pyHanko: the chair certifies, the secretary countersigns.

The chair's signature is a certification signature that allows form filling (DocMDP P=2), the only level at
which a second signature keeps the first one valid (DESIGN.md §11). Each signature carries the audit log's
latest signed checkpoint as a signed CMS attribute (`CHECKPOINT_OID`), bound to that signature. The chair's,
made before any signature exists, also adds the checkpoint as a PDF/A-3 associated file that any PDF reader
lists; after certification no file may be added without breaking it, so the secretary's checkpoint lives in
its signature only (docs/decisions/0010-minutes-signatures.md).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR, DocumentMetadata
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.signers.constants import ESIC_EXTENSION_1
from pyhanko.sign.signers.pdf_cms import GenericPdfSignedAttributeProviderSpec, PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from minutes.ca import Credential
from minutes.document import SignerRole

# An OID of our own without a registry: a UUID under 2.25 (ITU-T X.667). Value: a UTF8String, the note.
CHECKPOINT_OID = "2.25.229720403737991076093839014502554706418"
CHECKPOINT_FILE = "audit-checkpoint.txt"
FIELD_NAMES = {SignerRole.CHAIR: "Puheenjohtaja", SignerRole.SECRETARY: "Poytakirjanpitaja"}
REASONS = {
    SignerRole.CHAIR: "Puheenjohtajan allekirjoitus",
    SignerRole.SECRETARY: "Pöytäkirjanpitäjän varmennus",
}


@dataclass(frozen=True, slots=True)
class PdfSigner:
    """Who signs, in what role and when (from the injected clock), with which credential and checkpoint.

    Step-up authentication happens before this is built (DESIGN.md §4): this module only signs.
    """

    role: SignerRole
    credential: Credential
    ca_certificate: x509.Certificate
    signed_at: datetime
    checkpoint_note: str


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(credential: Credential) -> asn1_keys.PrivateKeyInfo:
    der = credential.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def checkpoint_of(signature: Any) -> str | None:
    """The checkpoint note the signature carries as a signed attribute (minutes.pades.CHECKPOINT_OID)."""
    for attribute in signature.signer_info["signed_attrs"]:
        if attribute["type"].dotted == CHECKPOINT_OID:
            return str(asn1_core.UTF8String.load(attribute["values"][0].dump()).native)
    return None


class _Checkpoint(CMSAttributeProvider):
    attribute_type = CHECKPOINT_OID

    def __init__(self, note: str) -> None:
        self.note = note

    async def build_attr_value(self, dry_run: bool = False) -> asn1_core.UTF8String:
        return asn1_core.UTF8String(self.note)


class _AttributesWithCheckpoint(GenericPdfSignedAttributeProviderSpec):
    def __init__(self, note: str, **spec: Any) -> None:
        super().__init__(**spec)
        self.note = note

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Iterator[Any]:
        yield from super().signed_attr_providers(data_digest, digest_algorithm)
        yield _Checkpoint(self.note)


class _ClockedMetadata(DocumentMetadata):
    """pyHanko stamps the machine's time as the modification date; the minutes take it from our clock."""

    def __init__(self, moment: datetime) -> None:
        super().__init__()
        self._moment = moment

    @property
    def last_modified(self) -> datetime:
        return self._moment

    @last_modified.setter
    def last_modified(self, value: object) -> None:
        """pyHanko sets "now" before every write; the moment given at construction stands."""


class _ClockedPdfSigner(signers.PdfSigner):
    """pyHanko takes the signing time from the machine's clock; Kokous takes it from its own (0008)."""

    def __init__(self, *args: Any, signed_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        """Declare PAdES (the ESIC extension) only. pyHanko would also declare ISO 32002 for a P-256 key,
        which exists only in PDF 2.0 and would lift the file out of PDF/A-3 (PDF 1.7); ECDSA with
        ETSI.CAdES.detached is what PAdES itself specifies (ETSI EN 319 142-1) and what readers check."""
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(ESIC_EXTENSION_1)

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self.signed_at
        return session


def _name(value: str) -> generic.NameObject:
    return generic.pdf_name(value)


def _embedded_file(writer: IncrementalPdfFileWriter, data: bytes, moment: datetime) -> generic.IndirectObject:
    params = generic.DictionaryObject(
        {_name("/ModDate"): generic.pdf_date(moment), _name("/Size"): generic.NumberObject(len(data))}
    )
    stream = generic.StreamObject(
        {
            _name("/Type"): _name("/EmbeddedFile"),
            _name("/Subtype"): _name("/text/plain"),
            _name("/Params"): params,
        },
        stream_data=data,
    )
    return writer.add_object(stream)


def _embed_checkpoint(writer: IncrementalPdfFileWriter, note: str, moment: datetime) -> None:
    """The checkpoint as a PDF/A-3 associated file (ISO 19005-3 6.8): /AF, /AFRelationship, MIME type.

    pyHanko's own embed_file raises the file to PDF 2.0 when it sets /AF, which PDF/A-3 (PDF 1.7) forbids.
    """
    stream = _embedded_file(writer, note.encode(), moment)
    spec = writer.add_object(
        generic.DictionaryObject(
            {
                _name("/Type"): _name("/Filespec"),
                _name("/F"): generic.pdf_string(CHECKPOINT_FILE),
                _name("/UF"): generic.pdf_string(CHECKPOINT_FILE),
                _name("/Desc"): generic.pdf_string("Audit log checkpoint (C2SP signed note)"),
                _name("/AFRelationship"): _name("/Supplement"),
                _name("/EF"): generic.DictionaryObject({_name("/F"): stream, _name("/UF"): stream}),
            }
        )
    )
    _register(writer, spec)


def _register(writer: IncrementalPdfFileWriter, spec: generic.IndirectObject) -> None:
    """Add the file to the catalogue's embedded files (a flat name tree, as WeasyPrint writes it) and /AF."""
    root = writer.root
    if "/Names" not in root:
        root[_name("/Names")] = generic.DictionaryObject()
    names = root["/Names"]
    if "/EmbeddedFiles" not in names:
        names[_name("/EmbeddedFiles")] = writer.add_object(
            generic.DictionaryObject({_name("/Names"): generic.ArrayObject()})
        )
    tree = names.raw_get("/EmbeddedFiles")
    tree.get_object()["/Names"].extend([generic.pdf_string(CHECKPOINT_FILE), spec])
    if isinstance(tree, generic.IndirectObject):
        writer.update_container(tree.get_object())
    # WeasyPrint lists each of its files twice in /AF; once is what PDF/A-3 means.
    files = [*root.get("/AF", generic.ArrayObject()), spec]
    unique = {entry.idnum: entry for entry in files if isinstance(entry, generic.IndirectObject)}
    root[_name("/AF")] = generic.ArrayObject(unique.values())
    if isinstance(names, generic.IndirectObject) or isinstance(
        root.raw_get("/Names"), generic.IndirectObject
    ):
        writer.update_container(names)
    writer.update_root()


def _align_producer(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A (ISO 19005-3 6.7.3) wants the info dictionary to agree with the XMP metadata, where pyHanko
    writes its own name alone as the producer; so the info dictionary says the same."""
    info_ref = writer._info
    if info_ref is not None:
        info = info_ref.get_object()
        if info.get("/Producer") != VENDOR:
            info[_name("/Producer")] = generic.TextStringObject(VENDOR)
            writer.update_container(info)


def _cms_signer(signer: PdfSigner) -> signers.SimpleSigner:
    certificate = asn1_certificate(signer.credential.certificate)
    simple = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=_asn1_key(signer.credential),
        cert_registry=SimpleCertificateStore.from_certs([asn1_certificate(signer.ca_certificate)]),
    )
    simple.signed_attr_prov_spec = _AttributesWithCheckpoint(
        signer.checkpoint_note,
        attr_settings=PdfCMSSignedAttributes(signing_time=signer.signed_at),
        signing_cert=certificate,
        signature_mechanism=simple.get_signature_mechanism_for_digest,
        timestamper=None,
    )
    return simple


class SigningOrderError(ValueError):
    """The chair signs first and once, the secretary countersigns once (R-CHECK-1); the caller's lifecycle
    should make this unreachable."""


def _check_order(writer: IncrementalPdfFileWriter, role: SignerRole) -> None:
    present = [s.field_name for s in writer.prev.embedded_signatures]
    expected = [] if role == SignerRole.CHAIR else [FIELD_NAMES[SignerRole.CHAIR]]
    if present != expected:
        raise SigningOrderError(f"the {role.value} cannot sign a PDF signed by {present or 'no one'}")


async def sign_pdf(pdf: bytes, signer: PdfSigner) -> bytes:
    """Add `signer`'s signature as a new revision: the chair's first (it certifies), then the secretary's."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _check_order(writer, signer.role)
    writer._meta = _ClockedMetadata(signer.signed_at)
    _align_producer(writer)
    certify = signer.role == SignerRole.CHAIR
    if certify:
        _embed_checkpoint(writer, signer.checkpoint_note, signer.signed_at)
    field = FIELD_NAMES[signer.role]
    subject = signer.credential.certificate.subject.rfc4514_string()
    metadata = signers.PdfSignatureMetadata(
        field_name=field,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASONS[signer.role],
        name=subject,
    )
    pdf_signer = _ClockedPdfSigner(
        metadata, _cms_signer(signer), new_field_spec=fields.SigFieldSpec(field), signed_at=signer.signed_at
    )
    output = await pdf_signer.async_sign_pdf(writer)
    signed: bytes = output.getvalue()
    return signed
