"""A signed-in person proving who they are again: to step up, to change their password or second factor.

Each proof is throttled exactly like a sign-in (auth/throttle.py, the same failures per account and source),
so a stolen session cannot guess the password at full speed, and each wrong password or code is recorded as
reauth.failed. As in the sign-in flow, the password is hashed with no transaction open.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditAction
from auth import actions, totp
from auth.failures import Failure, record_failure
from auth.login import REPLAYED_CODE, WRONG_CODE, WRONG_PASSWORD
from auth.models import User
from auth.queries import Principal, user_by_id
from auth.services import AuthServices
from auth.throttle import Source, Throttle
from auth.tokens import SECOND_FACTOR_CHANGE, TokenRejected
from core.db import Database
from core.errors import Conflict, KokousError, NotAuthenticated, ValidationFailed
from core.text import translatable

WRONG_CURRENT_PASSWORD = translatable("The current password is wrong.")
NO_SECOND_FACTOR = translatable("Set up a second factor on your account page first.")
START_AGAIN = translatable("No second-factor enrolment is in progress; start again.")
CHANGE = "second factor change"
# How long a proven second-factor change may take: from the password and code to the new app's first code.
CHANGE_MINUTES = 10
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A wrong password or code: `error` for the person, `reason` and `purpose` for the audit log."""

    error: KokousError
    reason: str
    purpose: str


@dataclass(frozen=True, slots=True)
class SecondFactorChange:
    """A new secret to scan, and the ticket that lets this session confirm it."""

    secret: str
    uri: str
    ticket: str

    @property
    def qr_svg(self) -> str:
        return totp.qr_svg(self.uri)


def _digest(sealed: str) -> str:
    return hashlib.sha256(sealed.encode()).hexdigest()[:32]


class CredentialFlow:
    def __init__(self, db: Database, svc: AuthServices) -> None:
        self.db = db
        self.svc = svc
        self.throttle = Throttle(db, svc)

    async def step_up(
        self, principal: Principal, *, password: str, code: str, address: str
    ) -> actions.SessionTokens:
        """Password and second factor again, for one sensitive action (docs/security.md)."""
        name, correct = await self._password(principal, password, address)
        async with self.db.write() as session:
            user = await self._user(session, principal)
            result: actions.SessionTokens | Refusal
            if not correct:
                result = Refusal(NotAuthenticated(WRONG_PASSWORD), "wrong password", "step-up")
            elif user.totp_secret is None:
                raise Conflict(NO_SECOND_FACTOR)
            else:
                method = await self._code(session, user, code, address, "step-up")
                result = (
                    method
                    if isinstance(method, Refusal)
                    else await self._grant(session, user, principal, method)
                )
        return await self._settle(result, principal, name, address)

    async def _grant(
        self, session: AsyncSession, user: User, principal: Principal, method: str
    ) -> actions.SessionTokens:
        return await actions.do_step_up_session(
            session,
            user=user,
            family=principal.session_family,
            csrf=secrets.token_urlsafe(24),
            methods=("pwd", method),
        )

    async def change_password(self, principal: Principal, *, current: str, new: str, address: str) -> None:
        """The person's own new password; their other sessions end and they are e-mailed (password.change)."""
        if not new:
            raise ValidationFailed("A new password is required.", field="new_password")
        if new == current:
            raise ValidationFailed("The new password must differ from the current one.", field="new_password")
        name, correct = await self._password(principal, current, address)
        async with self.db.write() as session:
            user = await self._user(session, principal)
            result: Refusal | None = None
            if correct:
                await actions.do_change_password(
                    session, user=user, new=new, address=address, keep_session=principal.session_family
                )
            else:
                wrong = ValidationFailed(WRONG_CURRENT_PASSWORD, field="current_password")
                result = Refusal(wrong, "wrong password", "password change")
        await self._settle(result, principal, name, address)

    async def start_second_factor_change(
        self, principal: Principal, *, password: str, code: str, address: str
    ) -> SecondFactorChange:
        """A fresh secret to scan, after the password and, when one is set up, a code of the current second
        factor (or a recovery code). The ticket binds the confirmation to this proof, this session and this
        secret, for CHANGE_MINUTES."""
        name, correct = await self._password(principal, password, address)
        async with self.db.write() as session:
            user = await self._user(session, principal)
            result: SecondFactorChange | Refusal
            if not correct:
                wrong = ValidationFailed(WRONG_CURRENT_PASSWORD, field="current_password")
                result = Refusal(wrong, "wrong password", CHANGE)
            else:
                proof = (
                    "password"
                    if user.totp_secret is None
                    else await self._code(session, user, code, address, CHANGE)
                )
                result = proof if isinstance(proof, Refusal) else await self._begin(session, user, principal)
        return await self._settle(result, principal, name, address)

    async def _begin(self, session: AsyncSession, user: User, principal: Principal) -> SecondFactorChange:
        secret = await actions.do_start_totp_enrolment(session, user=user, fresh=True)
        ticket = self.svc.tokens.issue(
            subject=str(user.id),
            audience=SECOND_FACTOR_CHANGE,
            now=self.db.clock(),
            lifetime=timedelta(minutes=CHANGE_MINUTES),
            sid=principal.session_family,
            pending=_digest(user.totp_pending_secret or ""),
        )
        return SecondFactorChange(secret, totp.provisioning_uri(secret, account=user.username), ticket)

    async def confirm_second_factor_change(
        self, principal: Principal, *, ticket: str, code: str, address: str
    ) -> list[str]:
        """Activate the new secret with a code from it; returns the new recovery codes. The person's other
        sessions end and they are e-mailed (totp.confirm_enrolment). A wrong code is not a guess at anything
        secret, so it is recorded (totp.failed) but not throttled."""
        await self.throttle.address(Source(address))
        pending = await self._ticket(principal, ticket, address)
        async with self.db.write() as session:
            user = await self._user(session, principal)
            if user.totp_pending_secret is None or _digest(user.totp_pending_secret) != pending:
                raise Conflict(START_AGAIN)  # another change was started since
            codes = await actions.do_confirm_totp_enrolment(
                session, user=user, code=code, address=address, keep_session=principal.session_family
            )
        if codes is None:
            raise ValidationFailed(WRONG_CODE, field="code")
        return codes

    async def pending_change(self, principal: Principal, ticket: str) -> SecondFactorChange | None:
        """The change that `ticket` started, to show again after a mistyped code; None once it no longer
        holds (expired, or another change started since)."""
        pending, reason = self._check_ticket(principal, ticket)
        if reason:
            return None
        async with self.db.read(bounded=True) as session:
            user = await user_by_id(session, principal.user_id)
        if user is None or user.totp_pending_secret is None or _digest(user.totp_pending_secret) != pending:
            return None
        secret = self.svc.secrets.open(user.totp_pending_secret)
        return SecondFactorChange(secret, totp.provisioning_uri(secret, account=user.username), ticket)

    def _check_ticket(self, principal: Principal, ticket: str) -> tuple[str, str]:
        """The pending secret's digest that the ticket vouches for, and why it is refused ("" if not)."""
        try:
            claims = self.svc.tokens.decode(ticket, audience=SECOND_FACTOR_CHANGE, now=self.db.clock())
        except NotAuthenticated as exc:
            return "", exc.reason if isinstance(exc, TokenRejected) else "invalid"
        if claims.subject != str(principal.user_id):
            return "", "another user"
        if claims.extra.get("sid") != principal.session_family:
            return "", "another session"
        return str(claims.extra.get("pending", "")), ""

    async def _ticket(self, principal: Principal, ticket: str, address: str) -> str:
        """The pending secret's digest that the ticket vouches for; a bad ticket is recorded and refused."""
        pending, reason = self._check_ticket(principal, ticket)
        if not reason:
            return pending
        failure = Failure(
            AuditAction.TOKEN_REJECTED,
            "change_ticket",
            principal.actor,
            principal.actor,
            reason,
            address,
            {"token": "second-factor change"},
        )
        await record_failure(self.db, failure)
        raise Conflict(START_AGAIN)

    # ---- the proof --------------------------------------------------------------------------------

    async def _password(self, principal: Principal, password: str, address: str) -> tuple[str, bool]:
        """The account's username and whether `password` is its password; throttled before it is looked at."""
        await self.throttle.address(Source(address))
        async with self.db.read(bounded=True) as session:
            user = await user_by_id(session, principal.user_id)
            stored, name = (user.password_hash, user.username) if user else (None, "")
        if user is None:
            raise NotAuthenticated("Please sign in.")
        await self.throttle.guess(name, Source(address))
        return name, await self.svc.hasher.verify(stored, password)

    async def _user(self, session: AsyncSession, principal: Principal) -> User:
        user = await user_by_id(session, principal.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("Please sign in.")
        return user

    async def _code(
        self, session: AsyncSession, user: User, code: str, address: str, purpose: str
    ) -> str | Refusal:
        """The method ("otp" or "recovery"), or the refusal of a wrong or replayed code."""
        outcome = await actions.do_check_second_factor(session, user=user, code=code, address=address)
        if outcome not in ("wrong", "replayed"):
            return outcome
        message = REPLAYED_CODE if outcome == "replayed" else WRONG_CODE
        error: KokousError = ValidationFailed(message, field="code")
        if purpose == "step-up":  # the API's step-up has always answered a wrong proof with 401
            error = NotAuthenticated(error.template)
        return Refusal(error, f"{outcome} code", purpose)

    async def _settle(self, result: T | Refusal, principal: Principal, name: str, address: str) -> T:
        """A refusal is recorded (after the proof's transaction) and counted against the source; a success
        clears the source's failures."""
        if isinstance(result, Refusal):
            failure = Failure(
                AuditAction.REAUTH_FAILED,
                "reauthentication",
                principal.actor,
                principal.actor,
                result.reason,
                address,
                {"purpose": result.purpose},
            )
            await record_failure(self.db, failure)
            await self.throttle.failed(name, Source(address))
            raise result.error
        await self.throttle.succeeded(name, Source(address))
        return result
