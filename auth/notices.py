"""Telling people by e-mail that their password or second factor changed.

Auth says what to tell and to whom; the mail itself is meetings' (which owns the outbox), registered on the
database's services under NOTICES (web/context.py), since auth may not import meetings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.db import session_clock, session_service

NOTICES = "account_notices"


class NoticeKind(StrEnum):
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a kind of notice) - by the person themself
    PASSWORD_SET = "password_set"  # noqa: S105 - by an administrator
    SECOND_FACTOR_ADDED = "second_factor_added"
    SECOND_FACTOR_REPLACED = "second_factor_replaced"
    SECOND_FACTOR_RESET = "second_factor_reset"  # removed by an administrator


@dataclass(frozen=True, slots=True)
class AccountNotice:
    """What changed, for whom, when and from where; never a secret."""

    kind: NoticeKind
    user_id: int
    username: str
    display_name: str
    email: str
    at: datetime
    address: str  # the client's address; empty when the change did not come over the network (the CLI)


class AccountNotices(Protocol):
    async def send(self, session: AsyncSession, notice: AccountNotice) -> None:
        """Queue the e-mail in the caller's transaction, to be delivered after it commits."""
        ...


async def notify(session: AsyncSession, user: User, kind: NoticeKind, *, address: str = "") -> bool:
    """Queue a notice to the user; False when the user has no e-mail address (then nothing is sent)."""
    if not user.email:
        return False
    notices: AccountNotices = session_service(session, NOTICES)
    notice = AccountNotice(
        kind, user.id, user.username, user.display_name, user.email, session_clock(session)(), address
    )
    await notices.send(session, notice)
    return True
