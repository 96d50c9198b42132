"""Access tokens: ES256 only, every claim required, checked independently with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth.tokens import ACCESS, REQUIRED, SECOND_FACTOR, TokenRejected, TokenService
from core.clock import FixedClock
from core.errors import NotAuthenticated

ISSUER = "https://kokous.test"


@pytest.fixture
def tokens(tmp_path: Path) -> TokenService:
    return TokenService.load_or_create(tmp_path / "token.pem", issuer=ISSUER)


def issue(tokens: TokenService, clock: FixedClock, **extra: object) -> str:
    return tokens.issue(subject="7", audience=ACCESS, now=clock(), lifetime=timedelta(minutes=10), **extra)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_key_file_is_private_to_the_owner(tmp_path: Path) -> None:
    TokenService.load_or_create(tmp_path / "keys" / "token.pem", issuer=ISSUER)
    assert (tmp_path / "keys" / "token.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700


def test_token_verifies_with_an_independent_library(tokens: TokenService, clock: FixedClock) -> None:
    token = issue(tokens, clock, sid="abc")
    claims = pyjwt.decode(
        token,
        tokens.public_pem,
        algorithms=["ES256"],
        audience=ACCESS,
        issuer=ISSUER,
        # PyJWT compares times with the machine's clock; the test's clock is compared below instead.
        options={"require": list(REQUIRED), "verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "7"
    assert claims["iat"] == int(clock().timestamp())
    assert claims["exp"] - claims["iat"] == 600
    assert pyjwt.get_unverified_header(token) == {"alg": "ES256", "kid": tokens.key_id, "typ": "JWT"}


def test_round_trip(tokens: TokenService, clock: FixedClock) -> None:
    claims = tokens.decode(issue(tokens, clock, sid="abc"), audience=ACCESS, now=clock())
    assert (claims.subject, claims.extra["sid"]) == ("7", "abc")


def test_expired_token_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    token = issue(tokens, clock)
    clock.advance(minutes=10)
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode(token, audience=ACCESS, now=clock())


@pytest.mark.parametrize("years", [-30, 10, 40])
def test_lifetime_is_judged_by_the_injected_clock_only(tokens: TokenService, years: int) -> None:
    """Whatever the machine's date, a token lives exactly as long as Kokous's clock says."""
    clock = FixedClock(datetime.now(UTC) + timedelta(days=365 * years))
    token = issue(tokens, clock)
    assert tokens.decode(token, audience=ACCESS, now=clock()).subject == "7"
    clock.advance(minutes=9, seconds=59)
    assert tokens.decode(token, audience=ACCESS, now=clock()).subject == "7"
    clock.advance(seconds=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode(token, audience=ACCESS, now=clock())


def test_a_token_from_beyond_the_allowed_skew_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    ahead = FixedClock(clock() + timedelta(seconds=61))
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.decode(issue(tokens, ahead), audience=ACCESS, now=clock())
    ahead.advance(seconds=-1)
    assert tokens.decode(issue(tokens, ahead), audience=ACCESS, now=clock()).subject == "7"


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("value", ["2099-01-01", 1.5, True, None])
def test_time_claims_must_be_whole_seconds(
    tmp_path: Path, tokens: TokenService, clock: FixedClock, claim: str, value: object
) -> None:
    now = int(clock().timestamp())
    claims = {"sub": "1", "aud": ACCESS, "iss": ISSUER, "iat": now, "exp": now + 600, "jti": "x"}
    claims[claim] = value
    key = serialization.load_pem_private_key((tmp_path / "token.pem").read_bytes(), password=None)
    token = pyjwt.encode(claims, key, algorithm="ES256", headers={"kid": tokens.key_id})  # type: ignore[arg-type]
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.decode(token, audience=ACCESS, now=clock())


def test_wrong_audience_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    with pytest.raises(NotAuthenticated):
        tokens.decode(issue(tokens, clock), audience=SECOND_FACTOR, now=clock())


def test_other_issuer_is_refused(tmp_path: Path, tokens: TokenService, clock: FixedClock) -> None:
    other = TokenService(Path(tmp_path / "token.pem").read_bytes(), issuer="https://elsewhere.test")
    with pytest.raises(NotAuthenticated):
        tokens.decode(issue(other, clock), audience=ACCESS, now=clock())


def test_tampered_payload_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    header, payload, signature = issue(tokens, clock).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = ".".join([header, b64(claims | {"sub": "1"}), signature])
    with pytest.raises(NotAuthenticated):
        tokens.decode(forged, audience=ACCESS, now=clock())


def test_hmac_with_the_public_key_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    """The classic algorithm confusion: sign HS256 with the public key as the HMAC secret."""
    now = int(clock().timestamp())
    claims = {"sub": "1", "aud": ACCESS, "iss": ISSUER, "iat": now, "exp": now + 600, "jti": "x"}
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': tokens.key_id})}.{b64(claims)}"
    mac = hmac.new(tokens.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(NotAuthenticated):
        tokens.decode(forged, audience=ACCESS, now=clock())


def test_unsigned_token_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    now = int(clock().timestamp())
    claims = {"sub": "1", "aud": ACCESS, "iss": ISSUER, "iat": now, "exp": now + 600, "jti": "x"}
    forged = f"{b64({'alg': 'none', 'kid': tokens.key_id})}.{b64(claims)}."
    with pytest.raises(NotAuthenticated):
        tokens.decode(forged, audience=ACCESS, now=clock())


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub", "jti"])
def test_every_registered_claim_is_required(
    tmp_path: Path, tokens: TokenService, clock: FixedClock, missing: str
) -> None:
    now = int(clock().timestamp())
    claims = {"sub": "1", "aud": ACCESS, "iss": ISSUER, "iat": now, "exp": now + 600, "jti": "x"}
    del claims[missing]
    key = serialization.load_pem_private_key((tmp_path / "token.pem").read_bytes(), password=None)
    token = pyjwt.encode(claims, key, algorithm="ES256", headers={"kid": tokens.key_id})  # type: ignore[arg-type]
    with pytest.raises(NotAuthenticated):
        tokens.decode(token, audience=ACCESS, now=clock())


def test_token_from_another_key_is_refused(tmp_path: Path, tokens: TokenService, clock: FixedClock) -> None:
    stranger = TokenService.load_or_create(tmp_path / "other.pem", issuer=ISSUER)
    with pytest.raises(NotAuthenticated):
        tokens.decode(issue(stranger, clock), audience=ACCESS, now=clock())


def test_a_remembered_token_still_expires_and_stays_bound_to_its_audience(
    tokens: TokenService, clock: FixedClock
) -> None:
    """Verified tokens are remembered by their text; lifetime and audience are still checked each time."""
    token = issue(tokens, clock)
    assert tokens.decode(token, audience=ACCESS, now=clock()).subject == "7"
    assert tokens.decode(token, audience=ACCESS, now=clock()).subject == "7"
    with pytest.raises(NotAuthenticated):
        tokens.decode(token, audience=SECOND_FACTOR, now=clock())
    clock.advance(minutes=10)
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode(token, audience=ACCESS, now=clock())


def test_a_tampered_copy_of_a_remembered_token_is_refused(tokens: TokenService, clock: FixedClock) -> None:
    header, payload, signature = issue(tokens, clock).split(".")
    tokens.decode(f"{header}.{payload}.{signature}", audience=ACCESS, now=clock())
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    with pytest.raises(NotAuthenticated):
        tokens.decode(f"{header}.{b64(claims | {'sub': '1'})}.{signature}", audience=ACCESS, now=clock())


def test_the_memory_of_verified_tokens_is_bounded(
    tokens: TokenService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auth.tokens.VERIFIED_TOKENS", 3)
    issued = [issue(tokens, clock) for _ in range(5)]
    for token in issued:
        tokens.decode(token, audience=ACCESS, now=clock())
    assert len(tokens._verified) == 3
    assert tokens.decode(issued[0], audience=ACCESS, now=clock()).subject == "7"  # verified again


def _forgeries(tmp_path: Path, tokens: TokenService, clock: FixedClock) -> dict[str, str]:
    now = int(clock().timestamp())
    claims = {"sub": "1", "aud": ACCESS, "iss": ISSUER, "iat": now, "exp": now + 600, "jti": "x"}
    header, _, signature = issue(tokens, clock).split(".")
    hs256 = f"{b64({'alg': 'HS256', 'kid': tokens.key_id})}.{b64(claims)}"
    mac = hmac.new(tokens.public_pem.encode(), hs256.encode(), hashlib.sha256).digest()
    stranger = TokenService.load_or_create(tmp_path / "other.pem", issuer=ISSUER)
    return {
        "bad signature": f"{header}.{b64(claims | {'sub': '7'})}.{signature}",
        "wrong algorithm": hs256 + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode(),
        "unknown key id": issue(stranger, clock),
        "malformed": "not-a-token",
        "invalid claims": tokens.issue(
            subject="7", audience=SECOND_FACTOR, now=clock(), lifetime=timedelta(minutes=5)
        ),
    }


@pytest.mark.parametrize(
    "reason", ["bad signature", "wrong algorithm", "unknown key id", "malformed", "invalid claims"]
)
def test_a_refusal_says_why_and_that_no_honest_client_holds_such_a_token(
    tmp_path: Path, tokens: TokenService, clock: FixedClock, reason: str
) -> None:
    with pytest.raises(TokenRejected) as refused:
        tokens.decode(_forgeries(tmp_path, tokens, clock)[reason], audience=ACCESS, now=clock())
    assert (refused.value.reason, refused.value.forged) == (reason, True)


def test_an_expired_token_is_not_taken_for_a_forgery(tokens: TokenService, clock: FixedClock) -> None:
    token = issue(tokens, clock)
    clock.advance(minutes=10)
    with pytest.raises(TokenRejected) as refused:
        tokens.decode(token, audience=ACCESS, now=clock())
    assert (refused.value.reason, refused.value.forged) == ("expired", False)
