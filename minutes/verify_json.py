"""Checking the signed JSON minutes: each JWS against its certificate, the document's hash, the checkpoint."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jose import jws
from jose.exceptions import JOSEError

from minutes.findings import (
    SignatureFinding,
    TrustAnchors,
    Verification,
    chains_to,
    check_checkpoint,
    named_signer,
    roles_missing,
)
from minutes.jws import ALGORITHM, TYPE, SignatureClaims
from minutes.serialise import content_hash


def _certificate(header: dict[str, Any]) -> x509.Certificate:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain:
        raise ValueError("the signature names no certificate (x5c)")
    return x509.load_der_x509_certificate(base64.b64decode(chain[0]))


def _claims(token: str) -> tuple[SignatureClaims, x509.Certificate]:
    """The claims, once the JWS verifies against the certificate it carries (ES256 only, explicit typ)."""
    header = jws.get_unverified_header(token)
    if header.get("alg") != ALGORITHM or header.get("typ") != TYPE:
        raise ValueError(f"not a minutes signature (alg {header.get('alg')}, typ {header.get('typ')})")
    certificate = _certificate(header)
    public = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = jws.verify(token, public.decode(), algorithms=[ALGORITHM])
    return SignatureClaims.from_json(json.loads(payload)), certificate


def _finding(token: str, document: Any, digest: str, anchors: TrustAnchors) -> SignatureFinding:
    try:
        claims, certificate = _claims(token)
    except (JOSEError, ValueError, KeyError, TypeError) as exc:
        no_check = check_checkpoint(None, None)
        return SignatureFinding(
            "?", "?", None, False, False, no_check, (f"the signature does not verify: {exc}",)
        )
    signed_at = datetime.fromtimestamp(claims.signed_at, UTC)
    untrusted = chains_to(certificate, anchors.ca, signed_at)
    named = named_signer(document, claims.role.value)
    if named != claims.subject:
        untrusted.append(f"signed as {claims.role.value} by {claims.subject}, but the minutes name {named}")
    intact = claims.minutes_sha256 == digest
    changed = [] if intact else ["the document's SHA-256 is not the one signed"]
    return SignatureFinding(
        role=claims.role.value,
        signer=certificate.subject.rfc4514_string(),
        signed_at=signed_at,
        intact=intact,
        trusted=not untrusted,
        checkpoint=check_checkpoint(claims.checkpoint, anchors.audit),
        problems=tuple(changed + untrusted),
    )


def verify_json(data: bytes, anchors: TrustAnchors) -> Verification:
    result = Verification("JSON")
    try:
        body = json.loads(data)
        document, tokens = body["document"], body["signatures"]
    except (ValueError, KeyError, TypeError) as exc:
        result.modified = True
        result.problems.append(f"not a signed minutes file: {exc}")
        return result
    digest = content_hash(document)
    result.signatures = [_finding(str(token), document, digest, anchors) for token in tokens]
    result.problems += [f"no {role} signature" for role in roles_missing(result.signatures)]
    return result
