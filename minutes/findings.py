"""What checking a copy of the minutes finds (minutes.verify): the verdict, each signature and checkpoint, and
the trust anchors they are checked against. Shared by the PDF (minutes.verify_pdf) and the JSON
(minutes.verify_json) checks, which minutes.verify chooses between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from audit.notes import Checkpoint, NoteError, Verifier, open_note
from core.clock import LOCAL
from minutes.ca import PUBLIC_CA_NAME, PUBLIC_VKEY_NAME, load_certificate


class Verdict(IntEnum):
    """The exit codes of `kokous minutes verify` (1 and 2 stay with errors and usage)."""

    INTACT = 0  # every signature intact, trusted, with a verified checkpoint; chair and secretary signed
    MODIFIED = 3  # a signed byte changed, or the file does not parse
    UNKNOWN_SIGNER = 4  # intact, but a certificate does not chain to the CA given
    BAD_CHECKPOINT = 5  # a checkpoint is missing or not signed by the audit key given
    INCOMPLETE = 6  # no signature, or the chair's or the secretary's is missing


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    ca: x509.Certificate | None
    audit: Verifier | None

    @classmethod
    def load(cls, *, ca: Path | None, vkey: str | None, data_dir: Path) -> TrustAnchors:
        """Explicit files first, else what this installation publishes in `<data dir>/public/`."""
        ca_path = ca or data_dir / "public" / PUBLIC_CA_NAME
        vkey_path = data_dir / "public" / PUBLIC_VKEY_NAME
        if vkey is None and vkey_path.exists():
            vkey = vkey_path.read_text().strip()
        return cls(
            ca=load_certificate(ca_path) if ca_path.exists() else None,
            audit=Verifier.from_vkey(vkey) if vkey else None,
        )


@dataclass(frozen=True, slots=True)
class CheckpointFinding:
    verified: bool
    description: str


@dataclass(frozen=True, slots=True)
class SignatureFinding:
    role: str
    signer: str  # the certificate's subject
    signed_at: datetime | None
    intact: bool
    trusted: bool
    checkpoint: CheckpointFinding
    problems: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        when = self.signed_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M %Z") if self.signed_at else "?"
        lines = [f"{self.role}: {self.signer}, signed {when}"]
        lines.append("  content: " + ("intact" if self.intact else "MODIFIED after signing"))
        lines.append("  certificate: " + ("chains to the CA" if self.trusted else "UNKNOWN signer"))
        lines.append(f"  audit checkpoint: {self.checkpoint.description}")
        return lines + [f"  problem: {p}" for p in self.problems]


@dataclass(slots=True)
class Verification:
    kind: str
    signatures: list[SignatureFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the file as a whole
    modified: bool = False

    @property
    def verdict(self) -> Verdict:
        if self.modified or not all(s.intact for s in self.signatures):
            return Verdict.MODIFIED
        if not all(s.trusted for s in self.signatures):
            return Verdict.UNKNOWN_SIGNER
        if not all(s.checkpoint.verified for s in self.signatures):
            return Verdict.BAD_CHECKPOINT
        if {s.role for s in self.signatures} < {"chair", "secretary"}:
            return Verdict.INCOMPLETE
        return Verdict.INTACT

    def report(self) -> str:
        lines = [f"{self.kind} minutes: {self.verdict.name}"]
        for signature in self.signatures:
            lines += signature.lines()
        return "\n".join(lines + [f"problem: {p}" for p in self.problems]) + "\n"


def check_checkpoint(note: str | None, audit: Verifier | None) -> CheckpointFinding:
    """Whether `note` is a checkpoint signed by the audit key (C2SP signed note, DESIGN.md §5)."""
    if not note:
        return CheckpointFinding(False, "MISSING")
    if audit is None:
        return CheckpointFinding(False, "NOT CHECKED: no audit verifier key given (--vkey)")
    try:
        checkpoint = Checkpoint.parse(open_note(note, audit))
    except (NoteError, ValueError) as exc:
        return CheckpointFinding(False, f"NOT VERIFIED: {exc}")
    if checkpoint.origin != audit.name:
        return CheckpointFinding(False, f"NOT VERIFIED: origin {checkpoint.origin!r} is not {audit.name!r}")
    return CheckpointFinding(
        True, f"verified: {checkpoint.origin}, {checkpoint.size} entries, root {checkpoint.root.hex()}"
    )


def chains_to(certificate: x509.Certificate, ca: x509.Certificate | None, at: datetime) -> list[str]:
    """Problems with `certificate` as a signer's certificate issued by `ca`, valid at `at`; none if good."""
    if ca is None:
        return ["no CA certificate given (--ca): the signer cannot be identified"]
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        return [f"the certificate is not issued by {common_name(ca)}: {exc or 'bad signature'}"]
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        return ["the certificate was not valid at the time of signing"]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    if not usage.digital_signature:
        return ["the certificate is not for signatures"]
    return []


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def file_kind(data: bytes) -> str:
    return "PDF" if data.lstrip()[:5] == b"%PDF-" else "JSON"


def named_signer(document: Any, role: str) -> str | None:
    """Who the minutes themselves name for `role` (R-MIN-2 legality data), if they say."""
    legality = document.get("legality") if isinstance(document, dict) else None
    return str(legality[role]) if isinstance(legality, dict) and role in legality else None


def roles_missing(findings: Sequence[SignatureFinding]) -> list[str]:
    return [role for role in ("chair", "secretary") if role not in {f.role for f in findings}]
