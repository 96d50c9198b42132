"""The audit log's filters as the API and the auditor's pages take them: times, an actor by username or
reference, an action or its group, a subject."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from audit.queries import AuditFilter
from auth.queries import user_by_username
from core.bounds import check_moment
from core.clock import LOCAL
from core.errors import ValidationFailed

# An entry's number (a BIGINT), to page back from. The bounds are given to Litestar: it drops a msgspec.Meta
# inside an optional parameter's type, and a number beyond 64 bits then reached the database (a 500).
Before = Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)]


def iso_moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            "{name} must be a date or time such as 2026-11-28T09:00Z.", field=name, name=name
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(
            "{name} must include a time zone, e.g. 2026-11-28T09:00+02:00.", field=name, name=name
        )
    check_moment(moment, field=name)  # one near datetime's ends overflowed when converted to UTC
    return moment


async def audit_filter(
    session: AsyncSession,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    subject: str | None,
) -> AuditFilter:
    """`actor` may be an actor string (user:7, system) or a username."""
    for name, text in (("actor", actor), ("action", action), ("subject", subject)):
        if text and "\x00" in text:  # refused here, not by the database in the middle of an export
            raise ValidationFailed("Text cannot contain the NUL character.", field=name)
    if actor and ":" not in actor and actor not in ("system", "anonymous"):
        user = await user_by_username(session, actor)
        actor = f"user:{user.id}" if user else f"user:?{actor}"
    return AuditFilter(
        iso_moment(since, "since"), iso_moment(until, "until"), actor or None, action or None, subject or None
    )


# The local forms a person types into the filters: 28.11.2026, 28.11.2026 9.00, 2026-11-28 or ISO with a zone.
LOCAL_FORMATS = ("%d.%m.%Y %H.%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def local_moment(value: str, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A time typed in Europe/Helsinki (a date alone is its start, or with `end_of_day` the next day's
    start), or an ISO 8601 time with its own zone; a year outside 2000–2999 is refused (core.bounds)."""
    moment = _typed_moment(value, name, end_of_day=end_of_day)
    if moment is not None:
        check_moment(moment, field=name)
    return moment


def _typed_moment(value: str, name: str, *, end_of_day: bool) -> datetime | None:
    text = " ".join(value.replace("klo", " ").split())
    if not text:
        return None
    for layout in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text, layout).replace(tzinfo=LOCAL).date()
        except ValueError:
            continue
        if not 2000 <= day.year <= 2999:  # also keeps the next day from overflowing at the calendar's end
            raise ValidationFailed("Give a time between the years 2000 and 2999.", field=name)
        return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=LOCAL)
    for layout in LOCAL_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=LOCAL)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("Write the time as 28.11.2026 or 28.11.2026 9.00.", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)
