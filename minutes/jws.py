"""The JSON minutes and their detached ES256 signatures, made with python-jose (DESIGN.md §8, §11).

python-jose has no detached JWS, so each signature is a compact JWS over a small claims object that names the
SHA-256 of the document's canonical bytes (RFC 8785) and who signed, in what role, when, beside which audit
checkpoint. The signer's certificate travels in the `x5c` header; whoever checks the file decides whether to
trust it by chaining it to the municipality's CA. Never JWE.

The signed file:

    {"document": {...}, "signatures": ["<JWS>", ...]}
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from jose import jws

from auth.tokens import assert_crypto_backend
from minutes.ca import Credential
from minutes.document import SignerRole
from minutes.serialise import JSONValue, content_hash

ALGORITHM = "ES256"
TYPE = "kokous-minutes-signature+jwt"
FORMAT = "kokous-signed-minutes/1"


@dataclass(frozen=True, slots=True)
class SignatureClaims:
    """What one signature says: this document, this person, this role, this moment, this checkpoint."""

    minutes_sha256: str
    subject: str  # the signer's user id
    name: str
    role: SignerRole
    signed_at: int  # seconds since the epoch, from the injected clock
    checkpoint: str  # the audit log's signed checkpoint note (C2SP), DESIGN.md §5

    def as_json(self) -> dict[str, JSONValue]:
        return {
            "minutes_sha256": self.minutes_sha256,
            "sub": self.subject,
            "name": self.name,
            "role": self.role.value,
            "iat": self.signed_at,
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, claims: dict[str, Any]) -> SignatureClaims:
        return cls(
            minutes_sha256=str(claims["minutes_sha256"]),
            subject=str(claims["sub"]),
            name=str(claims["name"]),
            role=SignerRole(claims["role"]),
            signed_at=int(claims["iat"]),
            checkpoint=str(claims["checkpoint"]),
        )


def x5c(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def sign_document(
    document: JSONValue,
    *,
    role: SignerRole,
    subject: str,
    credential: Credential,
    signed_at: datetime,
    checkpoint: str,
) -> str:
    """A compact JWS (ES256, explicit `typ`) over the claims for `document`, signed with the signer's key."""
    assert_crypto_backend()
    name = credential.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    claims = SignatureClaims(
        content_hash(document), subject, str(name), role, int(signed_at.timestamp()), checkpoint
    )
    key = credential.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    headers = {"typ": TYPE, "x5c": [x5c(credential.certificate)]}
    return str(jws.sign(claims.as_json(), key.decode(), headers=headers, algorithm=ALGORITHM))


def signed_file(document: JSONValue, signatures: list[str]) -> bytes:
    """The distributable JSON file; the document inside is canonical, so its hash is reproducible."""
    body = {"format": FORMAT, "document": document, "signatures": signatures}
    return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


def add_signature(file: bytes, signature: str) -> bytes:
    body = json.loads(file)
    return signed_file(body["document"], [*body["signatures"], signature])
