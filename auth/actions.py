"""Every state change of accounts and sessions, each with its audit entry in the caller's transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth import totp
from auth.addresses import normalise_email
from auth.models import RecoveryCode, RefreshToken, Role, RoleGrant, StepUp, User
from auth.notices import NoticeKind, notify
from auth.passwords import check_password_policy
from auth.queries import normalise_username, user_by_username
from auth.services import AuthServices
from auth.tokens import ACCESS, EXPIRED, TokenRejected
from core.bounds import check_length, length_of
from core.clock import rfc3339
from core.db import session_clock, session_service
from core.errors import Conflict, Forbidden, NotAuthenticated, ValidationFailed
from core.text import translatable

SYSTEM = "system"
# A step-up allows one sensitive action within this many seconds (docs/security.md).
STEP_UP_SECONDS = 600
STEP_UP_NEEDED = translatable("Confirm your identity again (password and code) to make this change.")
# Stored instead of a hash for accounts without a password: no argon2 hash ever equals it.
NO_PASSWORD = "!no-password"  # noqa: S105 (a marker that matches no password)


def services(session: AsyncSession) -> AuthServices:
    found: AuthServices = session_service(session, "auth")
    return found


def user_subject(user: User) -> str:
    return f"user:{user.id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def do_create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str | None,
    email: str | None = None,
    actor: str,
) -> User:
    """Create an active account. Audit: user.created. Not idempotent: a taken username is a Conflict.

    The e-mail address must be exactly one address (auth.addresses); it is stored normalised.

    Without a password the account cannot sign in until an administrator sets one (imported members).
    """
    name = normalise_username(username)
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise ValidationFailed(
            "A username is 1–64 letters, digits, dots, dashes or underscores.", field="username"
        )
    if not display_name.strip():
        raise ValidationFailed("A display name is required.", field="display_name")
    check_length(display_name.strip(), length_of(User.display_name), field="display_name")
    email = normalise_email(email) if email else None
    if password is not None:
        check_password_policy(password, username=name)
    if await user_by_username(session, name) is not None:
        raise Conflict("The username {username} is already taken.", username=name)
    now = session_clock(session)()
    user = User(
        username=name,
        display_name=display_name.strip(),
        email=email,
        created_at=now,
        password_changed_at=now,
        password_hash=await services(session).hasher.hash(password) if password else NO_PASSWORD,
        is_active=True,
        roles=[],
    )
    session.add(user)
    await session.flush()
    await record(
        session,
        AuditAction.USER_CREATED,
        actor=actor,
        subject=user_subject(user),
        data={"username": name, "display_name": user.display_name},
    )
    return user


async def do_grant_role(
    session: AsyncSession, *, user: User, role: Role, scope: str = "", actor: str
) -> bool:
    """Grant `role` (in `scope`). Audit: role.granted. Idempotent: returns False if already held."""
    if any(g.role == role and g.scope == scope for g in user.roles):
        return False
    user.roles.append(RoleGrant(role=str(role), scope=scope, granted_at=session_clock(session)()))
    await session.flush()
    await record(
        session,
        AuditAction.ROLE_GRANTED,
        actor=actor,
        subject=user_subject(user),
        data={"role": str(role), "scope": scope},
    )
    return True


async def do_revoke_role(
    session: AsyncSession, *, user: User, role: Role, scope: str = "", actor: str
) -> bool:
    """Revoke `role` (in `scope`). Audit: role.revoked. Idempotent: returns False if not held."""
    grant = next((g for g in user.roles if g.role == role and g.scope == scope), None)
    if grant is None:
        return False
    user.roles.remove(grant)
    await session.delete(grant)
    await session.flush()
    await record(
        session,
        AuditAction.ROLE_REVOKED,
        actor=actor,
        subject=user_subject(user),
        data={"role": str(role), "scope": scope},
    )
    return True


async def do_set_password(
    session: AsyncSession,
    *,
    user: User,
    password: str,
    actor: str,
    address: str = "",
    keep_session: str | None = None,
) -> None:
    """Replace the password, end every session of the user but `keep_session`, and e-mail the user.

    Audit: password.changed, saying whether the user was e-mailed (not without an address).
    """
    check_password_policy(password, username=user.username)
    user.password_hash = await services(session).hasher.hash(password)
    user.password_changed_at = session_clock(session)()
    await _end_sessions(session, user, keep=keep_session)
    by_self = actor == user_subject(user)
    kind = NoticeKind.PASSWORD_CHANGED if by_self else NoticeKind.PASSWORD_SET
    notified = await notify(session, user, kind, address=address)
    await record(
        session,
        AuditAction.PASSWORD_CHANGED,
        actor=actor,
        subject=user_subject(user),
        data={"by": "self" if by_self else "administrator", "notified": notified} | _where(address),
    )


def _where(address: str) -> dict[str, str]:
    """The client's address for an audit entry's data; none for the command line."""
    return {"address": address} if address else {}


async def do_change_password(
    session: AsyncSession, *, user: User, new: str, address: str, keep_session: str | None
) -> None:
    """The user's own new password: their other sessions end and they are e-mailed. Audit: password.changed.

    Precondition: the caller has checked the current password (auth.credentials, throttled and recorded).
    """
    await do_set_password(
        session, user=user, password=new, actor=user_subject(user), address=address, keep_session=keep_session
    )


async def do_rehash_password(session: AsyncSession, *, user: User, new_hash: str) -> None:
    """Store a hash made with today's argon2 parameters. Audit: password.rehashed."""
    user.password_hash = new_hash
    await record(session, AuditAction.PASSWORD_REHASHED, actor=user_subject(user), subject=user_subject(user))


async def do_set_active(session: AsyncSession, *, user: User, active: bool, actor: str) -> None:
    """Disable or enable an account; disabling ends its sessions. Audit: user.disabled / user.enabled."""
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        await _end_sessions(session, user)
    action = AuditAction.USER_ENABLED if active else AuditAction.USER_DISABLED
    await record(session, action, actor=actor, subject=user_subject(user))


async def _end_sessions(session: AsyncSession, user: User, *, keep: str | None = None) -> None:
    """Revoke the user's logins, all of them or all but the family `keep` (the one making the change)."""
    ended = [RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None)]
    if keep is not None:
        ended.append(RefreshToken.family != keep)
    await session.execute(update(RefreshToken).where(*ended).values(revoked_at=session_clock(session)()))


# ---- failures -------------------------------------------------------------------------------


async def do_record_login_failure(
    session: AsyncSession, *, user: User | None, username: str, address: str, reason: str
) -> None:
    """Record a failed password or second-factor check. Audit: login.failed.

    It counts nothing: the sign-in flow slows the address down (auth/throttle.py), and no account is locked.
    """
    subject = user_subject(user) if user else f"username:{normalise_username(username)[:64]}"
    await record(
        session,
        AuditAction.LOGIN_FAILED,
        actor="anonymous",
        subject=subject,
        data={"reason": reason, "address": address},
    )


async def do_record_rate_limited(
    session: AsyncSession, *, address: str, scope: str, subject: str | None = None
) -> None:
    """Audit: login.rate_limited (the first refusal of a window or of a wait).

    `scope` "login" is the address's window (subject `address:<ip>`); "account" is an address waiting before
    its next guess at one account (subject `username:<name>`, with the address in the data).
    """
    data = {"scope": scope} if subject is None else {"scope": scope, "address": address}
    await record(
        session,
        AuditAction.LOGIN_RATE_LIMITED,
        actor="anonymous",
        subject=subject or f"address:{address}",
        data=data,
    )


# ---- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionTokens:
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int
    family: str
    device: str = ""  # a device token for the browser, after a completed sign-in (auth.login)


def _issue_access(
    session: AsyncSession,
    user: User,
    family: str,
    methods: tuple[str, ...],
    csrf: str,
    auth_time: datetime,
    **step_up: str,
) -> str:
    svc = services(session)
    return svc.tokens.issue(
        subject=str(user.id),
        audience=ACCESS,
        now=session_clock(session)(),
        lifetime=timedelta(minutes=svc.settings.access_token_minutes),
        sid=family,
        amr=list(methods),
        csrf=_digest(csrf),
        auth_time=int(auth_time.timestamp()),
        **step_up,
    )


async def _new_refresh(
    session: AsyncSession,
    user: User,
    family: str,
    methods: tuple[str, ...],
    authenticated_at: datetime | None = None,
) -> str:
    token = "rt_" + secrets.token_urlsafe(32)
    now = session_clock(session)()
    session.add(
        RefreshToken(
            token_hash=_digest(token),
            family=family,
            user_id=user.id,
            issued_at=now,
            methods=",".join(methods),
            authenticated_at=authenticated_at or now,
            expires_at=now + timedelta(days=services(session).settings.refresh_token_days),
        )
    )
    await session.flush()
    return token


async def do_start_session(
    session: AsyncSession, *, user: User, methods: tuple[str, ...], address: str, user_agent: str
) -> SessionTokens:
    """A completed login. Audit: session.started."""
    family = secrets.token_hex(16)
    refresh = await _new_refresh(session, user, family, methods)
    csrf = secrets.token_urlsafe(24)
    access = _issue_access(session, user, family, methods, csrf, session_clock(session)())
    await record(
        session,
        AuditAction.SESSION_STARTED,
        actor=user_subject(user),
        subject=user_subject(user),
        data={
            "methods": list(methods),
            "address": address,
            "user_agent": user_agent[:200],
            "session": family,
        },
    )
    minutes = services(session).settings.access_token_minutes
    return SessionTokens(access, refresh, csrf, minutes * 60, family)


async def do_refresh_session(session: AsyncSession, *, refresh_token: str, address: str) -> SessionTokens:
    """Rotate a refresh token. Audit: session.refreshed; token.reused (and the family revoked) on reuse.

    An unknown or expired token, or one of a disabled account, raises TokenRejected with the reason, which
    the caller records (auth.failures) once this transaction is over.
    """
    now = session_clock(session)()
    found = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)).with_for_update()
        )
    ).scalar_one_or_none()
    if found is None:
        raise TokenRejected(EXPIRED, reason="unknown")
    user = await session.get(User, found.user_id)
    if found.used_at is not None or found.revoked_at is not None:
        await _revoke_family(session, found.family, now)
        await record(
            session,
            AuditAction.TOKEN_REUSED,
            actor="anonymous",
            subject=f"user:{found.user_id}",
            data={"session": found.family, "address": address},
        )
        raise NotAuthenticated("This sign-in was ended. Please sign in again.")
    if found.expires_at <= now or user is None or not user.is_active:
        reason = "expired" if found.expires_at <= now else "disabled account"
        raise TokenRejected(EXPIRED, reason=reason, forged=False, subject=str(found.user_id))
    found.used_at = now
    methods = tuple(found.methods.split(","))
    refresh = await _new_refresh(session, user, found.family, methods, found.authenticated_at)
    csrf = secrets.token_urlsafe(24)
    access = _issue_access(session, user, found.family, methods, csrf, found.authenticated_at)
    await record(
        session,
        AuditAction.SESSION_REFRESHED,
        actor=user_subject(user),
        subject=user_subject(user),
        data={"session": found.family, "address": address},
    )
    minutes = services(session).settings.access_token_minutes
    return SessionTokens(access, refresh, csrf, minutes * 60, found.family)


async def _revoke_family(session: AsyncSession, family: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def do_end_session(session: AsyncSession, *, user_id: int, family: str) -> None:
    """Log out: revoke the login's refresh tokens, which ends its access tokens too.

    Audit: session.ended.
    """
    await _revoke_family(session, family, session_clock(session)())
    await record(
        session,
        AuditAction.SESSION_ENDED,
        actor=f"user:{user_id}",
        subject=f"user:{user_id}",
        data={"session": family},
    )


# ---- second factor --------------------------------------------------------------------------


async def do_start_totp_enrolment(session: AsyncSession, *, user: User, fresh: bool = False) -> str:
    """Keep a fresh secret as pending until a code proves the phone has it. Audit: totp.enrolment_started.

    Idempotent unless `fresh`: while an enrolment is pending its secret is returned again, so reloading the
    sign-in's enrolment page shows the same QR code. A change from the account page is always `fresh`, so no
    secret shown earlier (to whoever started that enrolment) can become the active one.
    """
    if user.totp_pending_secret is not None and not fresh:
        return services(session).secrets.open(user.totp_pending_secret)
    secret = totp.new_secret()
    user.totp_pending_secret = services(session).secrets.seal(secret)
    await record(
        session, AuditAction.TOTP_ENROLMENT_STARTED, actor=user_subject(user), subject=user_subject(user)
    )
    return secret


async def do_confirm_totp_enrolment(
    session: AsyncSession, *, user: User, code: str, address: str = "", keep_session: str | None = None
) -> list[str] | None:
    """Activate the pending secret if `code` matches it; returns new recovery codes, or None if wrong.

    Replaces an active second factor and the earlier recovery codes, ends every session of the user but
    `keep_session`, and e-mails the user. Precondition: the caller has made sure the person proved who they
    are (the sign-in's password step, or auth.credentials). Audit: totp.enrolment_confirmed (saying whether a
    second factor was replaced and whether the user was e-mailed), or totp.failed for a wrong code.
    """
    if user.totp_pending_secret is None:
        raise Conflict("No second-factor enrolment is in progress; start again.")
    secret = services(session).secrets.open(user.totp_pending_secret)
    now = session_clock(session)()
    step = totp.matching_step(secret, code, now=now)
    if step is None:
        await record(
            session,
            AuditAction.TOTP_FAILED,
            actor=user_subject(user),
            subject=user_subject(user),
            data={"reason": "wrong enrolment code"},
        )
        return None
    replaced = user.totp_secret is not None
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_last_step, user.totp_enrolled_at = step, now
    codes = totp.new_recovery_codes()
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    await _end_sessions(session, user, keep=keep_session)
    kind = NoticeKind.SECOND_FACTOR_REPLACED if replaced else NoticeKind.SECOND_FACTOR_ADDED
    notified = await notify(session, user, kind, address=address)
    await record(
        session,
        AuditAction.TOTP_ENROLMENT_CONFIRMED,
        actor=user_subject(user),
        subject=user_subject(user),
        data={"replaced": replaced, "notified": notified} | _where(address),
    )
    return codes


async def do_check_second_factor(session: AsyncSession, *, user: User, code: str, address: str) -> str:
    """Check a TOTP or recovery code: returns "otp", "recovery", "wrong" or "replayed".

    A TOTP code whose time step is not newer than the last accepted one is a replay (DESIGN.md §11).
    Audit: totp.recovery_used on a recovery code, totp.failed on wrong or replayed codes.
    """
    if totp.looks_like_recovery_code(code):
        return await _use_recovery_code(session, user=user, code=code, address=address)
    secret = None if user.totp_secret is None else services(session).secrets.open(user.totp_secret)
    step = None if secret is None else totp.matching_step(secret, code, now=session_clock(session)())
    outcome = "otp"
    if step is None:
        outcome = "wrong"
    elif user.totp_last_step is not None and step <= user.totp_last_step:
        outcome = "replayed"
    if outcome == "otp":
        user.totp_last_step = step
    else:
        await record(
            session,
            AuditAction.TOTP_FAILED,
            actor="anonymous",
            subject=user_subject(user),
            data={"reason": outcome, "address": address},
        )
    return outcome


async def _use_recovery_code(session: AsyncSession, *, user: User, code: str, address: str) -> str:
    found = (
        await session.execute(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == totp.hash_recovery_code(code),
                RecoveryCode.used_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if found is None:
        await record(
            session,
            AuditAction.TOTP_FAILED,
            actor="anonymous",
            subject=user_subject(user),
            data={"reason": "wrong recovery code", "address": address},
        )
        return "wrong"
    found.used_at = session_clock(session)()
    await record(
        session,
        AuditAction.RECOVERY_CODE_USED,
        actor=user_subject(user),
        subject=user_subject(user),
        data={"address": address},
    )
    return "recovery"


async def do_reset_totp(session: AsyncSession, *, user: User, actor: str, address: str = "") -> None:
    """Remove the second factor (lost phone), end the user's sessions and e-mail the user. Audit: totp.reset,
    saying whether the user was e-mailed.

    Roles that require a second factor enrol again at their next sign-in; others sign in with a password.
    """
    now = session_clock(session)()
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_step = user.totp_enrolled_at = None
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    await _end_sessions(session, user)
    notified = await notify(session, user, NoticeKind.SECOND_FACTOR_RESET, address=address)
    await record(
        session,
        AuditAction.TOTP_RESET,
        actor=actor,
        subject=user_subject(user),
        data={"notified": notified} | _where(address),
    )


async def do_step_up_session(
    session: AsyncSession, *, user: User, family: str, csrf: str, methods: tuple[str, ...] = ("pwd", "otp")
) -> SessionTokens:
    """Re-issue the session's tokens after password and second factor were proven again just now, with a
    step-up good for one sensitive action within STEP_UP_SECONDS (`step_up.use`). Only the access token issued
    here carries it (claim `sup`); refreshed ones do not.

    Audit: session.stepped_up. Admin changes and signatures require an unused step-up.
    """
    now = session_clock(session)()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    nonce = secrets.token_hex(16)
    expires = now + timedelta(seconds=STEP_UP_SECONDS)
    session.add(StepUp(nonce=nonce, user_id=user.id, family=family, granted_at=now, expires_at=expires))
    refresh = await _new_refresh(session, user, family, methods, now)
    access = _issue_access(session, user, family, methods, csrf, now, sup=nonce)
    await record(
        session,
        AuditAction.SESSION_STEPPED_UP,
        actor=user_subject(user),
        subject=user_subject(user),
        data={"session": family, "until": rfc3339(expires)},
    )
    return SessionTokens(access, refresh, csrf, services(session).settings.access_token_minutes * 60, family)


async def do_use_step_up(session: AsyncSession, *, nonce: str, user_id: int, family: str) -> None:
    """Spend the step-up `nonce` on the sensitive action of this transaction: a step-up allows one action,
    and is not spent when that action fails, since it is rolled back with it.

    Precondition: the caller's guard found it usable; this claims it, so that of two requests racing with one
    step-up only the first gets it. Raises Forbidden for a step-up used, expired or not this session's.
    Audit: none of its own; the action it allows writes its entry in the same transaction.
    """
    now = session_clock(session)()
    claimed = await session.execute(
        update(StepUp)
        .where(
            StepUp.nonce == nonce,
            StepUp.user_id == user_id,
            StepUp.family == family,
            StepUp.used_at.is_(None),
            StepUp.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", claimed).rowcount != 1:
        raise Forbidden(STEP_UP_NEEDED)


async def do_return_step_up(session: AsyncSession, *, nonce: str, user_id: int, family: str) -> None:
    """Give back a step-up spent in this transaction by a request that changed nothing after all (a preview,
    or a refusal answered without raising), so that it still allows the change that follows.

    Audit: none (nothing changed). Idempotent.
    """
    await session.execute(
        update(StepUp)
        .where(StepUp.nonce == nonce, StepUp.user_id == user_id, StepUp.family == family)
        .values(used_at=None)
        .execution_options(synchronize_session=False)
    )
