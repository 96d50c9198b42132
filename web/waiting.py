"""What waits for a person on their home page: a list of providers that features add themselves to.

A provider is an async function `(session, viewer, now) -> list[Waiting]`; register it with `@provides`
(or `PROVIDERS.append`) in the feature's own module, imported by web.app. The decision procedure adds
"stances to give", the minutes "minutes to check"; items to prepare are here already. A provider reads only
what the viewer may see, and a failing provider must not take the home page down: its error is logged and
the others still show.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.text import translatable
from meetings.access import Capability, Viewer
from meetings.models import Body, Meeting, MeetingStatus

log = logging.getLogger("kokous.web")


@dataclass(frozen=True, slots=True)
class Waiting:
    """One thing for the person to do: `kind` is a translatable label, `title` is data shown as it is."""

    kind: str
    title: str
    href: str
    due: datetime | None = None


Provider = Callable[[AsyncSession, Viewer, datetime], Awaitable[list[Waiting]]]
PROVIDERS: list[Provider] = []


def provides(provider: Provider) -> Provider:
    PROVIDERS.append(provider)
    return provider


async def waiting_for(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Everything every provider finds for the viewer, soonest due first, undated last."""
    found: list[Waiting] = []
    for provider in list(PROVIDERS):
        try:
            found += await provider(session, viewer, now)
        except Exception:
            log.exception("a home page provider failed: %s", getattr(provider, "__name__", provider))
    return sorted(found, key=lambda w: (w.due is None, w.due or now, w.title))


PREPARE = translatable("Agenda to prepare and call to send")


@provides
async def agendas_to_prepare(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Draft meetings of the bodies whose agendas the viewer prepares, from today on."""
    bodies = [b for b in viewer.body_roles if viewer.can(Capability.PREPARE, b)]
    if not bodies:
        return []
    rows = await session.execute(
        select(Meeting, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Meeting.body_id.in_(bodies),
            Meeting.status == MeetingStatus.DRAFT,
            Meeting.starts_at >= now.replace(hour=0, minute=0, second=0, microsecond=0),
        )
        .order_by(Meeting.starts_at)
        .limit(20)
    )
    return [
        Waiting(PREPARE, f"{name} {m.number}/{m.year}", f"/meetings/{m.id}/edit", m.starts_at)
        for m, name in rows.tuples()
    ]
