"""`/ws/meetings/{meeting_id}`: a live meeting over WebSocket (the protocol: docs/live.md).

Access is the live snapshot's (`may_follow`): the body follows its meetings and sees everything; everyone else
(anonymous, a member of another body) follows a public meeting as the public. The browser's session cookie
or an API client's `Authorization: Bearer` token says who is asking, once, at the handshake; the sign-in and
the person's roles are checked again every REVALIDATE_SECONDS, and a connection whose sign-in has ended is
closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from auth.queries import Principal, SignIn
from core.bounds import valid_id
from core.clock import LOCAL
from core.errors import KokousError
from core.text import translatable
from meetings.access import PUBLIC, Viewer, meeting_visible, viewer_for
from meetings.live.events import events_after
from meetings.live.models import LiveMeeting
from meetings.live.queries import may_follow
from meetings.models import Meeting
from web.context import AppContext
from web.media_signalling import media_error, offer_over_socket
from web.realtime.fanout import LiveFanOut
from web.realtime.hub import (
    REPLAY_LIMIT,
    Connection,
    Hub,
    LimitReachedError,
    Outgoing,
    dumps,
    event_message,
    read_snapshot,
    snapshot_message,
)
from web.security import (
    app_context,
    client_address,
    cross_site,
    principal_desk,
    record_denial,
)

log = logging.getLogger("kokous.live")

# Close codes (docs/live.md). 1000-1015 are the standard ones; 4000-4999 are this protocol's.
TOO_BIG = 1009  # a client message over MESSAGE_BYTES
BAD_REQUEST = 4400  # a malformed `after`
SIGNED_OUT = 4401  # the sign-in ended (logout, revoked, account closed): sign in again
FORBIDDEN = 4403  # not allowed to follow this meeting (e.g. the public, a closed meeting)
NOT_FOUND = 4404  # no such meeting (or one this viewer may not know of)
TOO_SLOW = 4408  # the client fell QUEUE messages behind: reconnect with after=V
ACCESS_CHANGED = 4409  # the person's roles changed: reconnect to get the view they now have
TOO_MANY = 4429  # over a connection limit, or too many client messages
POLICY = 1008  # a cross-site handshake with a session cookie
INTERNAL = 1011  # the server failed: reconnect with after=V

MESSAGE_BYTES = 4096
# A media offer carries a browser's SDP (5-10 KB, at most MAX_SDP) in JSON, whose escapes can double it: only
# a message of a media kind may be this long.
MEDIA_MESSAGE_BYTES = 64 * 1024
MEDIA_KINDS = frozenset({"media.offer", "media.renegotiate"})
BUSY = translatable("An earlier offer is still being answered: wait for its answer.")
MESSAGES_PER_MINUTE = 30
PING_SECONDS = 25.0
REVALIDATE_SECONDS = 30.0
SEND_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 5.0
MAX_AFTER = 2**31 - 1


class CloseError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Access:
    viewer: Viewer  # for the body's view; the public's is PUBLIC
    insider: bool
    body_id: int


def fanout_of(socket: WebSocket[Any, Any, Any]) -> LiveFanOut:
    fanout: LiveFanOut = socket.app.state.live
    return fanout


def principal_of(socket: WebSocket[Any, Any, Any]) -> Principal | None:
    principal = socket.scope.get("user")
    return principal if isinstance(principal, Principal) else None


async def access_to(context: AppContext, principal: Principal | None, meeting_id: int) -> Access:
    """Who follows the meeting, and how; a refusal is a CloseError with its code."""
    today = context.db.clock().astimezone(LOCAL).date()
    async with context.db.read(bounded=True) as session:
        viewer = await viewer_for(session, principal, on=today)
        meeting = await session.get(Meeting, meeting_id)
    if meeting is None or not meeting_visible(viewer, meeting):
        raise CloseError(NOT_FOUND, "no such meeting")
    if not may_follow(viewer, meeting):
        raise CloseError(FORBIDDEN, "not allowed to follow this meeting")
    insider = viewer.reads(meeting.body_id)
    return Access(viewer if insider else PUBLIC, insider, meeting.body_id)


def parse_after(socket: WebSocket[Any, Any, Any]) -> int | None:
    raw = socket.query_params.get("after")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > MAX_AFTER:
        raise CloseError(BAD_REQUEST, "after must be a version number")
    return int(raw)


@websocket("/ws/meetings/{meeting_id:int}")
async def follow_meeting(socket: WebSocket[Any, Any, Any], meeting_id: FromPath[int]) -> None:
    """Follow a held meeting live: a snapshot (or the events missed since `after`), then every change."""
    await socket.accept()
    context = app_context(socket)
    hub = fanout_of(socket).hub
    principal = principal_of(socket)
    connection: Connection | None = None
    try:
        if principal is not None and principal.via == "cookie":
            foreign = cross_site(socket, context.settings.origin)
            if foreign is not None:
                await record_denial(socket, foreign)
                raise CloseError(POLICY, "cross-site request refused")
        after = parse_after(socket)
        if not valid_id(meeting_id):
            raise CloseError(NOT_FOUND, "no such meeting")
        try:
            async with hub.reads:
                access = await access_to(context, principal, meeting_id)
        except CloseError as refused:
            kind = "not_found" if refused.code == NOT_FOUND else "forbidden"
            await record_denial(socket, f"live meeting: {refused.reason}", kind=kind)
            raise
        try:
            connection = hub.join(
                meeting_id,
                insider=access.insider,
                person=principal.user_id if principal else None,
                address=client_address(socket),
            )
        except LimitReachedError as full:
            raise CloseError(TOO_MANY, str(full)) from None
        await Follower(socket, context, hub, connection, access, principal).run(after)
    except CloseError as close:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await socket.close(close.code, close.reason)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("a live connection to meeting %s failed", meeting_id)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await socket.close(INTERNAL, "internal error: reconnect with after=V")
    finally:
        if connection is not None:
            hub.leave(connection)


class Follower:
    """One connection's life: the start, then its sender, its reader and its timer until one of them ends."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        context: AppContext,
        hub: Hub,
        connection: Connection,
        access: Access,
        principal: Principal | None,
    ) -> None:
        self.socket = socket
        self.context = context
        self.hub = hub
        self.connection = connection
        self.access = access
        self.principal = principal
        self.meeting_id = connection.meeting_id
        self._heard: list[float] = []
        self.sending_since: float | None = None
        # The offer being answered, one at a time. It is not cancelled when the connection ends: the hub
        # finishes the join it started (a peer half made would linger), and its answer goes nowhere.
        self._media: asyncio.Task[None] | None = None

    async def run(self, after: int | None) -> None:
        await self.start(after)
        tasks = [
            asyncio.create_task(self.sender()),
            asyncio.create_task(self.reader()),
            asyncio.create_task(self.ticker()),
            asyncio.create_task(self.overflow()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def send(self, text: str) -> None:
        """Send one message; a send still waiting for the client after SEND_TIMEOUT_SECONDS is ended by
        the ticker (no timer per message: a fan-out sends thousands at once)."""
        self.sending_since = asyncio.get_running_loop().time()
        try:
            await self.socket.send_text(text)
        except OSError:  # the client went away while we were sending (uvicorn's ClientDisconnected)
            raise WebSocketDisconnect(detail="client disconnected") from None
        finally:
            self.sending_since = None

    async def start(self, after: int | None) -> None:
        """Replay the events after `after` if the log has them all and the viewer is of the body; else send a
        snapshot. Before the meeting is opened nothing is sent until it is."""
        if after is not None and self.access.insider and await self.replay(after):
            return
        await self.send_snapshot()

    async def replay(self, after: int) -> bool:
        async with self.hub.reads, self.context.db.read(bounded=True) as session:
            live = await session.get(LiveMeeting, self.meeting_id)
            if live is None or after > live.version or live.version - after > REPLAY_LIMIT:
                return False
            events = await events_after(session, self.meeting_id, after)
        if [e.version for e in events] != list(range(after + 1, after + 1 + len(events))):
            return False
        for event in events:
            await self.send(event_message(event))
        self.hub.started(self.connection, events[-1].version if events else after)
        return True

    async def send_snapshot(self) -> None:
        if self.access.insider:
            async with self.hub.reads:
                found = await read_snapshot(self.context.db, self.access.viewer, self.meeting_id)
            if found is None:
                return  # not opened yet: its opening event brings the first snapshot
            version, text = found[0], snapshot_message(*found)
        else:
            channel = self.hub.channel(self.meeting_id)
            public = await channel.public_snapshot() if channel is not None else None
            if public is None:
                return
            version, text = public.version, public.text
        await self.send(text)
        self.hub.started(self.connection, version)

    async def sender(self) -> None:
        connection = self.connection
        while True:
            message = await connection.queue.get()
            if message.kind == "event":
                if connection.version is None:
                    await self.send_snapshot()
                    continue
                if message.version <= connection.version:
                    continue
                if message.version > connection.version + 1:
                    await self.catch_up()
                    if message.version <= (connection.version or 0):
                        continue
                await self.send(message.text)
                connection.version = message.version
            elif message.kind == "snapshot":
                if connection.version is None or message.version > connection.version:
                    await self.send(message.text)
                    connection.version = message.version
            elif message.kind == "resync":
                await self.send_snapshot()
            else:  # progress, ping, error
                await self.send(message.text)

    async def catch_up(self) -> None:
        """This connection missed events (the hub gave up waiting for one): replay them, or a snapshot."""
        if self.connection.version is None or not await self.replay(self.connection.version):
            await self.send_snapshot()

    async def reader(self) -> None:
        """The client asks for a snapshot with {"snapshot": true}, joins the sound and picture with a
        `media.offer`, or offers again on that connection with a `media.renegotiate`; anything else is
        answered with an error. Messages are bounded in size (a media message up to MEDIA_MESSAGE_BYTES,
        everything else MESSAGE_BYTES; a longer one closes the connection and is audited) and in rate."""
        loop = asyncio.get_running_loop()
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(detail="disconnect event", code=message.get("code", 1000))
            text: str | None = message.get("text")  # type: ignore[assignment]
            raw: str | bytes = text if text is not None else message.get("bytes") or b""  # type: ignore[assignment]
            now = loop.time()
            self._heard = [t for t in self._heard if now - t < 60] + [now]
            if len(self._heard) > MESSAGES_PER_MINUTE:
                raise CloseError(TOO_MANY, "too many messages")
            request = _parsed(text) if len(raw) <= MEDIA_MESSAGE_BYTES else None
            kind = request.get("kind") if isinstance(request, dict) else None
            if len(raw) > MESSAGE_BYTES and kind not in MEDIA_KINDS:
                await record_denial(
                    self.socket, f"live meeting: a message of {len(raw)} bytes", kind="too_big"
                )
                raise CloseError(TOO_BIG, "message too big")
            if kind in MEDIA_KINDS and text is not None:
                self.start_media(text)
            else:
                self.connection.offer(self.answer(request))

    def answer(self, request: object) -> Outgoing:
        if request == {"snapshot": True}:
            return Outgoing("resync", 0, "")
        error = (
            'unknown message: the server understands only {"snapshot": true}, {"kind": "media.offer"} and '
            '{"kind": "media.renegotiate"}'
        )
        return Outgoing("error", 0, dumps({"kind": "error", "message": error}))

    def start_media(self, text: str) -> None:
        if self._media is not None and not self._media.done():
            self.connection.offer(Outgoing("media", 0, media_error(self.socket, 0, KokousError(BUSY))))
            return
        self._media = asyncio.create_task(self.media_offer(text))

    async def media_offer(self, text: str) -> None:
        reply = await offer_over_socket(self.socket, self.context.db, self.principal, self.meeting_id, text)
        self.connection.offer(Outgoing("media", 0, reply))

    async def ticker(self) -> None:
        """Pings every PING_SECONDS, so that a dead peer is found (its queue fills, or a send waits longer
        than SEND_TIMEOUT_SECONDS); and every REVALIDATE_SECONDS (with jitter), the sign-in and the person's
        access, checked again."""
        loop = asyncio.get_running_loop()
        next_check = loop.time() + REVALIDATE_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311
        next_ping = loop.time() + PING_SECONDS
        while True:
            now = loop.time()
            await asyncio.sleep(max(0.0, min(next_ping, next_check, now + SEND_TIMEOUT_SECONDS / 2) - now))
            now = loop.time()
            since = self.sending_since
            if since is not None and now - since > SEND_TIMEOUT_SECONDS:
                raise CloseError(TOO_SLOW, "too slow: reconnect with after=V")
            if now >= next_check:
                next_check = now + REVALIDATE_SECONDS
                await self.revalidate()
            if now >= next_ping:
                next_ping = now + PING_SECONDS
                self.connection.offer(Outgoing("ping", 0, '{"kind":"ping"}'))

    async def revalidate(self) -> None:
        """The sign-in still live and the access unchanged. One check per sign-in, meeting and half interval
        serves all the sign-in's connections in this process (they share the check while it runs)."""
        principal = self.principal
        if principal is None:
            return
        loop = asyncio.get_running_loop()
        key = (principal.user_id, principal.session_family, self.meeting_id)
        checked = self.hub.checked.get(key)
        if checked is None or loop.time() - checked[0] >= REVALIDATE_SECONDS / 2:
            if len(self.hub.checked) > self.hub.limits.per_process:
                self.hub.checked.clear()
            running: asyncio.Future[object] = asyncio.ensure_future(self.check(principal))
            checked = self.hub.checked[key] = (loop.time(), running)
        found = await asyncio.shield(checked[1])
        if isinstance(found, CloseError):
            raise CloseError(found.code, found.reason)
        if not isinstance(found, Access) or found.insider != self.access.insider:
            raise CloseError(ACCESS_CHANGED, "access changed: reconnect")

    async def check(self, principal: Principal) -> Access | CloseError:
        """Checks that fall due together (a thousand followers connected at once) share one read of their
        sign-ins (web.security.PrincipalDesk, decision 0012)."""
        sign_in = SignIn(principal.user_id, principal.session_family, principal.methods, principal.via)
        async with self.hub.reads:
            now = await principal_desk(self.socket.app.state, self.context.db).load(sign_in)
        if now is None:
            return CloseError(SIGNED_OUT, "sign-in ended")
        try:
            async with self.hub.reads:
                return await access_to(self.context, now, self.meeting_id)
        except CloseError:
            return CloseError(ACCESS_CHANGED, "access changed: reconnect")

    async def overflow(self) -> None:
        await self.connection.overflowed.wait()
        raise CloseError(TOO_SLOW, "too slow: reconnect with after=V")


def _parsed(text: str | None) -> object:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None
