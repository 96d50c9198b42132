"""The media hub wired to a held meeting (docs/media.md "Wiring to meetings"): members join through the API
with real aiortc peers in a network namespace, the floor drives the hub, presence from the media becomes
attendance and quorum (R-EMEET-8), closed items stop the public and wait for each participant's confirmation
(R-EMEET-6), and a disqualified member waits outside their item (R-DISQ-3).

The app here has a SQLite file of its own (not the shared rolled-back connection): the hub's presence reports
write from their own tasks while the test reads, as in a running service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCSessionDescription
from litestar import Litestar

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock, system_clock
from core.config import TEST_PASSWORD_PROFILE, MediaSettings, Settings, settings_from_env
from core.db import Database
from media import Role
from meetings.live.actions.floor import do_end_floor, do_grant_floor, do_request_floor
from meetings.live.actions.items import (
    do_close_discussion,
    do_decide_without_vote,
    do_record_recusal,
    do_take_up_item,
)
from meetings.live.actions.sitting import do_close_meeting
from meetings.live.events import events_after
from meetings.live.models import LiveMeeting
from meetings.live.seating import load
from tests.conftest import BASE_URL
from tests.factories import api_login, audit_entries, enrol_totp, make_user
from tests.media import conftest as media_fixtures
from tests.media.client import ColourTrack, Member
from tests.media.netns import Namespace
from tests.media.sound import tones_in
from tests.meetings.live.world import Board, hold, item_of, make_board, meeting_of
from web import media_bridge, migration
from web.app import create_app
from web.context import AppContext, build_context
from web.i18n import translator
from web.media_bridge import CLOSED_NOW, NOT_AN_OFFER, MediaBridge, MeetingMedia, plan
from web.media_signalling import sent_kinds

# The media tests' network namespace (tests/media/conftest.py), for the peers and the hub.
namespace, inside = media_fixtures.namespace, media_fixtures.inside
# Fast enough for tests: loss after 2 s, back after 1 s of signs, heartbeats every 0.5 s.
FAST = replace(
    MediaSettings(), enabled=True, lost_after_seconds=2.0, back_after_seconds=1.0, heartbeat_seconds=0.5
)
WAIT_SECONDS = 8.0
SERVER_PORT = 8104  # inside the namespace: nothing else listens there
fi = translator("fi")


@dataclass
class Service:
    app: Litestar
    context: AppContext
    bridge: MediaBridge
    client: httpx.AsyncClient
    board: Board
    clock: FixedClock

    async def headers(self, name: str) -> dict[str, str]:
        """Bearer headers; the chair needs a second factor."""
        if name != "m1":
            return await api_login(self.client, name)
        secret = await enrol_totp(self.context, name)
        return await api_login(self.client, name, secret=secret, clock=self.clock)

    def offer_url(self) -> str:
        return f"/api/meetings/{self.board.meeting_id}/media/offer"

    async def join(self, member: Member, headers: dict[str, str] | None = None) -> dict[str, str]:
        response = await self.client.post(
            self.offer_url(), headers=headers, json={"sdp": await member.offer()}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, str] = response.json()
        await member.accept(answer["sdp"])
        await member.connected()
        return answer

    def room(self) -> object:
        return self.bridge.hub.room(str(self.board.meeting_id))

    async def seating(self) -> tuple[frozenset[int], frozenset[int], list[int]]:
        async with self.context.db.read() as session:
            live = await session.get(LiveMeeting, self.board.meeting_id, populate_existing=True)
            assert live is not None
            seating = load(live.seating)
            return seating.present, seating.disconnected, list(live.remote)

    async def act(self, work: Callable[..., Awaitable[object]], **kwargs: object) -> None:
        """Run a live action as the chair's page would, then let the room follow the committed events."""
        async with self.context.db.write() as session:
            meeting = await meeting_of(session, self.board)
            await work(session, meeting=meeting, **kwargs)
        await self.bridge.settled()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = WAIT_SECONDS) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the database is polled, nothing signals
            await asyncio.sleep(0.1)


async def hears(member: Member, tones: set[float], seconds: float = 5.0) -> None:
    """Wait until the member's last half second of sound holds exactly these tones (each speaker's own)."""
    heard: set[float] = set()
    async with asyncio.timeout(seconds):
        while heard != tones:
            await asyncio.sleep(0.25)
            heard = tones_in(member.received.audio_between(time.monotonic() - 0.5))


@pytest.fixture
async def service(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    monkeypatch.setattr(media_bridge, "RESYNC_SECONDS", 0.5)
    settings = Settings(
        data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE, media=FAST
    )
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    await migration.upgrade(context.db.engine)
    app = create_app(settings, context=context, background_jobs=False)
    # Real peers run in real time: presence is decided on the real clock (tests/media/conftest.py).
    bridge = MediaBridge(context.db, FAST, clock=system_clock)
    app.state.media = bridge
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield Service(app, context, bridge, client, board, clock)
    await bridge.close()
    await context.db.dispose()


# The pure plan.

STATE = MeetingMedia(True, "1", None, True, None, frozenset())


def test_the_floor_holder_and_the_chair_are_heard_and_the_speaker_seen() -> None:
    chosen = plan(replace(STATE, speaker="2"), ["1", "2", "3"], frozenset())
    assert (chosen.floor, chosen.video, chosen.public_stream, chosen.waiting) == (
        frozenset({"1", "2"}),
        "2",
        True,
        frozenset(),
    )
    assert plan(STATE, ["1"], frozenset()).video == "1"  # nobody speaks: the chair is seen


def test_a_closed_item_stops_the_public_and_waits_for_each_confirmation() -> None:
    """R-EMEET-6: the public stream stops; who has not confirmed waits; R-DISQ-3: the disqualified wait."""
    closed = replace(STATE, closed_item=7, recused=frozenset({"3"}))
    chosen = plan(closed, ["1", "2", "3"], frozenset({"1", "3"}))
    assert not chosen.public_stream
    assert chosen.waiting == {"2", "3"}
    after = plan(STATE, ["1", "2", "3"], frozenset())
    assert after.public_stream
    assert after.waiting == frozenset()
    assert not plan(replace(STATE, public_meeting=False), [], frozenset()).public_stream


def test_a_roll_call_shows_and_lets_hear_the_member_called_instead_of_the_floor() -> None:
    """R-EMEET-1(1): the member called wins over the floor holder until the roll call ends."""
    chosen = plan(replace(STATE, speaker="2", roll_call="3"), ["1", "2", "3"], frozenset())
    assert (chosen.video, chosen.floor) == ("3", frozenset({"1", "2", "3"}))
    assert plan(replace(STATE, speaker="2"), ["1", "2", "3"], frozenset()).video == "2"


def test_the_hub_runs_only_when_the_setting_says_so() -> None:
    assert settings_from_env({}).media.enabled is False
    assert settings_from_env({"KOKOUS_MEDIA_ENABLED": "1"}).media.enabled is True


async def test_the_app_starts_and_stops_the_hub_when_enabled(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)
    for media, expected in ((MediaSettings(), False), (replace(MediaSettings(), enabled=True), True)):
        configured = replace(settings, media=media)
        context = build_context(configured, clock=clock, limiter=MemoryLimiter(clock))
        app = create_app(configured, context=context, background_jobs=False)
        async with app.lifespan():
            assert isinstance(app.state.get("media"), MediaBridge) is expected
        assert app.state.get("media") is None
        await context.db.dispose()


# Refusals, before any peer is made.


async def test_without_the_hub_the_media_routes_are_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/meetings/1/media/offer", json={"sdp": "v=0\r\n"})
    assert response.status_code == 404
    assert response.json()["error"] == "Sound and picture are not in use in this service."


async def test_who_may_join_and_bad_offers_are_refused(service: Service) -> None:
    url = service.offer_url()
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    outsider = await make_user(service.context, "ulkopuolinen")
    assert outsider.id
    member = await service.headers("m2")
    # A public meeting with no closed item: the public may follow (receive-only) …
    state = await service.client.get(f"/api/meetings/{service.board.meeting_id}/media")
    assert state.status_code == 200
    assert state.json()["role"] == "public"
    mine = await service.client.get(f"/api/meetings/{service.board.meeting_id}/media", headers=member)
    assert mine.json()["role"] == "participant"
    assert mine.json()["ice_servers"] == []
    for language, join in (("fi", "Liity äänellä ja kuvalla"), ("sv", "Anslut med ljud och bild")):
        page = await service.client.get(
            f"/meetings/{service.board.meeting_id}/media", headers={"accept-language": language}
        )
        assert page.status_code == 200
        assert join in page.text
        assert f'data-meeting="{service.board.meeting_id}"' in page.text
    # … but an offer must be an offer, bounded, and a real session description.
    for body, status in (
        ({"sdp": "hello"}, 400),
        ({"sdp": sdp, "type": "answer"}, 400),
        ({"sdp": "v=0\r\n" + "a" * 40_000}, 422),
        ({"sdp": sdp, "extra": 1}, 400),
        ({"sdp": sdp}, 400),  # no media at all
        ({"sdp": sdp + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}, 400),  # aiortc refuses it
    ):
        response = await service.client.post(url, headers=member, json=body)
        assert response.status_code == status, (body, response.text)
    assert not await audit_entries(service.context, "media.joined")
    # Confirming a closed item: signed in, and only while a closed item is under way.
    attest = f"/api/meetings/{service.board.meeting_id}/media/attest"
    assert (await service.client.post(attest)).status_code == 401
    stranger = await service.headers("ulkopuolinen")
    not_taking_part = await service.client.post(attest, headers=stranger)
    assert not_taking_part.status_code == 403
    assert not_taking_part.json()["error"] == "Only those taking part in the meeting confirm this."
    leave = f"/api/meetings/{service.board.meeting_id}/media/leave"
    assert (await service.client.post(leave, json={})).status_code == 401
    refused = await service.client.post(attest, headers=member)
    assert refused.status_code == 409
    assert refused.json()["error"] == "Only a closed item under way needs this confirmation."


async def test_renegotiation_is_refused_to_the_public_to_outsiders_and_before_joining(
    service: Service,
) -> None:
    """`POST …/media/renegotiate` has the offer's bounds and admission, and more: only someone taking part
    sends (the public, even signed in, is refused and the refusal audited), and only on a connection made."""
    url = f"/api/meetings/{service.board.meeting_id}/media/renegotiate"
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    await make_user(service.context, "ulkopuolinen")
    anonymous = await service.client.post(url, json={"sdp": sdp})
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "Please sign in.")
    outsider = await service.client.post(
        url, headers=await service.headers("ulkopuolinen"), json={"sdp": sdp}
    )
    assert outsider.status_code == 403
    assert outsider.json()["error"] == "Only those taking part in the meeting send sound and picture."
    denied = await audit_entries(service.context, "access.denied")
    assert [e.actor for e in denied][-1:] == [f"user:{await _user_id(service.context, 'ulkopuolinen')}"]
    assert "send sound and picture" in denied[-1].data
    member = await service.headers("m2")
    for body, status in (
        ({"sdp": "hello"}, 400),
        ({"sdp": sdp, "type": "answer"}, 400),
        ({"sdp": "v=0\r\n" + "a" * 40_000}, 422),  # the offer's bound, 32 KiB
        ({"sdp": sdp, "extra": 1}, 400),
    ):
        response = await service.client.post(url, headers=member, json=body)
        assert response.status_code == status, (body, response.text)
    not_joined = await service.client.post(url, headers=member, json={"sdp": sdp})
    assert not_joined.status_code == 409
    assert not_joined.json()["error"].startswith("You have not joined the meeting's sound and picture")
    assert not await audit_entries(service.context, "media.renegotiated")


def test_what_an_offer_sends_is_read_from_its_sections() -> None:
    audio = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n"
    video = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na={}\r\n"
    head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
    assert sent_kinds(head + audio + video.format("recvonly")) == ("audio",)
    assert sent_kinds(head + audio + video.format("sendrecv")) == ("audio", "video")
    assert sent_kinds(head + audio.replace("sendrecv", "inactive") + video.format("sendonly")) == ("video",)
    assert sent_kinds(head + audio.replace(" 9 ", " 0 ") + "m=application 9 UDP/DTLS/SCTP x\r\n") == ()


async def test_a_closed_meeting_admits_only_the_body(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    await migration.upgrade(context.db.engine)
    app = create_app(settings, context=context, background_jobs=False)
    app.state.media = bridge = MediaBridge(context.db, FAST)
    board = await make_board(context, clock, public=False)
    await make_user(context, "ulkopuolinen")
    url = f"/api/meetings/{board.meeting_id}/media/offer"
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        member = await api_login(client, "m2")
        not_yet = await client.post(url, headers=member, json={"sdp": "v=0\r\n"})
        assert not_yet.status_code == 409  # called, not yet opened
        later = await client.post(
            url.replace("/offer", "/renegotiate"), headers=member, json={"sdp": "v=0\r\n"}
        )
        assert (later.status_code, later.json()["error"]) == (409, not_yet.json()["error"])
        await hold(context, clock, board)
        assert (await client.post(url, json={"sdp": "v=0\r\n"})).status_code == 401
        outsider = await api_login(client, "ulkopuolinen")
        refused = await client.post(url, headers=outsider, json={"sdp": "v=0\r\n"})
        assert refused.status_code == 403
        assert "not public" in refused.json()["error"]
        assert [e.actor for e in await audit_entries(context, "access.denied")][-1:] == [
            f"user:{(await _user_id(context, 'ulkopuolinen'))}"
        ]
    await bridge.close()
    await context.db.dispose()


async def test_a_confirmation_outlives_a_restart_of_the_hub(service: Service) -> None:
    """R-EMEET-6: who has confirmed for a closed item is read from the audit log, so a restarted process (or
    another serving process) does not send a confirmed member back to the waiting room."""
    board = service.board
    m2 = board.members[1]
    headers = await service.headers("m2")
    state_url = f"/api/meetings/{board.meeting_id}/media"
    closed = board.items[1]
    await service.act(do_take_up_item, item=await _item(service, closed), actor=board.actor(board.chair))
    before = (await service.client.get(state_url, headers=headers)).json()
    assert (before["must_attest"], before["waiting"]) == (True, True)
    confirmed = await service.client.post(f"{state_url}/attest", headers=headers)
    assert confirmed.json() == {"item": closed}
    again = await service.client.post(f"{state_url}/attest", headers=headers)
    assert again.status_code == 200
    entries = await audit_entries(service.context, "media.attested")
    assert [(e.actor, e.subject) for e in entries] == [(f"user:{m2}", f"item:{closed}")]  # once, idempotent
    await service.bridge.close()
    service.app.state.media = restarted = MediaBridge(service.context.db, FAST)
    try:
        after = (await service.client.get(state_url, headers=headers)).json()
        assert (after["must_attest"], after["waiting"]) == (False, False)
    finally:
        await restarted.close()
        service.app.state.media = service.bridge


async def test_the_configured_stun_and_turn_servers_reach_only_those_who_may_join(service: Service) -> None:
    """The issue's "STUN/TURN servers configurable": KOKOUS_MEDIA_ICE_SERVERS and the TURN credentials are
    handed to a page that may join (a member, the public of a public item), never to one that is refused."""
    urls = ("stun:stun.kunta.fi:3478", "turn:turn.kunta.fi:3478?transport=udp")
    configured = replace(FAST, ice_servers=urls, turn_username="kokous", turn_password="salainen")
    service.app.state.media = bridge = MediaBridge(service.context.db, configured)
    state_url = f"/api/meetings/{service.board.meeting_id}/media"
    expected = [
        {"urls": urls[0]},
        {"urls": urls[1], "username": "kokous", "credential": "salainen"},
    ]
    try:
        member = (await service.client.get(state_url, headers=await service.headers("m2"))).json()
        assert (member["role"], member["ice_servers"]) == ("participant", expected)
        assert (await service.client.get(state_url)).json()["ice_servers"] == expected  # the public
        board = service.board
        await service.act(
            do_take_up_item, item=await _item(service, board.items[1]), actor=board.actor(board.chair)
        )
        refused = (await service.client.get(state_url)).json()
        assert (refused["role"], refused["ice_servers"]) == (None, [])  # a closed item: no TURN password
    finally:
        await bridge.close()
        service.app.state.media = service.bridge


async def _user_id(context: AppContext, username: str) -> int:
    from sqlalchemy import select

    from auth.models import User

    async with context.db.read() as session:
        return int((await session.execute(select(User.id).where(User.username == username))).scalar_one())


# Real peers.


@pytest.mark.media
async def test_members_join_the_floor_drives_the_hub_and_presence_follows_the_media(
    service: Service, inside: Namespace
) -> None:
    board, bridge = service.board, service.bridge
    chair_id, m2, m3 = board.chair, board.members[1], board.members[2]
    chair, speaker, listener = (
        Member("chair", frequency=440.0),
        Member("m2", frequency=660.0),
        Member("m3", frequency=880.0),
    )
    viewer = Member("public", listen_only=True)
    peers = [chair, speaker, listener, viewer]
    try:
        await service.join(chair, await service.headers("m1"))
        await service.join(speaker, await service.headers("m2"))
        await service.join(listener, headers_m3 := await service.headers("m3"))
        public = await service.join(viewer)
        assert public["role"] == "public"
        assert public["peer"].startswith("public-")

        # Media came: each member is recorded as arriving electronically (R-EMEET-3).
        async def arrived() -> bool:
            present, _, remote = await service.seating()
            return {chair_id, m2, m3} <= present and {chair_id, m2, m3} <= set(remote)

        await until(arrived)
        joined = await audit_entries(service.context, "media.joined")
        assert [(e.actor, e.subject) for e in joined] == [
            (f"user:{p}", f"meeting:{board.meeting_id}") for p in (chair_id, m2, m3)
        ]
        room = bridge.hub.room(str(board.meeting_id))
        assert room.stats().audible == {str(chair_id)}  # nobody has the floor: the chair is heard

        # The floor drives the media: the chair grants m2 the floor, and the listener hears m2.
        item = board.items[0]
        async with service.context.db.write() as session:
            meeting, agenda_item = await meeting_of(session, board), await item_of(session, item)
            await do_take_up_item(session, meeting=meeting, item=agenda_item, actor=board.actor(chair_id))
            request = await do_request_floor(
                session, meeting=meeting, item=agenda_item, user_id=m2, kind="speech", actor=f"user:{m2}"
            )
            await do_grant_floor(session, meeting=meeting, request=request, actor=board.actor(chair_id))
        await bridge.settled()
        assert room.stats().audible == {str(chair_id), str(m2)}
        assert room.stats().video == str(m2) or room.stats().video is None  # m2 sends no picture
        await hears(listener, {440.0, 660.0})

        # m2 drops: after the loss time they are disconnected at this item, and quorum is recomputed at once.
        with inside.cut(speaker.port()):

            async def dropped() -> bool:
                return m2 in (await service.seating())[1]

            await until(dropped)
        lost = await audit_entries(service.context, "disconnection.recorded")
        assert [(e.actor, e.subject) for e in lost] == [("system:media", f"meeting:{board.meeting_id}")]
        assert f'"item":{item}' in lost[0].data
        (drop,) = await audit_entries(service.context, "media.lost")
        assert f'"person":"user:{m2}"' in drop.data
        assert '"last_seen":"' in drop.data
        async with service.context.db.read() as session:
            log = [e.type for e in await events_after(session, board.meeting_id, 0)]
        assert log[log.index("attendance.disconnected") + 1] == "quorum.changed"
        async with service.context.db.read() as session:
            events = await events_after(session, board.meeting_id, 0)
        after_drop = events[log.index("attendance.disconnected") + 1]
        assert m2 not in after_drop.data["counted"]  # R-QUORUM-3: the disconnected do not count
        assert after_drop.item_id == item

        # The connection returns: presence is restored and recorded (with hysteresis).
        async def back() -> bool:
            return m2 not in (await service.seating())[1]

        await until(back)
        assert len(await audit_entries(service.context, "reconnection.recorded")) == 1

        # The chair gives the floor to m3: m2's speech ends, and m2, back, hears m3 and the chair.
        async with service.context.db.write() as session:
            meeting, agenda_item = await meeting_of(session, board), await item_of(session, item)
            request = await do_request_floor(
                session, meeting=meeting, item=agenda_item, user_id=m3, kind="speech", actor=f"user:{m3}"
            )
            await do_grant_floor(session, meeting=meeting, request=request, actor=board.actor(chair_id))
        await bridge.settled()
        assert room.stats().audible == {str(chair_id), str(m3)}
        await hears(speaker, {440.0, 880.0})

        # m3 hangs up: left, and disconnected until they join again.
        left = await service.client.post(
            f"/api/meetings/{board.meeting_id}/media/leave", headers=headers_m3, json={}
        )
        assert left.json() == {"left": True}
        assert m3 in (await service.seating())[1]
        assert [e.actor for e in await audit_entries(service.context, "media.left")] == [f"user:{m3}"]
        # Another worker (no event reaches this process) ends the floor: the room still follows.
        other = Database(service.context.db.engine, clock=service.clock)
        async with other.write() as session:
            meeting, agenda_item = await meeting_of(session, board), await item_of(session, item)
            await do_end_floor(session, meeting=meeting, item=agenda_item, actor=board.actor(chair_id))

        async def chair_alone() -> bool:
            return room.stats().audible == {str(chair_id)}

        await until(chair_alone, 3.0)
    finally:
        for peer in peers:
            await peer.close()


async def _item(service: Service, item_id: int) -> object:
    async with service.context.db.read() as session:
        return await item_of(session, item_id)


@pytest.mark.media
async def test_a_closed_item_stops_the_public_waits_for_confirmations_and_keeps_the_disqualified_out(
    service: Service, inside: Namespace
) -> None:
    board, bridge = service.board, service.bridge
    chair_id, m2, m3 = board.chair, board.members[1], board.members[2]
    chair, member, recused = Member("chair", frequency=440.0), Member("m2"), Member("m3")
    viewer = Member("public", listen_only=True)
    peers = [chair, member, recused, viewer]
    headers = {p: await service.headers(name) for p, name in ((chair_id, "m1"), (m2, "m2"), (m3, "m3"))}
    state_url = f"/api/meetings/{board.meeting_id}/media"
    try:
        await service.join(chair, headers[chair_id])
        await service.join(member, headers[m2])
        await service.join(recused, headers[m3])
        await service.join(viewer)
        room = bridge.hub.room(str(board.meeting_id))
        public = next(p.peer_id for p in room.stats().peers if p.role is Role.PUBLIC)

        # The closed item is taken up (out of the agenda's order), and m3 is found disqualified in it.
        closed = board.items[1]
        await service.act(do_take_up_item, item=await _item(service, closed), actor=board.actor(chair_id))
        stats = room.stats()
        assert stats.public_stream is False  # R-EMEET-6: the public hears nothing of it
        assert all(stats.peer(str(p)).waiting for p in (chair_id, m2, m3))  # nobody has confirmed yet
        late = Member("late", listen_only=True)
        peers.append(late)
        refused = await service.client.post(service.offer_url(), json={"sdp": await late.offer()})
        assert refused.status_code == 409
        assert (
            refused.json()["error"] == "A closed item is being handled: the public stream resumes after it."
        )
        await service.act(
            do_record_recusal,
            item=await _item(service, closed),
            user_id=m3,
            ground="party",
            decided_by_body=True,
            actor=board.actor(chair_id),
        )
        mine = (await service.client.get(state_url, headers=headers[m2])).json()
        assert (mine["must_attest"], mine["waiting"], mine["closed_item"]) == (True, True, closed)

        # Each participant confirms that nobody outside can see or hear, and comes in; m3 stays out.
        for person in (chair_id, m2, m3):
            confirmed = await service.client.post(f"{state_url}/attest", headers=headers[person])
            assert confirmed.json() == {"item": closed}
        stats = room.stats()
        assert not stats.peer(str(chair_id)).waiting
        assert not stats.peer(str(m2)).waiting
        assert stats.peer(str(m3)).waiting  # R-DISQ-3: disqualified, in the waiting room
        attested = await audit_entries(service.context, "media.attested")
        assert {(e.actor, e.subject) for e in attested} == {
            (f"user:{p}", f"item:{closed}") for p in (chair_id, m2, m3)
        }
        everyone = (await service.client.get(state_url, headers=headers[chair_id])).json()["peers"]
        assert {(p["peer"], p["waiting"], p["attested"]) for p in everyone} == {
            (str(chair_id), False, True),
            (str(m2), False, True),
            (str(m3), True, True),
        }

        # The item is decided and the next, public, item taken up: the public and m3 are back.
        await service.act(do_close_discussion, item=await _item(service, closed), actor=board.actor(chair_id))
        await service.act(
            do_decide_without_vote, item=await _item(service, closed), actor=board.actor(chair_id)
        )
        opened = board.items[0]
        await service.act(do_take_up_item, item=await _item(service, opened), actor=board.actor(chair_id))
        stats = room.stats()
        assert stats.public_stream is True
        assert not any(p.waiting for p in stats.peers)
        assert public in {p.peer_id for p in stats.peers}
        left = await service.client.post(f"{state_url}/leave", json={"peer": public})
        assert left.json() == {"left": True}
        assert not await audit_entries(service.context, "media.left")  # the public is not audited

        # The meeting closes: so does its room, and everyone's connection with it.
        await service.act(do_close_meeting, actor=board.actor(chair_id))
        assert str(board.meeting_id) not in bridge.hub.rooms()
    finally:
        for peer in peers:
            await peer.close()


def nearest(
    colours: list[tuple[int, int, int]], *choices: tuple[int, int, int]
) -> tuple[int, int, int] | None:
    """The choice closest to the mean colour seen (None if no picture came)."""
    if not colours:
        return None
    mean = [sum(c[i] for c in colours) / len(colours) for i in range(3)]
    return min(choices, key=lambda choice: sum((m - c) ** 2 for m, c in zip(mean, choice, strict=True)))


async def sees(member: Member, colour: tuple[int, int, int], *choices: tuple[int, int, int]) -> None:
    """Wait until the member's last half second of pictures is nearest to `colour`."""
    seen = None
    async with asyncio.timeout(WAIT_SECONDS):
        while seen != colour:
            await asyncio.sleep(0.25)
            seen = nearest(member.received.colours_since(time.monotonic() - 0.5), *choices)


@pytest.mark.media
async def test_a_roll_call_shows_each_member_in_turn_and_then_the_floor_holder_again(
    service: Service, inside: Namespace
) -> None:
    """R-EMEET-1(1): during a roll call everyone sees (and hears) the member called instead of the floor
    holder; when it ends the floor holder's picture is back. In a closed item the public sees none of it
    (R-EMEET-6)."""
    board, bridge = service.board, service.bridge
    chair_id, m2, m3, m4 = board.chair, *board.members[1:4]
    red, green, blue = (220, 30, 30), (30, 200, 30), (30, 30, 220)
    colours = (red, green, blue)
    chair = Member("chair", frequency=440.0, colour=red)
    speaker = Member("m2", frequency=660.0, colour=green)
    called = Member("m3", frequency=880.0, colour=blue)
    listener, viewer = Member("m4"), Member("public", listen_only=True)
    peers = [chair, speaker, called, listener, viewer]
    headers = {
        p: await service.headers(name) for p, name in ((chair_id, "m1"), (m2, "m2"), (m3, "m3"), (m4, "m4"))
    }
    roll_call = f"/api/meetings/{board.meeting_id}/live/roll-call"
    try:
        for member, person in ((chair, chair_id), (speaker, m2), (called, m3), (listener, m4)):
            await service.join(member, headers[person])
        await service.join(viewer)

        async def arrived() -> bool:
            present, _, remote = await service.seating()
            return {chair_id, m2, m3, m4} <= present and {chair_id, m2, m3, m4} <= set(remote)

        await until(arrived)
        item = board.items[0]
        async with service.context.db.write() as session:
            meeting, agenda_item = await meeting_of(session, board), await item_of(session, item)
            await do_take_up_item(session, meeting=meeting, item=agenda_item, actor=board.actor(chair_id))
            request = await do_request_floor(
                session, meeting=meeting, item=agenda_item, user_id=m2, kind="speech", actor=f"user:{m2}"
            )
            await do_grant_floor(session, meeting=meeting, request=request, actor=board.actor(chair_id))
        await bridge.settled()
        await sees(listener, green, *colours)

        # The chair starts the roll call and marks people until m3 is called: everyone sees m3's picture.
        started = await service.client.post(roll_call, headers=headers[chair_id])
        assert started.status_code == 201, started.text
        current = started.json()["current"]
        while current != m3:
            marked = await service.client.post(
                f"{roll_call}/marks",
                headers=headers[chair_id],
                json={"person": current, "outcome": "identified"},
            )
            current = marked.json()["current"]
        await bridge.settled()
        room = bridge.hub.room(str(board.meeting_id))
        assert room.stats().video == str(m3)
        assert str(m3) in room.stats().audible  # heard too, to answer
        await sees(listener, blue, *colours)
        await sees(viewer, blue, *colours)  # a public item: the public sees the roll call

        # The chair ends it: the floor holder is seen again.
        ended = await service.client.post(f"{roll_call}/end", headers=headers[chair_id])
        assert ended.json()["ended"] is True
        await bridge.settled()
        assert room.stats().video == str(m2)
        await sees(listener, green, *colours)

        # A closed item: everyone confirms, and a roll call there reaches the participants, not the public.
        await service.act(do_end_floor, item=await _item(service, item), actor=board.actor(chair_id))
        await service.act(do_close_discussion, item=await _item(service, item), actor=board.actor(chair_id))
        await service.act(
            do_decide_without_vote, item=await _item(service, item), actor=board.actor(chair_id)
        )
        closed = board.items[1]
        await service.act(do_take_up_item, item=await _item(service, closed), actor=board.actor(chair_id))
        for person in (chair_id, m2, m3, m4):
            confirmed = await service.client.post(
                f"/api/meetings/{board.meeting_id}/media/attest", headers=headers[person]
            )
            assert confirmed.status_code == 200
        assert (await service.client.post(roll_call, headers=headers[chair_id])).status_code == 201
        await bridge.settled()
        assert room.stats().video == str(chair_id)  # the first called, by name
        quiet = time.monotonic() + 0.5  # what was on its way when the stream stopped
        await sees(listener, red, *colours)  # back from the waiting room, the chair's picture resumes
        assert viewer.received.colours_since(quiet) == []
        assert room.stats().public_stream is False
    finally:
        for peer in peers:
            await peer.close()


@contextlib.asynccontextmanager
async def serving(service: Service) -> AsyncIterator[str]:
    """The service's app behind a real server in the namespace (the peers and the hub share its event loop),
    for a real WebSocket client: the meeting's WebSocket URL."""
    import uvicorn

    config = uvicorn.Config(
        service.app, host="127.0.0.1", port=SERVER_PORT, lifespan="off", log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    fanout = service.app.state.live
    await fanout.start()
    running = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not server.started:  # noqa: ASYNC110 - uvicorn signals nothing else
                await asyncio.sleep(0.05)
        yield f"ws://127.0.0.1:{SERVER_PORT}/ws/meetings/{service.board.meeting_id}"
    finally:
        server.should_exit = True
        await running
        await fanout.stop()


async def signal(socket: Any, message: dict[str, Any]) -> dict[str, Any]:
    """Send a media message; the media reply (snapshots, events and pings are skipped)."""
    await socket.send(json.dumps(message))
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            reply: dict[str, Any] = json.loads(await socket.recv())
            if reply["kind"].startswith("media."):
                return reply


@pytest.mark.media
async def test_members_and_the_public_join_over_the_meeting_s_websocket(
    service: Service, inside: Namespace
) -> None:
    """The issue's signalling over the meeting's WebSocket: the same admission and audit as the HTTP route,
    the answer to the same socket; a closed item refuses the public there too (R-EMEET-5/6)."""
    import websockets

    board = service.board
    m2 = board.members[1]
    member, viewer, late = Member("m2", frequency=660.0), Member("public", listen_only=True), Member("late")
    try:
        async with serving(service) as url:
            headers = await service.headers("m2")
            async with websockets.connect(url, origin=BASE_URL, additional_headers=headers) as socket:  # type: ignore[arg-type]
                answer = await signal(socket, {"kind": "media.offer", "sdp": await member.offer(), "id": 7})
                assert (answer["kind"], answer["id"], answer["role"], answer["peer"]) == (
                    "media.answer",
                    7,
                    "participant",
                    str(m2),
                )
                await member.accept(answer["sdp"])
                await member.connected()

                async def arrived() -> bool:
                    present, _, remote = await service.seating()
                    return m2 in present and m2 in remote

                await until(arrived)
                joined = await audit_entries(service.context, "media.joined")
                assert [(e.actor, e.subject) for e in joined] == [
                    (f"user:{m2}", f"meeting:{board.meeting_id}")
                ]
                # A bounded offer that is no offer: answered with the route's status, the socket stays open.
                bad = await signal(socket, {"kind": "media.offer", "sdp": "v=0\r\n" + "a" * 40_000, "id": 8})
                assert (bad["kind"], bad["id"], bad["status"]) == ("media.error", 0, 400)
                useless = await signal(socket, {"kind": "media.offer", "sdp": "hello", "id": 9})
                assert (useless["id"], useless["status"]) == (9, 400)
                assert useless["message"] == fi(NOT_AN_OFFER)  # in the person's language: Finnish by default
            async with websockets.connect(url, origin=BASE_URL) as socket:
                public = await signal(socket, {"kind": "media.offer", "sdp": await viewer.offer()})
                assert public["role"] == "public"
                await viewer.accept(public["sdp"])
                await viewer.connected()
            room = service.bridge.hub.room(str(board.meeting_id))
            assert {p.peer_id for p in room.stats().peers} == {str(m2), public["peer"]}
            await service.act(
                do_take_up_item, item=await _item(service, board.items[1]), actor=board.actor(board.chair)
            )
            finnish = {"accept-language": "fi"}
            async with websockets.connect(url, origin=BASE_URL, additional_headers=finnish) as socket:
                refused = await signal(socket, {"kind": "media.offer", "sdp": await late.offer(), "id": 1})
                assert (refused["status"], refused["id"]) == (409, 1)
                assert refused["message"] == fi(CLOSED_NOW)
        assert len(await audit_entries(service.context, "media.joined")) == 1  # the public is not audited
    finally:
        for peer in (member, viewer, late):
            await peer.close()


@pytest.mark.media
async def test_a_member_who_joined_with_sound_only_turns_the_camera_on_and_is_seen_with_the_floor(
    service: Service, inside: Namespace
) -> None:
    """Renegotiation: m2 joins without a camera, is given the floor (heard, no picture), turns the camera on
    on the same connection (`POST …/media/renegotiate`), and everyone sees them. The change is audited with
    what m2 now sends; offering the same again (over the meeting's WebSocket) is only counted, and the count
    is written when m2 hangs up."""
    import websockets

    board, bridge = service.board, service.bridge
    chair_id, m2, m3 = board.chair, board.members[1], board.members[2]
    red, green = (220, 30, 30), (30, 200, 30)
    chair, speaker, listener = Member("chair", frequency=440.0, colour=red), Member("m2"), Member("m3")
    headers = {p: await service.headers(name) for p, name in ((chair_id, "m1"), (m2, "m2"), (m3, "m3"))}
    media_url = f"/api/meetings/{board.meeting_id}/media"
    try:
        for member, person in ((chair, chair_id), (speaker, m2), (listener, m3)):
            await service.join(member, headers[person])

        async def arrived() -> bool:  # their first media records them present, as the others' tests wait for
            present, _, remote = await service.seating()
            return {chair_id, m2, m3} <= present and {chair_id, m2, m3} <= set(remote)

        await until(arrived)
        async with service.context.db.write() as session:
            meeting, agenda_item = await meeting_of(session, board), await item_of(session, board.items[0])
            await do_take_up_item(session, meeting=meeting, item=agenda_item, actor=board.actor(chair_id))
            request = await do_request_floor(
                session, meeting=meeting, item=agenda_item, user_id=m2, kind="speech", actor=f"user:{m2}"
            )
            await do_grant_floor(session, meeting=meeting, request=request, actor=board.actor(chair_id))
        await bridge.settled()
        room = bridge.hub.room(str(board.meeting_id))
        assert room.stats().video == str(m2)
        quiet = time.monotonic() + 0.5
        await asyncio.sleep(1.0)
        assert listener.received.colours_since(quiet) == []  # m2 has the floor but sends no picture

        speaker.pc.addTrack(ColourTrack(green))  # the camera turned on, on the same connection
        answer = await service.client.post(
            f"{media_url}/renegotiate", headers=headers[m2], json={"sdp": await speaker.offer()}
        )
        assert answer.status_code == 200, answer.text
        assert (answer.json()["peer"], answer.json()["role"]) == (str(m2), "participant")
        await speaker.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.json()["sdp"], type="answer"))
        await sees(listener, green, red, green)
        await sees(chair, green, red, green)
        assert {p.peer_id for p in room.stats().peers} == {str(chair_id), str(m2), str(m3)}  # the same peer

        (joined,) = [
            e for e in await audit_entries(service.context, "media.joined") if e.actor == f"user:{m2}"
        ]
        assert json.loads(joined.data)["sends"] == ["audio"]
        (changed,) = await audit_entries(service.context, "media.renegotiated")
        assert (changed.actor, changed.subject) == (f"user:{m2}", f"meeting:{board.meeting_id}")
        assert json.loads(changed.data) == {
            "person": f"user:{m2}",
            "role": "participant",
            "sends": ["audio", "video"],
        }

        async with serving(service) as url:
            async with websockets.connect(url, origin=BASE_URL, additional_headers=headers[m2]) as socket:  # type: ignore[arg-type]
                again = await signal(
                    socket, {"kind": "media.renegotiate", "sdp": await speaker.offer(), "id": 4}
                )
                assert (again["kind"], again["id"], again["peer"]) == ("media.answer", 4, str(m2))
                await speaker.pc.setRemoteDescription(RTCSessionDescription(sdp=again["sdp"], type="answer"))
            await sees(listener, green, red, green)
        assert len(await audit_entries(service.context, "media.renegotiated")) == 1  # nothing changed
        left = await service.client.post(f"{media_url}/leave", headers=headers[m2], json={})
        assert left.json() == {"left": True}
        (gone,) = await audit_entries(service.context, "media.left")
        assert json.loads(gone.data)["unchanged"] == 1
    finally:
        for peer in (chair, speaker, listener):
            await peer.close()
