"""Joining a meeting's sound and picture, and changing what one sends (a camera turned on later), one
exchange however it arrives: the HTTP routes (`POST /api/meetings/{id}/media/offer` and `…/renegotiate`,
web/api/media.py) and the meeting's WebSocket (`media.offer`, `media.renegotiate`, web/api/live_socket.py)
both admit the viewer here, let the hub answer and audit it (docs/media.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar.connection import ASGIConnection

from audit.actions import record
from audit.models import AuditAction
from auth.failures import Failure, record_failure
from auth.queries import Principal
from auth.ratelimit import Limiter
from core.clock import LOCAL
from core.db import Database
from core.errors import Forbidden, KokousError, NotAuthenticated, NotFound, RateLimited
from core.text import translatable
from media import Role
from meetings.access import viewer_for
from web import i18n
from web.errors import status_of
from web.media_bridge import (
    MAX_SDP,
    NOT_IN_USE,
    SIGN_IN,
    Admission,
    MediaBridge,
    Sending,
    admit,
    bridge_of,
)
from web.realtime.hub import dumps
from web.security import LANG_COOKIE, client_address, record_denial

log = logging.getLogger(__name__)

NOT_AN_OFFER = translatable("The offer is not valid: {problem}")
FAILED = translatable("Something went wrong on our side.")
NOT_SENDING = translatable("Only those taking part in the meeting send sound and picture.")
DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
TOO_MANY_OFFERS = translatable("Too many attempts to connect sound and picture: try again in {seconds} s.")
OFFER_WINDOW_SECONDS = 60


class MediaOffer(msgspec.Struct, forbid_unknown_fields=True):
    """`{"kind": "media.offer", "sdp": "…", "id": n}` (joining) or `{"kind": "media.renegotiate", …}` (a new
    offer on the connection already made) on the meeting's WebSocket; answered with `media.answer` or
    `media.error` carrying the same `id`."""

    kind: Literal["media.offer", "media.renegotiate"]
    sdp: Annotated[str, msgspec.Meta(max_length=MAX_SDP)]
    id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0


@dataclass(frozen=True, slots=True)
class Joined:
    sdp: str  # the hub's answer, with all of its candidates
    peer: str
    role: str


def sent_kinds(sdp: str) -> tuple[str, ...]:
    """What an offer says its sender sends: the audio and video sections not refused (port 0) whose direction
    is sendrecv or sendonly (the default). A browser that turns its camera off offers its video recvonly."""
    sending: set[str] = set()
    kind, port, direction = "", "0", "sendrecv"
    for line in [*sdp.splitlines(), "m=end 0"]:
        if line.startswith("m="):
            if kind in ("audio", "video") and port != "0" and direction in ("sendrecv", "sendonly"):
                sending.add(kind)
            fields = [*line[2:].split(), "", "0"]
            kind, port, direction = fields[0], fields[1], "sendrecv"
        elif line[2:] in DIRECTIONS and line.startswith("a="):
            direction = line[2:]
    return tuple(sorted(sending))


def noted(bridge: MediaBridge, admission: Admission, sdp: str, *, joined: bool) -> dict[str, Any] | None:
    """The audit data of a participant's offer: what it sends, and how many renegotiations before it changed
    nothing. A renegotiation that changes nothing of what is sent is only counted (None): the count goes into
    the person's next entry (`unchanged`), so a page that offers again and again does not flood the log."""
    kinds = sent_kinds(sdp)
    before = bridge.sending.get((admission.meeting_id, admission.peer_id))
    if not joined and before is not None and before.kinds == kinds:
        before.unchanged += 1
        return None
    bridge.sending[(admission.meeting_id, admission.peer_id)] = Sending(kinds)
    return {"sends": list(kinds)} | unchanged(before)


def unchanged(before: Sending | None) -> dict[str, Any]:
    return {"unchanged": before.unchanged} if before is not None and before.unchanged else {}


async def limit_offers(
    db: Database, bridge: MediaBridge, principal: Principal | None, meeting_id: int, address: str
) -> None:
    """At most `offers_per_minute` offers and renegotiations a minute per person (the public: per address)
    in a meeting, each a connection the hub sets up: beyond it 429, audited as media.rate_limited (summarised
    when it repeats, auth.failures)."""
    who = f"user:{principal.user_id}" if principal is not None else f"address:{address}"
    limiter: Limiter = db.services["auth"].limiter
    hit = await limiter.hit(f"media-offers:{meeting_id}:{who}", window=OFFER_WINDOW_SECONDS)
    if hit.over(bridge.settings.offers_per_minute):
        actor = principal.actor if principal is not None else "anonymous"
        reason = f"over {bridge.settings.offers_per_minute} media offers a minute"
        failure = Failure(
            AuditAction.MEDIA_RATE_LIMITED, "media-offers", actor, f"meeting:{meeting_id}", reason, address
        )
        await record_failure(db, failure)
        raise RateLimited(TOO_MANY_OFFERS, retry_after=hit.retry_after, seconds=hit.retry_after)


async def _admitted(
    db: Database,
    bridge: MediaBridge,
    principal: Principal | None,
    meeting_id: int,
    *,
    today: date,
    address: str,
) -> Admission:
    """Counted against the rate of offers, then admitted (or refused) as the viewer they are today."""
    await limit_offers(db, bridge, principal, meeting_id, address)
    async with db.read(bounded=True) as session:
        return await admit(session, await viewer_for(session, principal, on=today), meeting_id)


async def join_media(
    db: Database,
    bridge: MediaBridge,
    principal: Principal | None,
    meeting_id: int,
    offer_sdp: str,
    *,
    today: date,
    address: str,
) -> Joined:
    """Admit the viewer (refusals raise the domain's errors), connect them with no transaction open while the
    hub answers, and audit a participant's join (media.joined, with what they send; the public is not
    audited). `address` is the client's, for the rate of offers."""
    admission = await _admitted(db, bridge, principal, meeting_id, today=today, address=address)
    answer = await bridge.join(admission, offer_sdp)
    if admission.role is Role.PARTICIPANT and principal is not None:
        data = noted(bridge, admission, offer_sdp, joined=True)
        await audit_media(db, AuditAction.MEDIA_JOINED, admission, actor=principal.actor, data=data)
    return Joined(answer, admission.peer_id, str(admission.role))


async def renegotiate_media(
    db: Database,
    bridge: MediaBridge,
    principal: Principal | None,
    meeting_id: int,
    offer_sdp: str,
    *,
    today: date,
    address: str,
) -> Joined:
    """A participant's new offer on the connection they made (a camera or microphone turned on or off):
    admitted as an offer is, for those taking part only (the public sends nothing), and refused (409) to
    someone not joined. Audit: media.renegotiated when what they send changes (`noted`)."""
    admission = await _admitted(db, bridge, principal, meeting_id, today=today, address=address)
    if principal is None:
        raise NotAuthenticated(SIGN_IN)
    if admission.role is not Role.PARTICIPANT:
        raise Forbidden(NOT_SENDING)
    answer = await bridge.renegotiate(admission, offer_sdp)
    data = noted(bridge, admission, offer_sdp, joined=False)
    if data is not None:
        await audit_media(db, AuditAction.MEDIA_RENEGOTIATED, admission, actor=principal.actor, data=data)
    return Joined(answer, admission.peer_id, str(admission.role))


async def audit_media(
    db: Database,
    action: AuditAction,
    admission: Admission,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    async with db.write() as session:
        await record(
            session,
            action,
            actor=actor,
            subject=f"meeting:{admission.meeting_id}",
            data={"person": f"user:{admission.peer_id}", "role": str(admission.role)} | (data or {}),
        )


# What both paths call: the offer (joining) and the renegotiation, with the same arguments.
Exchange = Callable[..., Awaitable[Joined]]

EXCHANGES = {
    "media.offer": (join_media, "media offer"),
    "media.renegotiate": (renegotiate_media, "media renegotiation"),
}


async def offer_over_socket(
    socket: ASGIConnection[Any, Any, Any, Any],
    db: Database,
    principal: Principal | None,
    meeting_id: int,
    text: str,
) -> str:
    """A `media.offer` (or `media.renegotiate`) on the meeting's WebSocket answered as `POST
    /api/meetings/{id}/media/offer` (or `…/renegotiate`) would be: the same admission, hub and audit. A
    refusal is a `media.error` with the status the route would have answered, in the person's language; a
    refusal of access is audited, as every denied access is."""
    try:
        offer = msgspec.json.decode(text, type=MediaOffer)
    except msgspec.ValidationError as problem:
        return media_error(socket, 0, KokousError(NOT_AN_OFFER, problem=str(problem)))
    exchange, named = EXCHANGES[offer.kind]
    try:
        bridge = bridge_of(socket.app)
        if bridge is None:
            raise NotFound(NOT_IN_USE)
        today = db.clock().astimezone(LOCAL).date()
        joined = await exchange(
            db, bridge, principal, meeting_id, offer.sdp, today=today, address=client_address(socket)
        )
    except KokousError as refused:
        if isinstance(refused, NotFound | Forbidden | NotAuthenticated):
            await record_denial(socket, f"{named}: {refused.message}", kind="media")
        return media_error(socket, offer.id, refused)
    except Exception:
        log.exception("a %s in meeting %s failed", named, meeting_id)
        return media_error(socket, offer.id, KokousError(FAILED))
    answer = {"kind": "media.answer", "id": offer.id, "sdp": joined.sdp, "peer": joined.peer}
    return dumps(answer | {"role": joined.role})


def media_error(socket: ASGIConnection[Any, Any, Any, Any], offer_id: int, error: KokousError) -> str:
    language = i18n.negotiate(socket.cookies.get(LANG_COOKIE), socket.headers.get("accept-language"))
    translate = i18n.translator(language)
    said = translate(error.template).format(**error.params) if error.params else translate(error.template)
    return dumps({"kind": "media.error", "id": offer_id, "status": status_of(error), "message": said})
