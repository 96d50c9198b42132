"""The municipality's administrative-rule settings (R-BASE-1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import check_choice, check_lengths, length_of
from core.db import session_clock
from core.errors import ValidationFailed
from meetings.models import (
    CallDayCount,
    CheckingMethod,
    Organisation,
)
from meetings.queries import organisation


@dataclass(frozen=True, slots=True)
class OrganisationSettings:
    name: str
    name_sv: str = ""
    default_call_period_days: int = 4
    call_day_count: str = CallDayCount.SENDING_DAY_EXCLUDED
    council_tabling_minority: str = "1/4"
    minutes_retention_days: int = 365
    default_checking_method: str = CheckingMethod.CHECKERS
    attachment_max_bytes: int = 50 * 1024 * 1024


ORGANISATION_TEXT = {
    "name": length_of(Organisation.name),
    "name_sv": length_of(Organisation.name_sv),
    "council_tabling_minority": length_of(Organisation.council_tabling_minority),
}


def _check_organisation(settings: OrganisationSettings) -> None:
    check_lengths(settings, ORGANISATION_TEXT)
    if not settings.name.strip():
        raise ValidationFailed("The municipality needs a name.", field="name")
    if not 1 <= settings.default_call_period_days <= 60:
        raise ValidationFailed("The call period must be 1–60 days.", field="default_call_period_days")
    check_choice(CallDayCount, settings.call_day_count, "call_day_count")
    check_choice(CheckingMethod, settings.default_checking_method, "default_checking_method")
    numerator, _, denominator = settings.council_tabling_minority.partition("/")
    if not (numerator.isdigit() and denominator.isdigit() and 0 < int(numerator) < int(denominator)):
        raise ValidationFailed(
            "The tabling minority is a fraction such as 1/4.", field="council_tabling_minority"
        )
    if not 1 <= settings.minutes_retention_days <= 36500:
        raise ValidationFailed("Retention is 1–36500 days.", field="minutes_retention_days")
    if not 1024 <= settings.attachment_max_bytes <= 2 * 1024**3:
        raise ValidationFailed("The attachment limit is 1 KiB – 2 GiB.", field="attachment_max_bytes")


async def do_update_organisation(
    session: AsyncSession, *, settings: OrganisationSettings, actor: str
) -> Organisation:
    """Set the administrative-rule settings (R-BASE-1). Audit: organisation.updated. Idempotent."""
    _check_organisation(settings)
    org = await organisation(session)
    if org is None:
        org = Organisation(updated_at=session_clock(session)())
        session.add(org)
    changed = {k: v for k, v in dataclasses.asdict(settings).items() if getattr(org, k, None) != v}
    for key, value in changed.items():
        setattr(org, key, value)
    org.updated_at = session_clock(session)()
    await session.flush()
    if changed:
        await record(
            session,
            AuditAction.ORGANISATION_UPDATED,
            actor=actor,
            subject="organisation",
            data={"changed": sorted(changed)},
        )
    return org
