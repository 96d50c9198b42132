"""Joining a meeting's sound and picture, one exchange however it arrives: the HTTP route
(`POST /api/meetings/{id}/media/offer`, web/api/media.py) and the meeting's WebSocket (`media.offer`,
web/api/live_socket.py) both admit the viewer here, let the hub answer and audit the join (docs/media.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar.connection import ASGIConnection

from audit.actions import record
from audit.models import AuditAction
from auth.queries import Principal
from core.clock import LOCAL
from core.db import Database
from core.errors import Forbidden, KokousError, NotAuthenticated, NotFound
from core.text import translatable
from media import Role
from meetings.access import viewer_for
from web import i18n
from web.errors import status_of
from web.media_bridge import MAX_SDP, NOT_IN_USE, Admission, MediaBridge, admit, bridge_of
from web.realtime.hub import dumps
from web.security import LANG_COOKIE, record_denial

log = logging.getLogger(__name__)

NOT_AN_OFFER = translatable("The offer is not valid: {problem}")
FAILED = translatable("Something went wrong on our side.")


class MediaOffer(msgspec.Struct, forbid_unknown_fields=True):
    """`{"kind": "media.offer", "sdp": "…", "id": n}` on the meeting's WebSocket; answered with
    `media.answer` or `media.error` carrying the same `id`."""

    kind: Literal["media.offer"]
    sdp: Annotated[str, msgspec.Meta(max_length=MAX_SDP)]
    id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0


@dataclass(frozen=True, slots=True)
class Joined:
    sdp: str  # the hub's answer, with all of its candidates
    peer: str
    role: str


async def join_media(
    db: Database,
    bridge: MediaBridge,
    principal: Principal | None,
    meeting_id: int,
    offer_sdp: str,
    *,
    today: date,
) -> Joined:
    """Admit the viewer (refusals raise the domain's errors), connect them with no transaction open while the
    hub answers, and audit a participant's join (media.joined; the public is not audited)."""
    async with db.read(bounded=True) as session:
        admission = await admit(session, await viewer_for(session, principal, on=today), meeting_id)
    answer = await bridge.join(admission, offer_sdp)
    if admission.role is Role.PARTICIPANT and principal is not None:
        await audit_media(db, AuditAction.MEDIA_JOINED, admission, actor=principal.actor)
    return Joined(answer, admission.peer_id, str(admission.role))


async def audit_media(db: Database, action: AuditAction, admission: Admission, *, actor: str) -> None:
    async with db.write() as session:
        await record(
            session,
            action,
            actor=actor,
            subject=f"meeting:{admission.meeting_id}",
            data={"person": f"user:{admission.peer_id}", "role": str(admission.role)},
        )


async def offer_over_socket(
    socket: ASGIConnection[Any, Any, Any, Any],
    db: Database,
    principal: Principal | None,
    meeting_id: int,
    text: str,
) -> str:
    """A `media.offer` on the meeting's WebSocket answered as `POST /api/meetings/{id}/media/offer` would be:
    the same admission, hub and audit. A refusal is a `media.error` with the status the route would have
    answered, in the person's language; a refusal of access is audited, as every denied access is."""
    try:
        offer = msgspec.json.decode(text, type=MediaOffer)
    except msgspec.ValidationError as problem:
        return media_error(socket, 0, KokousError(NOT_AN_OFFER, problem=str(problem)))
    try:
        bridge = bridge_of(socket.app)
        if bridge is None:
            raise NotFound(NOT_IN_USE)
        today = db.clock().astimezone(LOCAL).date()
        joined = await join_media(db, bridge, principal, meeting_id, offer.sdp, today=today)
    except KokousError as refused:
        if isinstance(refused, NotFound | Forbidden | NotAuthenticated):
            await record_denial(socket, f"media offer: {refused.message}", kind="media")
        return media_error(socket, offer.id, refused)
    except Exception:
        log.exception("a media offer in meeting %s failed", meeting_id)
        return media_error(socket, offer.id, KokousError(FAILED))
    answer = {"kind": "media.answer", "id": offer.id, "sdp": joined.sdp, "peer": joined.peer}
    return dumps(answer | {"role": joined.role})


def media_error(socket: ASGIConnection[Any, Any, Any, Any], offer_id: int, error: KokousError) -> str:
    language = i18n.negotiate(socket.cookies.get(LANG_COOKIE), socket.headers.get("accept-language"))
    translate = i18n.translator(language)
    said = translate(error.template).format(**error.params) if error.params else translate(error.template)
    return dumps({"kind": "media.error", "id": offer_id, "status": status_of(error), "message": said})
