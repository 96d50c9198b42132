"""`kokous minutes verify FILE`: who signed, when, in what role, whether a byte changed, whether the signers
chain to the municipality's CA and the checkpoints to the audit key; one exit code per verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.actions import record, write_checkpoint
from audit.models import AuditAction
from minutes.document import SignerRole
from minutes.jws import sign_document, signed_file
from minutes.pades import PdfSigner, sign_pdf
from minutes.serialise import document_json
from minutes.verify import TrustAnchors, Verdict, verify_bytes
from tests.conftest import START
from tests.minutes.conftest import Installation, Signed, flip_byte, json_signature, make_installation
from web.cli import main
from web.context import AppContext


def verify(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    data: bytes,
    *args: str,
    data_dir: Path,
) -> tuple[int, str]:
    monkeypatch.setenv("KOKOUS_DATA_DIR", str(data_dir))
    path = tmp_path / "copy"
    path.write_bytes(data)
    code = main(["minutes", "verify", str(path), *args])
    return code, capsys.readouterr().out


@pytest.fixture
def check(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    installation: Installation,
):  # type: ignore[no-untyped-def]
    def run(data: bytes, *args: str) -> tuple[int, str]:
        return verify(capsys, monkeypatch, tmp_path, data, *args, data_dir=installation.data_dir)

    return run


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """Another installation: its CA and audit key are not the municipality's."""
    return make_installation(tmp_path_factory.mktemp("stranger"))


@pytest.mark.parametrize("kind", ["pdf", "json"])
def test_intact_minutes(check, signed: Signed, kind: str) -> None:  # type: ignore[no-untyped-def]
    code, out = check(getattr(signed, kind))
    assert code == Verdict.INTACT == 0
    assert f"{kind.upper()} minutes: INTACT" in out
    assert (
        "chair: UID=u1,CN=Paula Puheenjohtaja,O=Esimerkkilän kunta,C=FI, signed 2026-11-28 11:00 EET" in out
    )
    assert "secretary: UID=u7,CN=Sanna Sihteeri,O=Esimerkkilän kunta,C=FI, signed 2026-11-28 13:00 EET" in out
    assert out.count("content: intact") == 2
    assert out.count("certificate: chains to the CA") == 2
    assert "audit checkpoint: verified: kokous.esimerkkila.example/audit, 41 entries" in out
    assert "audit checkpoint: verified: kokous.esimerkkila.example/audit, 44 entries" in out


@pytest.mark.parametrize(
    ("kind", "marker"),
    [
        ("pdf", b"Kokous"),  # inside the signed bytes
        ("pdf", b"/Producer"),  # breaks the PDF's structure
        ("json", "Pitkä reitti".encode()),  # the document's content
        ("json", b'"eyJ'),  # the first signature's header
    ],
)
def test_one_changed_byte_is_modified(check, signed: Signed, kind: str, marker: bytes) -> None:  # type: ignore[no-untyped-def]
    code, out = check(flip_byte(getattr(signed, kind), marker))
    assert code == Verdict.MODIFIED == 3
    assert "MODIFIED" in out


def test_bytes_appended_after_the_last_signature_are_modified(check, signed: Signed) -> None:  # type: ignore[no-untyped-def]
    code, out = check(signed.pdf + b"\n% a later line\n")
    assert code == Verdict.MODIFIED
    assert "bytes were added after the last signature" in out


@pytest.mark.parametrize("kind", ["pdf", "json"])
def test_a_signer_from_another_ca_is_unknown(
    check, signed: Signed, stranger: Installation, kind: str
) -> None:  # type: ignore[no-untyped-def]
    code, out = check(getattr(signed, kind), "--ca", str(stranger.data_dir / "public" / "minutes-ca.pem"))
    assert code == Verdict.UNKNOWN_SIGNER == 4
    assert "UNKNOWN signer" in out


def test_a_json_signature_by_someone_the_minutes_do_not_name_is_unknown(
    check, signed: Signed, installation: Installation
) -> None:  # type: ignore[no-untyped-def]
    """A member with a certificate from the same CA signing as the chair is not the chair (R-CHECK-1)."""
    body = json.loads(signed.json)
    impostor = installation.ca.signer("u3", "Jaana Jäsen", now=START)
    token = sign_document(
        body["document"],
        role=SignerRole.CHAIR,
        subject="u3",
        credential=impostor,
        signed_at=START,
        checkpoint=signed.chair_note,
    )
    code, out = check(signed_file(body["document"], [token, body["signatures"][1]]))
    assert code == Verdict.UNKNOWN_SIGNER
    assert "signed as chair by u3, but the minutes name u1" in out


async def test_a_pdf_signature_by_someone_the_minutes_do_not_name_is_unknown(
    signed: Signed, installation: Installation
) -> None:
    impostor = installation.ca.signer("u3", "Jaana Jäsen", now=START)
    signer = PdfSigner(SignerRole.CHAIR, impostor, installation.ca.certificate, START, signed.chair_note)
    anchors = TrustAnchors.load(ca=None, vkey=None, data_dir=installation.data_dir)
    checked = await verify_bytes(await sign_pdf(signed.unsigned_pdf, signer), anchors)
    assert checked.verdict == Verdict.UNKNOWN_SIGNER
    assert "signed as chair by u3, but the minutes name u1" in checked.report()


@pytest.mark.parametrize("kind", ["pdf", "json"])
def test_a_checkpoint_by_another_key_is_bad(check, signed: Signed, stranger: Installation, kind: str) -> None:  # type: ignore[no-untyped-def]
    code, out = check(getattr(signed, kind), "--vkey", stranger.audit.verifier.vkey)
    assert code == Verdict.BAD_CHECKPOINT == 5
    assert "NOT VERIFIED" in out


def test_minutes_without_the_countersignature_are_incomplete(check, signed: Signed) -> None:  # type: ignore[no-untyped-def]
    code, out = check(signed.chair_pdf)
    assert code == Verdict.INCOMPLETE == 6
    assert "problem: no secretary signature" in out
    body = json.loads(signed.json)
    assert check(signed_file(body["document"], body["signatures"][:1]))[0] == Verdict.INCOMPLETE


def test_a_missing_file_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["minutes", "verify", str(tmp_path / "nothing.pdf")]) == 1
    assert "Cannot verify" in capsys.readouterr().err


async def test_minutes_signed_beside_the_real_audit_log_verify(context: AppContext, signed: Signed) -> None:
    """The installation's own CA and audit key, made at first start, and a checkpoint from the database;
    checked with the trust anchors the installation publishes (what the command line loads by default)."""
    async with context.db.write() as session:
        await record(session, AuditAction.AUDIT_EXPORTED, actor="test", subject="audit")
        note = (await write_checkpoint(session, reason="minutes signature")).note
    ca = context.minutes_ca
    signers = {
        role: PdfSigner(role, ca.signer(user, name, now=START), ca.certificate, START, note)
        for role, user, name in [(SignerRole.CHAIR, "u1", "Paula P"), (SignerRole.SECRETARY, "u7", "Sanna S")]
    }
    pdf = await sign_pdf(
        await sign_pdf(signed.unsigned_pdf, signers[SignerRole.CHAIR]), signers[SignerRole.SECRETARY]
    )
    anchors = TrustAnchors.load(ca=None, vkey=None, data_dir=context.settings.data_dir)
    checked = await verify_bytes(pdf, anchors)
    assert checked.verdict == Verdict.INTACT, checked.report()
    assert f"audit checkpoint: verified: {context.settings.audit_origin}" in checked.report()
    content = document_json(signed.document)
    installation = Installation(context.settings.data_dir, ca, context.signer)
    tokens = [json_signature(installation, content, role, note) for role in signers]
    checked = await verify_bytes(signed_file(content, tokens), anchors)
    assert checked.verdict == Verdict.INTACT, checked.report()
