"""The login conversation: password, then second factor or its enrolment, then a session.

Password hashing takes ~0.1 s of CPU, so it runs between two short transactions instead of inside
one: SQLite's single write lock is never held while a hash is computed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions, totp
from auth.models import User
from auth.queries import Principal, normalise_username, requires_second_factor, user_by_id, user_by_username
from auth.services import AuthServices
from auth.tokens import SECOND_FACTOR
from core.db import Database
from core.errors import Conflict, KokousError, NotAuthenticated, RateLimited
from core.text import translatable

WRONG_PASSWORD = translatable("Wrong username or password.")
WRONG_CODE = translatable("The code is not correct. Check the time on your phone and try again.")
REPLAYED_CODE = translatable("That code was already used. Wait for the next code and try again.")


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


# How long failed attempts on an unknown name are remembered (a real account's count lasts until it signs in).
FAILURE_MEMORY_SECONDS = 24 * 3600
LOCKED = translatable("Too many failed sign-in attempts. Try again in {minutes} minutes.")


def _locked(retry_after: int) -> RateLimited:
    return RateLimited(LOCKED, retry_after=retry_after, minutes=max(1, -(-retry_after // 60)))


class LoginFlow:
    def __init__(self, db: Database, svc: AuthServices) -> None:
        self.db = db
        self.svc = svc
        self.settings = svc.settings

    async def _throttle(self, address: str) -> None:
        hit = await self.svc.limiter.hit(
            f"login-address:{address}", window=self.settings.address_window_seconds
        )
        if hit.over(self.settings.address_attempts_per_window):
            if hit.count == self.settings.address_attempts_per_window + 1:
                async with self.db.write() as session:
                    await actions.do_record_rate_limited(session, address=address, scope="login")
            raise RateLimited(
                "Too many sign-in attempts from your network. Please wait and try again.",
                retry_after=hit.retry_after,
            )

    async def password(self, *, username: str, password: str, address: str, user_agent: str) -> PasswordStep:
        await self._throttle(address)
        name = normalise_username(username)
        async with self.db.read(bounded=True) as session:
            user = await user_by_username(session, name)
            stored = user.password_hash if user else None
        correct = await self.svc.hasher.verify(stored, password)
        fresh_hash = None
        if correct and stored and self.svc.hasher.needs_rehash(stored):
            fresh_hash = await self.svc.hasher.hash(password)
        if user is None:
            await self._unknown_user_failure(name, address)
        async with self.db.write() as session:
            outcome = await self._finish_password(
                session, name, stored, correct, fresh_hash, address, user_agent
            )
        # A failure is raised only after its audit entry and counters have committed.
        if isinstance(outcome, KokousError):
            raise outcome
        return outcome

    async def _unknown_user_failure(self, name: str, address: str) -> None:
        """Unknown names lock exactly like real accounts (same attempt, same duration, no extension), so a
        lockout reveals nothing about which accounts exist."""
        limiter, lock_key = self.svc.limiter, f"login-lock:{name}"
        remaining = await limiter.locked_for(lock_key)
        reason = "account locked" if remaining else "unknown user"
        async with self.db.write() as session:
            await actions.do_record_login_failure(
                session, user=None, username=name, address=address, reason=reason
            )
        if remaining:
            raise _locked(remaining)
        hit = await limiter.hit(f"login-user:{name}", window=FAILURE_MEMORY_SECONDS)
        if hit.count >= self.settings.lockout_threshold:
            await limiter.clear(f"login-user:{name}")
            await limiter.lock(lock_key, seconds=self.settings.lockout_minutes * 60)
            raise _locked(self.settings.lockout_minutes * 60)
        raise NotAuthenticated(WRONG_PASSWORD)

    async def _finish_password(
        self,
        session: AsyncSession,
        name: str,
        stored: str | None,
        correct: bool,
        fresh_hash: str | None,
        address: str,
        user_agent: str,
    ) -> PasswordStep | KokousError:
        user = await user_by_username(session, name)
        if user is None or user.password_hash != stored:
            raise NotAuthenticated(WRONG_PASSWORD)  # changed under us: ask again
        locked = await self._refuse_if_locked(session, user, address)
        if locked is not None:
            return locked
        if not correct or not user.is_active:
            reason = "wrong password" if not correct else "disabled account"
            return await self._fail(session, user, address, reason)
        if fresh_hash:
            await actions.do_rehash_password(session, user=user, new_hash=fresh_hash)
        if user.totp_secret is not None or requires_second_factor(user):
            stage = "verify" if user.totp_secret is not None else "enrol"
            return PasswordStep(None, stage, self._step_token(user, stage))
        tokens = await actions.do_start_session(
            session, user=user, methods=("pwd",), address=address, user_agent=user_agent
        )
        return PasswordStep(tokens, None, None)

    async def _fail(
        self, session: AsyncSession, user: User, address: str, reason: str, message: str = WRONG_PASSWORD
    ) -> KokousError:
        locked = await actions.do_record_login_failure(
            session, user=user, username=user.username, address=address, reason=reason
        )
        if locked:
            retry = self.settings.lockout_minutes * 60
            return _locked(retry)
        return NotAuthenticated(message)

    def _step_token(self, user: User, stage: str) -> str:
        return self.svc.tokens.issue(
            subject=str(user.id),
            audience=SECOND_FACTOR,
            now=self.db.clock(),
            lifetime=timedelta(minutes=self.settings.mfa_token_minutes),
            stage=stage,
            pwc=int(user.password_changed_at.timestamp()),
        )

    async def _step_user(self, session: AsyncSession, token: str, stage: str) -> User:
        claims = self.svc.tokens.decode(token, audience=SECOND_FACTOR, now=self.db.clock())
        user = await user_by_id(session, int(claims.subject))
        if (
            user is None
            or not user.is_active
            or claims.extra.get("stage") != stage
            or claims.extra.get("pwc") != int(user.password_changed_at.timestamp())
        ):
            raise NotAuthenticated("This sign-in step has expired. Please sign in again.")
        return user

    async def _refuse_if_locked(self, session: AsyncSession, user: User, address: str) -> RateLimited | None:
        """An attempt on a locked account is refused and recorded, and does not extend the lock."""
        now = self.db.clock()
        if user.locked_until is None or user.locked_until <= now:
            return None
        await actions.do_record_login_failure(
            session, user=user, username=user.username, address=address, reason="account locked", count=False
        )
        return _locked(int((user.locked_until - now).total_seconds()))

    async def second_factor(
        self, *, step_token: str, code: str, address: str, user_agent: str
    ) -> actions.SessionTokens:
        await self._throttle(address)
        async with self.db.write() as session:
            user = await self._step_user(session, step_token, "verify")
            locked = await self._refuse_if_locked(session, user, address)
            outcome = (
                "locked"
                if locked
                else await actions.do_check_second_factor(session, user=user, code=code, address=address)
            )
            if locked:
                result: actions.SessionTokens | KokousError = locked
            elif outcome in ("wrong", "replayed"):
                result = await self._fail(
                    session,
                    user,
                    address,
                    f"{outcome} code",
                    REPLAYED_CODE if outcome == "replayed" else WRONG_CODE,
                )
            else:
                methods = ("pwd", "otp") if outcome == "otp" else ("pwd", "recovery")
                result = await actions.do_start_session(
                    session, user=user, methods=methods, address=address, user_agent=user_agent
                )
        if isinstance(result, KokousError):
            raise result
        return result

    async def start_enrolment(self, *, step_token: str, address: str = "unknown") -> Enrolment:
        async with self.db.write() as session:
            user = await self._step_user(session, step_token, "enrol")
            locked = await self._refuse_if_locked(session, user, address)
            if locked is None:
                secret = await actions.do_start_totp_enrolment(session, user=user)
                uri = totp.provisioning_uri(secret, account=user.username)
        if locked is not None:
            raise locked
        return Enrolment(secret, uri)

    async def confirm_enrolment(
        self, *, step_token: str, code: str, address: str, user_agent: str
    ) -> tuple[actions.SessionTokens, list[str]]:
        await self._throttle(address)
        async with self.db.write() as session:
            user = await self._step_user(session, step_token, "enrol")
            locked = await self._refuse_if_locked(session, user, address)
            codes = None if locked else await actions.do_confirm_totp_enrolment(session, user=user, code=code)
            if locked:
                failure: KokousError = locked
            elif codes is None:
                failure = await self._fail(session, user, address, "wrong enrolment code", WRONG_CODE)
            else:
                tokens = await actions.do_start_session(
                    session, user=user, methods=("pwd", "otp"), address=address, user_agent=user_agent
                )
        if codes is None:
            raise failure
        return tokens, codes

    async def refresh(self, *, refresh_token: str, address: str) -> actions.SessionTokens:
        await self._throttle(address)
        async with self.db.write() as session:
            try:
                return await actions.do_refresh_session(session, refresh_token=refresh_token, address=address)
            except NotAuthenticated as exc:
                failure = exc  # leave the block normally so the reuse record and revocation commit
        raise failure

    async def step_up(
        self, principal: Principal, *, password: str, code: str, address: str
    ) -> actions.SessionTokens:
        """Prove password and second factor again within a session (before admin changes and signatures)."""
        await self._throttle(address)
        async with self.db.read(bounded=True) as session:
            user = await user_by_id(session, principal.user_id)
            stored = user.password_hash if user else None
        correct = await self.svc.hasher.verify(stored, password)
        async with self.db.write() as session:
            user = await user_by_id(session, principal.user_id)
            if user is None:
                raise NotAuthenticated("Please sign in.")
            result: actions.SessionTokens | KokousError
            locked = await self._refuse_if_locked(session, user, address)
            if locked is not None:
                result = locked
            elif not correct:
                result = await self._fail(session, user, address, "step-up: wrong password")
            elif user.totp_secret is None:
                result = Conflict("Set up a second factor on your account page first.")
            else:
                outcome = await actions.do_check_second_factor(session, user=user, code=code, address=address)
                if outcome in ("wrong", "replayed"):
                    message = REPLAYED_CODE if outcome == "replayed" else WRONG_CODE
                    result = await self._fail(session, user, address, f"step-up: {outcome} code", message)
                else:
                    result = await actions.do_step_up_session(
                        session,
                        user=user,
                        family=principal.session_family,
                        csrf=secrets.token_urlsafe(24),
                        methods=("pwd", outcome),
                    )
        if isinstance(result, KokousError):
            raise result
        return result
