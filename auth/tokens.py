"""Signed tokens through python-jose, wrapped so the library can be swapped (DESIGN.md §4, §11).

One algorithm per key (ES256), always passed explicitly when decoding; every claim required.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jwt
from jose.backends import ECKey
from jose.exceptions import JOSEError, JWSError

from core.errors import NotAuthenticated
from core.keys import write_private_key
from core.text import translatable

ALGORITHM = "ES256"
ACCESS = "kokous:access"
SECOND_FACTOR = "kokous:second-factor"
SECOND_FACTOR_CHANGE = "kokous:second-factor-change"
DEVICE = "kokous:device"
REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti")
TIME_CLAIMS = ("exp", "iat")
# python-jose turns `verify_<claim>` back on for every `require_<claim>` and then compares `exp` and `nbf`
# with the machine's real time. Time claims are therefore neither required nor checked by the library:
# `_verify` requires them itself and `decode` compares them with Kokous's clock (core.clock).
LIBRARY_CHECKS = {f"require_{name}": True for name in REQUIRED if name not in TIME_CLAIMS} | {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "leeway": 0,
}
VERIFIED_TOKENS = 4096  # claims of recently verified tokens kept per process (a few MB at most)


def assert_crypto_backend() -> None:
    """python-jose silently falls back to pure-Python crypto; refuse to start on it."""
    if ECKey.__name__ != "CryptographyECKey":
        raise RuntimeError(
            "python-jose is not using the cryptography backend; install python-jose[cryptography]"
        )


class TokenRejected(NotAuthenticated):
    """A token that was not accepted. `reason` says why, for the audit log; `forged` is False only when an
    honest token can fail so (it expired), True when it cannot have come from this service as it is.
    `subject` is the `sub` claim of a token whose signature was good (an expired one), else empty."""

    def __init__(self, template: str, *, reason: str, forged: bool = True, subject: str = "") -> None:
        super().__init__(template)
        self.reason = reason
        self.forged = forged
        self.subject = subject


INVALID = translatable("The sign-in token is not valid.")
EXPIRED = translatable("The sign-in has expired. Please sign in again.")


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    audience: str
    token_id: str
    issued_at: datetime
    expires_at: datetime
    extra: dict[str, Any]


class TokenService:
    def __init__(self, private_pem: bytes, *, issuer: str) -> None:
        assert_crypto_backend()
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the token key must be an EC P-256 key")
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_pem = public.decode()
        # Parsed once: python-jose parses a PEM text on every sign and every verification otherwise.
        self._private = jwk.construct(private_pem.decode(), ALGORITHM)
        self._public = jwk.construct(self.public_pem, ALGORITHM)
        self.key_id = _thumbprint(public)
        self.issuer = issuer
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def load_or_create(cls, path: Path, *, issuer: str) -> TokenService:
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                write_private_key(path, ec.generate_private_key(ec.SECP256R1()))
        return cls(path.read_bytes(), issuer=issuer)

    def issue(self, *, subject: str, audience: str, now: datetime, lifetime: timedelta, **extra: Any) -> str:
        claims = {
            **extra,
            "iss": self.issuer,
            "aud": audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": secrets.token_urlsafe(16),
        }
        return str(
            jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.key_id, "typ": "JWT"})
        )

    def decode(self, token: str, *, audience: str, now: datetime) -> Claims:
        """Verify signature, algorithm, issuer, audience and lifetime; raise NotAuthenticated otherwise.

        A browser sends the same access token with every request until it expires, so the claims of
        tokens whose signature has been verified are remembered by their exact text; the lifetime is
        checked against `now` every time.
        """
        claims = self._verified.get((token, audience))
        if claims is None:
            claims = self._verify(token, audience)
            if len(self._verified) >= VERIFIED_TOKENS:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[(token, audience)] = claims
        # Expiry against our clock (not the library's), so tests can move time.
        if now.timestamp() >= claims["exp"]:
            raise TokenRejected(EXPIRED, reason="expired", forged=False, subject=str(claims["sub"]))
        if claims["iat"] > now.timestamp() + 60:  # signed by this service: its clocks disagree
            raise TokenRejected(INVALID, reason="issued in the future", forged=False)
        extra = {k: v for k, v in claims.items() if k not in REQUIRED}
        return Claims(
            subject=str(claims["sub"]),
            audience=audience,
            token_id=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(claims["iat"], now.tzinfo),
            expires_at=datetime.fromtimestamp(claims["exp"], now.tzinfo),
            extra=extra,
        )

    def _verify(self, token: str, audience: str) -> dict[str, Any]:
        header = _header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenRejected(INVALID, reason="wrong algorithm")
        if header.get("kid") != self.key_id:
            raise TokenRejected(INVALID, reason="unknown key id")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                options=LIBRARY_CHECKS,
            )
        except JOSEError as exc:
            # python-jose wraps a failed signature check (JWSError); claims are checked after it: a token
            # signed here, but not for this audience or issuer, or without a required claim.
            signature = isinstance(exc, JWSError) or isinstance(exc.__context__, JWSError)
            raise TokenRejected(INVALID, reason="bad signature" if signature else "invalid claims") from exc
        if not all(_is_time(claims.get(name)) for name in TIME_CLAIMS):
            raise TokenRejected(INVALID, reason="invalid claims")
        return claims


def _header(token: str) -> dict[str, Any]:
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise TokenRejected(INVALID, reason="malformed") from exc
    return header


def _is_time(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _thumbprint(public_pem: bytes) -> str:
    return hashlib.sha256(public_pem).hexdigest()[:16]
