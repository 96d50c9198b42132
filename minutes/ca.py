"""The municipality's own certificate authority for minutes signatures, and the signers' certificates.

Generated on first start in the data directory (DESIGN.md §4): the CA key in `keys/minutes-ca/`, readable by
the service's user only, never in the database; each signer's key and certificate in `keys/minutes-signers/`.
The CA certificate is exported to `public/minutes-ca.pem` for anyone who checks a copy of the minutes
(docs/decisions/0010-minutes-signatures.md). Keys are EC P-256: the same key signs the PDF (PAdES) and the
JSON (ES256).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.keys import write_private_key

CA_LIFETIME = timedelta(days=30 * 365)
SIGNER_LIFETIME = timedelta(days=3 * 365)
BACKDATE = timedelta(hours=1)  # tolerate a verifier whose clock is a little behind
PUBLIC_CA_NAME = "minutes-ca.pem"
PUBLIC_VKEY_NAME = "audit-checkpoint.vkey"
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_USAGE_NONE = dict.fromkeys(
    (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ),
    False,
)


@dataclass(frozen=True, slots=True)
class Credential:
    """A private key and its certificate: the CA's, or a signer's."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _name(municipality: str, common_name: str, user_id: str = "") -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FI"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, municipality),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if user_id:
        parts.append(x509.NameAttribute(NameOID.USER_ID, user_id))
    return x509.Name(parts)


def _usage(**flags: bool) -> x509.KeyUsage:
    return x509.KeyUsage(**(KEY_USAGE_NONE | flags))


def create_ca(municipality: str, *, now: datetime) -> Credential:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(municipality, f"{municipality}: pöytäkirjojen allekirjoitukset")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Credential(key, certificate)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def _save(directory: Path, stem: str, credential: Credential) -> None:
    write_private_key(directory / f"{stem}-key.pem", credential.key)
    (directory / f"{stem}.pem").write_bytes(_pem(credential.certificate))


def _load(directory: Path, stem: str) -> Credential:
    return Credential(_load_key(directory / f"{stem}-key.pem"), load_certificate(directory / f"{stem}.pem"))


class MunicipalCA:
    """The CA and the signers' credentials under one data directory."""

    def __init__(
        self, data_dir: Path, ca: Credential, *, signer_lifetime: timedelta = SIGNER_LIFETIME
    ) -> None:
        self.data_dir = data_dir
        self.ca = ca
        self.signer_lifetime = signer_lifetime

    @property
    def certificate(self) -> x509.Certificate:
        return self.ca.certificate

    @property
    def signers_dir(self) -> Path:
        return self.data_dir / "keys" / "minutes-signers"

    @classmethod
    def load_or_create(
        cls,
        data_dir: Path,
        *,
        municipality: str,
        now: datetime,
        signer_lifetime: timedelta = SIGNER_LIFETIME,
    ) -> MunicipalCA:
        """Load the CA, or create it on first start; then export its certificate to `public/`."""
        home = data_dir / "keys" / "minutes-ca"
        if not home.exists():
            _create_atomically(home, create_ca(municipality, now=now))
        ca = cls(data_dir, _load(home, "ca"), signer_lifetime=signer_lifetime)
        ca.export()
        return ca

    def export(self) -> Path:
        """Write the CA certificate where others can fetch it: `<data dir>/public/minutes-ca.pem`."""
        return publish(self.data_dir, PUBLIC_CA_NAME, _pem(self.certificate))

    def signer(self, user_id: str, name: str, *, now: datetime) -> Credential:
        """The signer's credential, issued (or re-issued, when the name changed or the certificate is
        about to expire) by this CA."""
        if not SAFE_ID.match(user_id):
            raise ValueError(f"a signer's id must be letters, digits, '-' or '_': {user_id!r}")
        stem = f"signer-{user_id}"
        if (self.signers_dir / f"{stem}.pem").exists():
            current = _load(self.signers_dir, stem)
            if _still_good(current.certificate, name, now, self.certificate):
                return current
            for suffix in ("-key.pem", ".pem"):
                (self.signers_dir / f"{stem}{suffix}").unlink()
        credential = self.issue(user_id, name, now=now)
        self.signers_dir.mkdir(parents=True, exist_ok=True)
        _save(self.signers_dir, stem, credential)
        return credential

    def issue(self, user_id: str, name: str, *, now: datetime) -> Credential:
        key = ec.generate_private_key(ec.SECP256R1())
        ca_public = self.ca.key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(_organisation(self.certificate), name, user_id))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + self.signer_lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(self.ca.key, hashes.SHA256())
        )
        return Credential(key, certificate)


def _organisation(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)


def _still_good(certificate: x509.Certificate, name: str, now: datetime, ca: x509.Certificate) -> bool:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    renew_at = certificate.not_valid_after_utc - timedelta(days=30)
    valid_now = certificate.not_valid_before_utc <= now < renew_at
    if not (names and names[0].value == name and valid_now and certificate.issuer == ca.subject):
        return False
    try:  # issued by this CA, not by an earlier one of the same name (a data directory restored in part)
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _create_atomically(home: Path, credential: Credential) -> None:
    """Write the CA into a fresh folder and rename it into place: two workers starting at once end up
    using the same CA, whichever rename won."""
    home.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(home.parent, 0o700)
    staging = Path(tempfile.mkdtemp(prefix=".minutes-ca-", dir=home.parent))
    try:
        _save(staging, "ca", credential)
        os.rename(staging, home)
    except OSError:
        if not home.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(data_dir: Path, name: str, content: bytes) -> Path:
    """Write a public trust anchor to `<data dir>/public/`, world-readable, only when it changed."""
    public = data_dir / "public"
    public.mkdir(parents=True, exist_ok=True)
    path = public / name
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
        path.chmod(0o644)
    return path


def publish_audit_key(data_dir: Path, vkey: str) -> Path:
    """The audit checkpoints' verifier key, for checking the checkpoints that signed minutes embed."""
    return publish(data_dir, PUBLIC_VKEY_NAME, vkey.encode() + b"\n")
