"""What the minutes' signing route and signing page share: the chair's PDF rendered before the signing
transaction (docs/minutes.md, "Speed") and the signer's name as the certificate gives it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from minutes.access import access_minutes
from minutes.drafting import uid
from minutes.models import MinutesState
from minutes.workflow import Rendering, render_for_signing
from web.http import Req
from web.security import app_context
from web.viewer import current_viewer


async def rendering_for(request: Req, minutes_id: int, user_id: int) -> Rendering | None:
    """The chair's PDF, rendered in a read transaction before the signing one; None when this person's
    signature needs none (the secretary's is added to the chair's file)."""
    async with app_context(request).db.read() as session:
        viewer = await current_viewer(request, session)
        minutes, _, _ = await access_minutes(session, viewer, minutes_id)
        if user_id != minutes.chair_id or minutes.state != MinutesState.CHECKED:
            return None
        return await render_for_signing(session, minutes)


async def signer_name(session: AsyncSession, user_id: int) -> str:
    user = await session.get(User, user_id)
    return user.display_name if user else uid(user_id)
