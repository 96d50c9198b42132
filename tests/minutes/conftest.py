"""Signed minutes built once per run: rendering a PDF and signing it take a second, the checks take less."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.merkle import Frontier, leaf_hash
from audit.notes import Checkpoint, Signer
from minutes.ca import MunicipalCA, publish_audit_key
from minutes.document import MinutesDocument, SignerRole
from minutes.jws import sign_document, signed_file
from minutes.pades import PdfSigner, sign_pdf
from minutes.render import render_pdf
from minutes.serialise import document_json
from tests.conftest import START
from tests.minutes.sample import sample_minutes

MUNICIPALITY = "Esimerkkilän kunta"
ORIGIN = "kokous.esimerkkila.example/audit"
# Long enough that neither today's date nor the time-shifted runs (make test-timeshift) leave it.
SIGNER_LIFETIME = timedelta(days=50 * 365)
CHAIR_AT = START
SECRETARY_AT = START + timedelta(hours=2)


def checkpoint_note(signer: Signer, size: int) -> str:
    """A real signed checkpoint over `size` entries, as audit.actions.write_checkpoint makes them."""
    frontier = Frontier()
    for seq in range(1, size + 1):
        frontier.append(leaf_hash(f"entry {seq}".encode()))
    return signer.sign(Checkpoint(signer.name, frontier.size, frontier.root()).body())


@dataclass(frozen=True)
class Installation:
    data_dir: Path
    ca: MunicipalCA
    audit: Signer


@dataclass(frozen=True)
class Signed:
    document: MinutesDocument
    unsigned_pdf: bytes
    chair_pdf: bytes
    pdf: bytes
    json: bytes
    chair_note: str
    secretary_note: str


def make_installation(root: Path) -> Installation:
    ca = MunicipalCA.load_or_create(
        root, municipality=MUNICIPALITY, now=START, signer_lifetime=SIGNER_LIFETIME
    )
    audit = Signer(ORIGIN, Ed25519PrivateKey.generate())
    publish_audit_key(root, audit.verifier.vkey)
    return Installation(root, ca, audit)


@pytest.fixture(scope="session")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    return make_installation(tmp_path_factory.mktemp("minutes-data"))


def pdf_signer(installation: Installation, role: SignerRole, note: str) -> PdfSigner:
    person = ("u1", "Paula Puheenjohtaja") if role == SignerRole.CHAIR else ("u7", "Sanna Sihteeri")
    at = CHAIR_AT if role == SignerRole.CHAIR else SECRETARY_AT
    credential = installation.ca.signer(*person, now=at)
    return PdfSigner(role, credential, installation.ca.certificate, at, note)


def json_signature(
    installation: Installation, document: dict[str, object], role: SignerRole, note: str
) -> str:
    signer = pdf_signer(installation, role, note)
    subject = "u1" if role == SignerRole.CHAIR else "u7"
    return sign_document(
        document,
        role=role,
        subject=subject,
        credential=signer.credential,
        signed_at=signer.signed_at,
        checkpoint=note,
    )


async def sign_both(installation: Installation, document: MinutesDocument) -> Signed:
    chair_note = checkpoint_note(installation.audit, 41)
    secretary_note = checkpoint_note(installation.audit, 44)
    unsigned = render_pdf(document)
    chair_pdf = await sign_pdf(unsigned, pdf_signer(installation, SignerRole.CHAIR, chair_note))
    pdf = await sign_pdf(chair_pdf, pdf_signer(installation, SignerRole.SECRETARY, secretary_note))
    content = document_json(document)
    tokens = [
        json_signature(installation, content, SignerRole.CHAIR, chair_note),
        json_signature(installation, content, SignerRole.SECRETARY, secretary_note),
    ]
    return Signed(
        document, unsigned, chair_pdf, pdf, signed_file(content, tokens), chair_note, secretary_note
    )


@pytest.fixture(scope="session")
async def signed(installation: Installation) -> Signed:
    return await sign_both(installation, sample_minutes())


def flip_byte(data: bytes, marker: bytes) -> bytes:
    """The same bytes with one byte changed: the first byte of the first occurrence of `marker`."""
    at = data.index(marker)
    changed = bytearray(data)
    changed[at] ^= 0x20
    return bytes(changed)


def require_tool(name: str) -> str:
    """The path of a Debian tool the checks need; `make install` installs it (scripts/install-pdf-deps.sh)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run `make install` (scripts/install-pdf-deps.sh installs it)"
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603
