"""The login conversation: password, then second factor or its enrolment, then a session.

Password hashing takes ~0.1 s of CPU, so it runs between two short transactions instead of inside
one: SQLite's single write lock is never held while a hash is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditAction
from auth import actions, totp
from auth.failures import Failure, record_failure
from auth.models import User
from auth.queries import normalise_username, requires_second_factor, user_by_id, user_by_username
from auth.services import AuthServices
from auth.throttle import Source, Throttle
from auth.tokens import DEVICE, SECOND_FACTOR, Claims, TokenRejected
from core.db import Database
from core.errors import KokousError, NotAuthenticated
from core.text import translatable

WRONG_PASSWORD = translatable("Wrong username or password.")
WRONG_CODE = translatable("The code is not correct. Check the time on your phone and try again.")
REPLAYED_CODE = translatable("That code was already used. Wait for the next code and try again.")
STEP_EXPIRED = translatable("This sign-in step has expired. Please sign in again.")
T = TypeVar("T")
# How long a browser that signed in is known as a device of that account (docs/security.md).
DEVICE_DAYS = 365


class StaleStep(NotAuthenticated):
    """A genuine step token that no longer fits the account: recorded as token.rejected, not counted as a
    guess against the source."""


@dataclass(frozen=True, slots=True)
class PasswordStep:
    """The outcome of a correct password: a session, or a second-factor step to take."""

    tokens: actions.SessionTokens | None
    next_step: str | None  # "verify" or "enrol"
    step_token: str | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str

    @property
    def qr_svg(self) -> str:
        return totp.qr_svg(self.uri)


class LoginFlow:
    def __init__(self, db: Database, svc: AuthServices) -> None:
        self.db = db
        self.svc = svc
        self.settings = svc.settings
        self.throttle = Throttle(db, svc)

    async def password(
        self, *, username: str, password: str, address: str, user_agent: str, device: str = ""
    ) -> PasswordStep:
        """Known and unknown names take the same path: the same throttle, one read, one hash, one write.

        `device` is the device token that this browser got at an earlier sign-in to this account, if any.
        """
        name = normalise_username(username)
        source = self._source(name, address, device)
        await self.throttle.address(source)
        await self.throttle.guess(name, source)
        async with self.db.read(bounded=True) as session:
            user = await user_by_username(session, name)
            stored = user.password_hash if user else None
        correct = await self.svc.hasher.verify(stored, password)
        fresh_hash = None
        if correct and stored and self.svc.hasher.needs_rehash(stored):
            fresh_hash = await self.svc.hasher.hash(password)
        async with self.db.write() as session:
            outcome = await self._finish_password(
                session, name, stored, correct, fresh_hash, source, user_agent
            )
        # A failure is raised only after its audit entry has committed.
        if isinstance(outcome, KokousError):
            await self.throttle.failed(name, source)
            raise outcome
        if outcome.tokens is not None:
            await self.throttle.succeeded(name, source)
            return replace(outcome, tokens=self._remember(outcome.tokens, name))
        return outcome

    def _source(self, name: str, address: str, device: str) -> Source:
        """The address, with the device id of a device token issued for this very account (else none)."""
        if device:
            try:
                claims = self.svc.tokens.decode(device, audience=DEVICE, now=self.db.clock())
            except NotAuthenticated:
                return Source(address)
            if claims.subject == name:
                return Source(address, claims.token_id)
        return Source(address)

    def _remember(self, tokens: actions.SessionTokens, name: str) -> actions.SessionTokens:
        """A completed sign-in: the browser gets a device token for this account (docs/security.md)."""
        device = self.svc.tokens.issue(
            subject=name, audience=DEVICE, now=self.db.clock(), lifetime=timedelta(days=DEVICE_DAYS)
        )
        return replace(tokens, device=device)

    async def _finish_password(
        self,
        session: AsyncSession,
        name: str,
        stored: str | None,
        correct: bool,
        fresh_hash: str | None,
        source: Source,
        user_agent: str,
    ) -> PasswordStep | KokousError:
        address = source.address
        user = await user_by_username(session, name)
        if user is None:
            await actions.do_record_login_failure(
                session, user=None, username=name, address=address, reason="unknown user"
            )
            return NotAuthenticated(WRONG_PASSWORD)
        if user.password_hash != stored:
            raise NotAuthenticated(WRONG_PASSWORD)  # changed under us: ask again
        if not correct or not user.is_active:
            reason = "wrong password" if not correct else "disabled account"
            return await self._fail(session, user, address, reason)
        if fresh_hash:
            await actions.do_rehash_password(session, user=user, new_hash=fresh_hash)
        if user.totp_secret is not None or requires_second_factor(user):
            stage = "verify" if user.totp_secret is not None else "enrol"
            return PasswordStep(None, stage, self._step_token(user, stage, source))
        tokens = await actions.do_start_session(
            session, user=user, methods=("pwd",), address=address, user_agent=user_agent
        )
        return PasswordStep(tokens, None, None)

    async def _fail(
        self, session: AsyncSession, user: User, address: str, reason: str, message: str = WRONG_PASSWORD
    ) -> KokousError:
        await actions.do_record_login_failure(
            session, user=user, username=user.username, address=address, reason=reason
        )
        return NotAuthenticated(message)

    def _step_token(self, user: User, stage: str, source: Source) -> str:
        """Proof of the password for the next step. It is spent once the step succeeds: `tls`, the last
        accepted TOTP step, moves on with the code (an enrolment token, once a second factor exists)."""
        return self.svc.tokens.issue(
            subject=str(user.id),
            audience=SECOND_FACTOR,
            now=self.db.clock(),
            lifetime=timedelta(minutes=self.settings.mfa_token_minutes),
            stage=stage,
            name=user.username,
            pwc=int(user.password_changed_at.timestamp()),
            tls=user.totp_last_step,
            dev=source.device,  # the next step is throttled as this one was
        )

    async def _step_claims(self, token: str, address: str) -> tuple[Claims, str]:
        """The step token's claims and the username it was issued for (the throttle's account). A forged
        or expired token is recorded before it is refused."""
        try:
            claims = self.svc.tokens.decode(token, audience=SECOND_FACTOR, now=self.db.clock())
            name = claims.extra.get("name")
            if not isinstance(name, str):
                raise NotAuthenticated(STEP_EXPIRED)
        except NotAuthenticated as exc:
            if token:  # no token at all is a missing cookie, not a guess
                rejected = (
                    exc if isinstance(exc, TokenRejected) else TokenRejected(STEP_EXPIRED, reason="invalid")
                )
                subject = f"user:{rejected.subject}" if rejected.subject else f"address:{address}"
                await self._reject("step", subject, address, rejected.reason)
            raise
        return claims, name

    async def _reject(self, token: str, subject: str, address: str, reason: str) -> None:
        """A refused step or refresh token: audited, and summarised when one source floods them."""
        failure = Failure(
            AuditAction.TOKEN_REJECTED,
            f"{token}_token",
            "anonymous",
            subject,
            reason,
            address,
            {"token": token},
        )
        await record_failure(self.db, failure)

    async def _step_user(self, session: AsyncSession, claims: Claims, stage: str) -> User | None:
        """The token's user, or None when the token no longer fits the account: another stage, a new
        password, a code accepted since, a second factor set up since, or a disabled account."""
        user = await user_by_id(session, int(claims.subject))
        if (
            user is not None
            and user.is_active
            and claims.extra.get("stage") == stage
            and claims.extra.get("pwc") == int(user.password_changed_at.timestamp())
            and claims.extra.get("tls") == user.totp_last_step
            and (stage != "enrol" or user.totp_secret is None)
        ):
            return user
        return None

    async def _stale(self, claims: Claims, address: str) -> StaleStep:
        """Record a step token that no longer fits its account (after the step's transaction)."""
        await self._reject("step", f"user:{claims.subject}", address, "stale")
        return StaleStep(STEP_EXPIRED)

    async def second_factor(
        self, *, step_token: str, code: str, address: str, user_agent: str
    ) -> actions.SessionTokens:
        source = self._step_source(step_token, address)
        await self.throttle.address(source)
        claims, name = await self._step_claims(step_token, address)
        await self.throttle.guess(name, source)
        async with self.db.write() as session:
            user = await self._step_user(session, claims, "verify")
            if user is not None:
                result = await self._check_code(session, user, code, address, user_agent)
        if user is None:
            raise await self._stale(claims, address)
        return self._remember(await self._settle(result, name, source), name)

    def _step_source(self, step_token: str, address: str) -> Source:
        """The source the password step was throttled as, named by its step token (checked again after)."""
        try:
            claims = self.svc.tokens.decode(step_token, audience=SECOND_FACTOR, now=self.db.clock())
        except NotAuthenticated:
            return Source(address)
        return Source(address, str(claims.extra.get("dev") or ""))

    async def _check_code(
        self, session: AsyncSession, user: User, code: str, address: str, user_agent: str
    ) -> actions.SessionTokens | KokousError:
        outcome = await actions.do_check_second_factor(session, user=user, code=code, address=address)
        if outcome in ("wrong", "replayed"):
            message = REPLAYED_CODE if outcome == "replayed" else WRONG_CODE
            return await self._fail(session, user, address, f"{outcome} code", message)
        methods = ("pwd", "otp") if outcome == "otp" else ("pwd", "recovery")
        return await actions.do_start_session(
            session, user=user, methods=methods, address=address, user_agent=user_agent
        )

    async def _settle(self, result: T | KokousError, name: str, source: Source) -> T:
        """Count a failure against the source, or clear its failures after a completed sign-in."""
        if isinstance(result, KokousError):
            await self.throttle.failed(name, source)
            raise result
        await self.throttle.succeeded(name, source)
        return result

    async def start_enrolment(self, *, step_token: str, address: str = "unknown") -> Enrolment:
        claims, _ = await self._step_claims(step_token, address)
        async with self.db.write() as session:
            user = await self._step_user(session, claims, "enrol")
            if user is not None:
                secret = await actions.do_start_totp_enrolment(session, user=user)
                uri = totp.provisioning_uri(secret, account=user.username)
        if user is None:
            raise await self._stale(claims, address)
        return Enrolment(secret, uri)

    async def confirm_enrolment(
        self, *, step_token: str, code: str, address: str, user_agent: str
    ) -> tuple[actions.SessionTokens, list[str]]:
        source = self._step_source(step_token, address)
        await self.throttle.address(source)
        claims, name = await self._step_claims(step_token, address)
        await self.throttle.guess(name, source)
        async with self.db.write() as session:
            user = await self._step_user(session, claims, "enrol")
            if user is not None:
                result = await self._enrol(session, user, code, address, user_agent)
        if user is None:
            raise await self._stale(claims, address)
        tokens, codes = await self._settle(result, name, source)
        return self._remember(tokens, name), codes

    async def _enrol(
        self, session: AsyncSession, user: User, code: str, address: str, user_agent: str
    ) -> tuple[actions.SessionTokens, list[str]] | KokousError:
        codes = await actions.do_confirm_totp_enrolment(session, user=user, code=code, address=address)
        if codes is None:
            return await self._fail(session, user, address, "wrong enrolment code", WRONG_CODE)
        tokens = await actions.do_start_session(
            session, user=user, methods=("pwd", "otp"), address=address, user_agent=user_agent
        )
        return tokens, codes

    async def refresh(self, *, refresh_token: str, address: str) -> actions.SessionTokens:
        await self.throttle.address(Source(address))
        async with self.db.write() as session:
            try:
                return await actions.do_refresh_session(session, refresh_token=refresh_token, address=address)
            except NotAuthenticated as exc:
                failure = exc  # leave the block normally so the reuse record and revocation commit
        if isinstance(failure, TokenRejected):  # unknown, expired, or of a disabled account
            subject = f"user:{failure.subject}" if failure.subject else f"address:{address}"
            await self._reject("refresh", subject, address, failure.reason)
        raise failure
