"""The JSON minutes' detached signatures (python-jose), checked independently with PyJWT and rfc8785."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
import pytest
import rfc8785
from cryptography import x509

from audit.notes import Checkpoint, open_note
from tests.minutes.conftest import CHAIR_AT, SECRETARY_AT, Installation, Signed

OPTIONS = {"require": ["iat", "sub"], "verify_iat": False}  # a check of a signature, not of a session


@pytest.fixture(scope="module")
def body(signed: Signed) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(signed.json)
    return loaded


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any], x509.Certificate]:
    header = jwt.get_unverified_header(token)
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(token, certificate.public_key(), algorithms=["ES256"], options=OPTIONS)  # type: ignore[arg-type]
    return header, claims, certificate


def test_pyjwt_verifies_both_signatures(body: dict[str, Any], installation: Installation) -> None:
    decoded = [decode(token) for token in body["signatures"]]
    assert [(c["role"], c["sub"], c["name"]) for _, c, _ in decoded] == [
        ("chair", "u1", "Paula Puheenjohtaja"),
        ("secretary", "u7", "Sanna Sihteeri"),
    ]
    assert [c["iat"] for _, c, _ in decoded] == [int(CHAIR_AT.timestamp()), int(SECRETARY_AT.timestamp())]
    for _, _, certificate in decoded:
        certificate.verify_directly_issued_by(installation.ca.certificate)


def test_the_header_is_explicit(body: dict[str, Any]) -> None:
    """DESIGN.md §11: python-jose writes typ JWT unless told; ES256 only; never JWE (five parts)."""
    for token in body["signatures"]:
        header, _, _ = decode(token)
        assert header["alg"] == "ES256"
        assert header["typ"] == "kokous-minutes-signature+jwt"
        assert token.count(".") == 2


def test_the_signed_hash_is_the_canonical_documents(body: dict[str, Any]) -> None:
    digest = hashlib.sha256(rfc8785.dumps(body["document"])).hexdigest()
    assert {decode(token)[1]["minutes_sha256"] for token in body["signatures"]} == {digest}
    assert body["document"]["meeting"]["body"] == "Kunnanhallitus"


def test_each_signature_names_a_checkpoint_signed_by_the_audit_key(
    body: dict[str, Any], signed: Signed, installation: Installation
) -> None:
    notes = [decode(token)[1]["checkpoint"] for token in body["signatures"]]
    assert notes == [signed.chair_note, signed.secretary_note]
    sizes = [Checkpoint.parse(open_note(note, installation.audit.verifier)).size for note in notes]
    assert sizes == [41, 44]


def test_a_changed_byte_in_a_signature_fails(body: dict[str, Any]) -> None:
    token = body["signatures"][0]
    head, payload, signature = token.split(".")
    changed = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(jwt.InvalidSignatureError):
        decode(f"{head}.{payload}.{changed}")


def test_a_changed_document_no_longer_matches(body: dict[str, Any]) -> None:
    document = json.loads(json.dumps(body["document"]))
    document["items"][0]["votes"][0]["stances"][4]["choice"] = "jaa"
    digest = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    assert digest != decode(body["signatures"][0])[1]["minutes_sha256"]
