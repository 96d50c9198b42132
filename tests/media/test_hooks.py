"""Each aiortc internal the hub uses (media/hooks.py), shown to do its job with real peers, and the version
pin that guards them."""

from __future__ import annotations

import asyncio
import time

import aiortc
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from core.clock import system_clock
from media import Hub, PresenceEvent, Room
from media.hooks import SRTP_SYNC_EVERY, ArrivalScreen, set_receiving
from tests.media.client import ColourTrack, Member
from tests.media.conftest import TEST_MEDIA, Joiner
from tests.media.netns import Namespace
from tests.media.test_hub import nearest


def test_the_hub_refuses_an_aiortc_it_was_not_tested_with(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(RuntimeError, match=r"tested with aiortc 1\.16\.0, not 1\.17\.0"):
        Hub(TEST_MEDIA, clock=system_clock)


def test_a_receiver_without_the_flag_is_refused() -> None:
    with pytest.raises(RuntimeError, match="_enabled"):
        set_receiving(object(), False)  # type: ignore[arg-type]


@pytest.mark.media
async def test_aiortc_switches_receivers_back_on_at_every_negotiation(inside: Namespace) -> None:
    """Why the hub must switch receivers off again after every negotiation."""
    client, server = (RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2))
    try:
        client.addTransceiver("audio")
        await client.setLocalDescription(await client.createOffer())
        await server.setRemoteDescription(client.localDescription)
        (transceiver,) = server.getTransceivers()
        set_receiving(transceiver.receiver, False)
        await server.setLocalDescription(await server.createAnswer())
        assert transceiver.receiver._enabled is True
    finally:
        await client.close()
        await server.close()


@pytest.mark.media
async def test_receivers_stay_off_for_a_member_without_the_floor_after_renegotiation(
    room: Room, join: Joiner
) -> None:
    await join(Member("chair", frequency=440.0))
    member = await join(Member("member", frequency=660.0))
    room.set_floor({"chair"}, video="chair")

    # The member turns the camera on: a new offer on the same connection.
    member.pc.addTrack(ColourTrack((0, 200, 0)))
    await member.pc.setLocalDescription(await member.pc.createOffer())
    answer = await room.renegotiate("member", member.pc.localDescription.sdp)
    await member.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.sleep(1.0)

    peer = room.peers["member"]
    assert [t.receiver._enabled for t in peer.pc.getTransceivers()] == [False, False]
    assert room.stats().peer("member").audio_frames_decoded == 0
    assert room.stats().peer("member").video_frames_decoded == 0

    room.set_floor({"chair", "member"}, video="member")
    await asyncio.sleep(1.0)
    assert room.stats().peer("member").audio_frames_decoded > 0
    assert room.stats().peer("member").video_frames_decoded > 0


@pytest.mark.media
async def test_a_picture_loss_report_reaches_the_shared_encoder(room: Room, join: Joiner) -> None:
    await join(Member("chair", frequency=440.0, colour=(200, 200, 0)))
    watcher = await join(Member("watcher", frequency=660.0))
    room.set_floor({"chair"}, video="chair")
    await asyncio.sleep(1.0)
    video = next(t.receiver for t in watcher.pc.getTransceivers() if t.kind == "video")
    (ssrc,) = {s.ssrc for s in (await video.getStats()).values() if s.type == "inbound-rtp"}
    before = room.stats()

    await video._send_rtcp_pli(ssrc)  # what a browser sends when it lost a picture
    await asyncio.sleep(TEST_MEDIA.min_keyframe_gap_seconds + 0.3)

    after = room.stats()
    assert after.keyframe_requests > before.keyframe_requests
    assert after.keyframes > before.keyframes


def _datagrams(room: Room, peer_id: str) -> int:
    """What reached the peer's DTLS transport (aiortc counts each datagram it is handed)."""
    (transport,) = {t.receiver.transport for t in room.peers[peer_id].pc.getTransceivers()}
    (stats,) = transport._get_stats().values()
    return int(stats.packetsReceived)


@pytest.mark.media
async def test_the_rtp_of_a_member_without_the_floor_is_dropped_on_arrival_and_it_stays_present(
    room: Room, join: Joiner, presence: list[PresenceEvent]
) -> None:
    """hooks.screen_arrivals: 50 audio packets a second reach aiortc from the floor holder, next to none from
    a member without the floor, whose signs of life (RTCP reports, the heartbeat) still count."""
    await join(Member("chair", frequency=440.0))
    await join(Member("member", frequency=660.0))
    room.set_floor({"chair"}, video=None)
    await asyncio.sleep(0.5)
    before = {p: _datagrams(room, p) for p in ("chair", "member")}
    await asyncio.sleep(2.0)
    arrived = {p: _datagrams(room, p) - before[p] for p in before}
    assert arrived["chair"] >= 80  # the floor holder's audio: 100 packets in 2 s, RTCP besides
    assert arrived["member"] <= 15  # RTCP and the data channel only
    assert room.stats().peer("member").present is True
    assert ("member", False) not in {(e.peer_id, e.present) for e in presence}

    room.set_floor({"chair", "member"}, video=None)  # given the floor: its RTP passes again
    await asyncio.sleep(1.0)
    assert room.stats().peer("member").audio_frames_decoded > 0


def test_the_screen_passes_dtls_rtcp_and_one_dropped_rtp_packet_in_sixty_four() -> None:
    """Every arrival is a sign of life; RTCP (reports) and DTLS (the data channel) always pass; RTP passes
    when wanted, and otherwise one packet in SRTP_SYNC_EVERY, so that SRTP's index estimate never sees a
    gap of 2^15 packets (a member silent for eleven minutes could not be decrypted any more)."""
    passed: list[bytes] = []
    arrivals: list[int] = []
    wanted = [False]
    screen = ArrivalScreen(lambda data, _: passed.append(data), lambda: wanted[0], lambda: arrivals.append(1))
    rtp, rtcp, dtls = bytes([0x80, 111, 0, 1]), bytes([0x80, 200, 0, 6]), bytes([23, 254, 253])
    for _ in range(3 * SRTP_SYNC_EVERY):
        screen(rtp, 1)
    screen(rtcp, 1)
    screen(dtls, 1)
    assert passed == [rtp, rtp, rtp, rtcp, dtls]
    assert len(arrivals) == 3 * SRTP_SYNC_EVERY + 2
    wanted[0] = True
    screen(rtp, 1)
    assert passed[-1] == rtp
    assert len(passed) == 6


@pytest.mark.media
async def test_a_picture_switched_back_on_after_a_long_pause_resumes_at_once(
    room: Room, join: Joiner
) -> None:
    """A receiver switched off drops what arrives. Switched on again after more packets than the sender keeps
    for retransmission (128), the hole would hold aiortc's jitter buffer until 512 packets had passed (half
    a minute of a still picture): a roll call's member shown again after the waiting room stayed dark. The
    hub starts the buffer afresh, and the first frame that cannot be decoded asks for a keyframe."""
    red, blue = (220, 30, 30), (30, 30, 220)
    sender = await join(Member("red", frequency=440.0, colour=red))
    await join(Member("blue", frequency=660.0, colour=blue))
    watcher = await join(Member("watcher", frequency=880.0))
    room.set_floor({"red"}, video="red")
    await _sees(watcher, red, red, blue)
    room.set_video("blue")
    await _sees(watcher, blue, red, blue)
    before = await _video_packets(sender)
    await asyncio.sleep(10.0)  # red keeps sending a still picture, some 15 packets a second, none read
    assert await _video_packets(sender) - before > 128  # more than the sender keeps for retransmission
    decoded = room.stats().peer("red").video_frames_decoded
    room.set_video("red")
    await _sees(watcher, red, red, blue)  # without a fresh buffer: some 25 s more
    assert room.stats().peer("red").video_frames_decoded > decoded


async def _sees(
    member: Member, colour: tuple[int, int, int], *choices: tuple[int, int, int], seconds: float = 5.0
) -> None:
    seen = None
    async with asyncio.timeout(seconds):
        while seen != colour:
            await asyncio.sleep(0.25)
            colours = member.received.colours_since(time.monotonic() - 0.5)
            seen = nearest(colours, *choices)


async def _video_packets(member: Member) -> int:
    """The video packets the member has sent so far (its sender's statistics)."""
    total = 0
    for transceiver in member.pc.getTransceivers():
        if transceiver.kind == "video":
            stats = (await transceiver.sender.getStats()).values()
            total += sum(s.packetsSent for s in stats if s.type == "outbound-rtp")
    return total


def _prefer(member: Member, kind: str, first: str) -> None:
    """Put a codec first in the member's offer, as Safari puts H.264 first."""
    (transceiver,) = [t for t in member.pc.getTransceivers() if t.kind == kind]
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    transceiver.setCodecPreferences(sorted(codecs, key=lambda c: c.mimeType.lower() != first))


@pytest.mark.media
async def test_an_offer_that_puts_h264_first_is_answered_with_vp8_and_the_picture_arrives(
    room: Room, join: Joiner
) -> None:
    """hooks.keep_hub_codecs: the hub sends the VP8 it encodes, so it must not answer with H.264."""
    await join(Member("chair", frequency=440.0, colour=(0, 0, 220)))
    watcher = Member("watcher", frequency=660.0)
    _prefer(watcher, "video", "video/h264")
    offer = await watcher.offer()
    first_payload_type = offer.split("m=video")[1].splitlines()[0].split()[2]
    assert f"a=rtpmap:{first_payload_type} H264/90000" in offer
    answer = await room.join("watcher", offer)
    video_section = answer.split("m=video")[1]
    assert "VP8/90000" in video_section
    assert "H264" not in video_section
    await watcher.accept(answer)
    await watcher.connected()
    room.set_floor({"chair"}, video="chair")
    shown = time.monotonic()
    async with asyncio.timeout(5.0):  # the first keyframe, however loaded the machine
        while len(watcher.received.colours_since(shown)) < 5:  # noqa: ASYNC110 - frames arrive on their own
            await asyncio.sleep(0.1)
    assert nearest(watcher.received.colours_since(shown), (0, 0, 220), (220, 0, 0)) == (0, 0, 220)


@pytest.mark.media
async def test_an_offer_without_the_hubs_codecs_is_refused(room: Room, join: Joiner) -> None:
    member = Member("member", frequency=440.0)
    (video,) = [t for t in member.pc.getTransceivers() if t.kind == "video"]
    codecs = RTCRtpSender.getCapabilities("video").codecs
    video.setCodecPreferences([c for c in codecs if "H264" in c.mimeType])
    try:
        with pytest.raises(ValueError, match="video/vp8"):
            await room.join("member", await member.offer())
        assert "member" not in room.peers
        # Refused before it touches a connection: a member already in the room keeps theirs.
        await join(Member("other", frequency=660.0))
        with pytest.raises(ValueError, match="video/vp8"):
            await room.renegotiate("other", member.pc.localDescription.sdp)
        assert room.peers["other"].pc.signalingState == "stable"
    finally:
        await member.close()


@pytest.mark.media
async def test_the_senders_reports_count_the_packets_the_hub_wrote(room: Room, join: Joiner) -> None:
    """hooks.take_over_sending: aiortc's RTCP task reports (SR) what the hub's own send path wrote, so a
    browser can line sound up with picture and its statistics are right."""
    await join(Member("chair", frequency=440.0, colour=(200, 0, 0)))
    listener = await join(Member("listener", frequency=660.0))
    room.set_floor({"chair"}, video="chair")
    await asyncio.sleep(3.0)
    for transceiver in listener.pc.getTransceivers():
        stats = list((await transceiver.receiver.getStats()).values())
        (received,) = [s.packetsReceived for s in stats if s.type == "inbound-rtp"]
        (reported,) = [s.packetsSent for s in stats if s.type == "remote-outbound-rtp"]
        assert received > 0, transceiver.kind
        # A report is sent every 0.5-1.5 s: it counts what was sent up to then.
        assert 0 < reported <= received + 5, (transceiver.kind, reported, received)
        assert reported >= received / 4, (transceiver.kind, reported, received)
