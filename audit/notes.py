"""C2SP signed notes and tlog checkpoints, signed with Ed25519.

A checkpoint body is three lines: origin, tree size, base64 root hash. The signed note adds a
blank line and one signature line per key: an em dash, the key name and base64 of the 4-byte
key id followed by the 64-byte signature.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.keys import write_private_key

ED25519_TYPE = b"\x01"
DASH = "\u2014"


class NoteError(ValueError):
    """A note or key that does not parse, or a signature that does not verify."""


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public).digest()[:4]


def key_id_for(name: str, public: bytes) -> bytes:
    """The 4-byte id a signature line carries for the key `public` under the name `name`."""
    return _key_id(name, public)


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True, slots=True)
class Verifier:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        """The verifier key string, `name+hexid+base64(type||key)`, that outsiders pin."""
        blob = base64.b64encode(ED25519_TYPE + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        try:
            name, hex_id, blob = vkey.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise NoteError("malformed verifier key") from exc
        if raw[:1] != ED25519_TYPE or len(raw) != 33 or not _valid_name(name):
            raise NoteError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise NoteError("verifier key id does not match its key")
        return verifier

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, body)
        except InvalidSignature:
            return False
        return True


class Signer:
    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        if not _valid_name(name):
            raise NoteError(f"key name {name!r} may not contain '+' or spaces")
        self.name = name
        self._key = key
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.verifier = Verifier(name, public)

    def sign(self, body: str) -> str:
        if not body.endswith("\n"):
            raise NoteError("a note body ends with a newline")
        signature = self._key.sign(body.encode())
        blob = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{body}\n{DASH} {self.name} {blob}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """Return the body of `note` if it carries a valid signature by `verifier`."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("note has no signature block")
    body += "\n"
    for line in signatures.splitlines():
        prefix = f"{DASH} {verifier.name} "
        if not line.startswith(prefix):
            continue
        raw = base64.b64decode(line[len(prefix) :])
        if raw[:4] == verifier.key_id and verifier.verify(body.encode(), raw[4:]):
            return body
        raise NoteError(f"signature by {verifier.name} does not verify")
    raise NoteError(f"note is not signed by {verifier.name}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or not lines[1].isdigit():
            raise NoteError("checkpoint body must have origin, size and root lines")
        root = base64.b64decode(lines[2])
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root)


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The audit checkpoint key, generated on first start with owner-only permissions."""
    if not path.exists():
        # Another worker may create it first; then use theirs.
        with contextlib.suppress(FileExistsError):
            write_private_key(path, Ed25519PrivateKey.generate())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError(f"{path} is not an Ed25519 key")
    return Signer(name, key)
