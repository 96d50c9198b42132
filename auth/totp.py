"""TOTP (RFC 6238) with replay protection, recovery codes and provisioning QR codes."""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime

import pyotp
import segno

ISSUER = "Kokous"
STEP_SECONDS = 30
# One step either side tolerates a phone clock that is half a minute off.
WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code (no external image service sees the secret)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        scale=5,
        border=2,
        xmldecl=False,
        svgns=True,
        title="QR code for the authenticator app",
    )
    return buffer.getvalue().decode()


def matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    """The time step `code` belongs to, or None when it matches none in the window."""
    cleaned = code.replace(" ", "")
    if not (cleaned.isdigit() and len(cleaned) == 6):
        return None
    try:
        step: int = pyotp.TOTP(secret, interval=STEP_SECONDS).verify_and_get_timecode(
            cleaned, for_time=now, valid_window=WINDOW
        )
    except pyotp.exceptions.OTPVerificationError:
        return None
    return step


def code_at(secret: str, moment: datetime) -> str:
    code: str = pyotp.TOTP(secret, interval=STEP_SECONDS).at(moment)
    return code


def new_recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def looks_like_recovery_code(code: str) -> bool:
    cleaned = code.strip().lower()
    return len(cleaned) == 11 and cleaned[5] == "-"


def hash_recovery_code(code: str) -> str:
    # 50 random bits per code and single use: a fast hash is enough, unlike passwords.
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
