"""The municipality's CA: made once on first start, its key owner-only and outside the database, its
certificate published; signers' certificates issued from it and reused."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minutes.ca import MunicipalCA
from tests.conftest import START
from tests.minutes.conftest import MUNICIPALITY
from web.context import AppContext


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ca(tmp_path: Path) -> MunicipalCA:
    return MunicipalCA.load_or_create(tmp_path, municipality=MUNICIPALITY, now=START)


def test_keys_are_owner_only_and_the_certificate_is_public(ca: MunicipalCA, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "minutes-ca" / "ca-key.pem"
    assert mode(key) == 0o600
    assert mode(key.parent.parent) == 0o700
    public = tmp_path / "public" / "minutes-ca.pem"
    assert mode(public) == 0o644
    assert x509.load_pem_x509_certificate(public.read_bytes()) == ca.certificate
    assert b"PRIVATE" not in public.read_bytes()


def test_the_ca_is_made_once(ca: MunicipalCA, tmp_path: Path) -> None:
    again = MunicipalCA.load_or_create(tmp_path, municipality="Other", now=START + timedelta(days=1))
    assert again.certificate == ca.certificate
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_signer_gets_a_certificate_from_the_ca(ca: MunicipalCA, tmp_path: Path) -> None:
    credential = ca.signer("u1", "Paula Puheenjohtaja", now=START)
    certificate = credential.certificate
    certificate.verify_directly_issued_by(ca.certificate)
    assert certificate.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "u1"
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.content_commitment, usage.key_cert_sign) == (True, True, False)
    purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(purposes) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert mode(tmp_path / "keys" / "minutes-signers" / "signer-u1-key.pem") == 0o600


def test_a_signer_keeps_the_certificate_until_the_name_changes(ca: MunicipalCA) -> None:
    first = ca.signer("u1", "Paula Puheenjohtaja", now=START)
    assert (
        ca.signer("u1", "Paula Puheenjohtaja", now=START + timedelta(days=10)).certificate
        == first.certificate
    )
    renamed = ca.signer("u1", "Paula Virtanen", now=START + timedelta(days=11))
    assert renamed.certificate.serial_number != first.certificate.serial_number


def test_a_certificate_near_its_end_is_renewed(ca: MunicipalCA) -> None:
    first = ca.signer("u1", "Paula Puheenjohtaja", now=START)
    later = START + timedelta(days=3 * 365 - 10)
    assert ca.signer("u1", "Paula Puheenjohtaja", now=later).certificate != first.certificate


@pytest.mark.parametrize("user_id", ["../u1", "u 1", ""])
def test_an_unsafe_id_is_refused(ca: MunicipalCA, user_id: str) -> None:
    with pytest.raises(ValueError, match="signer's id"):
        ca.signer(user_id, "X", now=START)


def test_first_start_publishes_the_trust_anchors(context: AppContext) -> None:
    """What a citizen needs to check a copy: the CA certificate and the audit key's verifier key."""
    public = context.settings.data_dir / "public"
    certificate = x509.load_pem_x509_certificate((public / "minutes-ca.pem").read_bytes())
    assert certificate == context.minutes_ca.certificate
    assert (public / "audit-checkpoint.vkey").read_text().strip() == context.signer.verifier.vkey
