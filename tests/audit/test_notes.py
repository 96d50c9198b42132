"""C2SP signed notes and checkpoints, against the published vectors of the Go reference implementation."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.notes import Checkpoint, NoteError, Signer, Verifier, open_note

# golang.org/x/mod/sumdb/note tests and the c2sp.org/signed-note specification example.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def go_signer() -> Signer:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    return Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_signer_reproduces_the_reference_signature_byte_for_byte() -> None:
    assert go_signer().sign(GO_TEXT) == GO_TEXT + "\n" + GO_SIGNATURE


def test_signer_derives_the_reference_verifier_key() -> None:
    assert go_signer().verifier.vkey == GO_VKEY


def test_reference_notes_open() -> None:
    assert open_note(GO_TEXT + "\n" + GO_SIGNATURE, Verifier.from_vkey(GO_VKEY)) == GO_TEXT
    assert open_note(SPEC_NOTE, Verifier.from_vkey(SPEC_VKEY)) == "This is an example message.\n"


def test_altered_text_does_not_open() -> None:
    note = (GO_TEXT + "\n" + GO_SIGNATURE).replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note, Verifier.from_vkey(GO_VKEY))


def test_note_signed_by_another_key_does_not_open() -> None:
    with pytest.raises(NoteError, match="not signed by"):
        open_note(SPEC_NOTE, Verifier.from_vkey(GO_VKEY))


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+c74f20a3+AhpcZQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not type 0x01
        "PeterNeumann+c74f20a3",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_checkpoint_body_round_trips() -> None:
    checkpoint = Checkpoint("kokous.example/audit", 42, bytes(range(32)))
    assert checkpoint.body() == f"kokous.example/audit\n42\n{base64.b64encode(bytes(range(32))).decode()}\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_verifier_key_whose_base64_contains_a_plus_parses() -> None:
    # Keys are base64 and may contain "+", the field separator; only the first two separate fields.
    for _ in range(200):
        verifier = Signer("kokous.test/audit", Ed25519PrivateKey.generate()).verifier
        assert Verifier.from_vkey(verifier.vkey) == verifier
