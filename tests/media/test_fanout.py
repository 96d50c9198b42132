"""The hub's own send path (media/fanout.py): each frame packed once, then written as each subscriber's RTP
packets, byte for byte what aiortc's sender would write, with video starting at a keyframe and lost packets
sent again."""

from __future__ import annotations

from fractions import Fraction

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx
from av.packet import Packet

from media.fanout import HISTORY, SOCKET_BACKLOG, Encoded, Outgoing, Vp8Packer, pack_audio
from media.hooks import _extension_template

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def extensions(**ids: int) -> HeaderExtensionsMap:
    uris = {"mid": MID, "abs_send_time": ABS_SEND_TIME}
    made = HeaderExtensionsMap()
    chosen = [RTCRtpHeaderExtensionParameters(id=i, uri=uris[k]) for k, i in ids.items()]
    made.configure(RTCRtpParameters(headerExtensions=chosen))
    return made


class Link:
    """Stands for media.hooks.RtpLink: records the packets instead of encrypting and sending them."""

    def __init__(self, extension_map: HeaderExtensionsMap, mid: str = "1", *, rtx: int | None = None) -> None:
        self.extension_map = extension_map
        self.payload_type, self.rtx_payload_type = 96, rtx
        self.ssrc, self.rtx_ssrc = 0x11223344, 0x55667788
        self._head, self._tail, self._stamped = _extension_template(extension_map, mid)
        self.packets: list[bytes] = []
        self.reports: list[tuple[int, int, int, int]] = []
        self.up = True
        self.buffered = 0

    @property
    def first_byte(self) -> int:
        return 0x90 if self._head else 0x80

    def extension(self, abs_send_time: bytes) -> bytes:
        return self._head + abs_send_time + self._tail if self._stamped else self._head

    def sending(self) -> bool:
        return self.up

    def send(self, packet: bytes) -> None:
        self.packets.append(packet)

    def backlog(self) -> int:
        return self.buffered

    def sent(self, ntp: int, timestamp: int, packets: int, octets: int) -> None:
        self.reports.append((ntp, timestamp, packets, octets))

    def parsed(self) -> list[RtpPacket]:
        return [RtpPacket.parse(p, self.extension_map) for p in self.packets]


class Requests:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def frame(timestamp: int, *payloads: bytes, keyframe: bool = True) -> Encoded:
    size = sum(map(len, payloads))
    return Encoded(payloads, timestamp, keyframe, 0x0123456789ABCDEF, b"\x0a\x0b\x0c", size)


def attached(kind: str, link: Link, requests: Requests | None = None) -> Outgoing:
    out = Outgoing(kind, want_keyframe=requests or Requests())
    out.attach(link)  # type: ignore[arg-type] - the stand-in has RtpLink's shape
    return out


def test_the_packets_are_what_aiortc_would_serialise() -> None:
    for ids in ({"mid": 1, "abs_send_time": 3}, {"abs_send_time": 14, "mid": 2}, {"mid": 4}, {}):
        link = Link(extensions(**ids), mid="video0")
        out = attached("audio", link)
        out.send(frame(960, b"first", b"second"))
        out.send(frame(1920, b"third"))
        sequence = RtpPacket.parse(link.packets[0], link.extension_map).sequence_number
        origin = RtpPacket.parse(link.packets[0], link.extension_map).timestamp - 960
        expected = []
        for number, (timestamp, payload, marker) in enumerate(
            [(960, b"first", 0), (960, b"second", 1), (1920, b"third", 1)]
        ):
            packet = RtpPacket(
                payload_type=96,
                marker=marker,
                sequence_number=(sequence + number) & 0xFFFF,
                timestamp=(origin + timestamp) & 0xFFFFFFFF,
                ssrc=link.ssrc,
                payload=payload,
            )
            packet.extensions.mid = "video0"
            packet.extensions.abs_send_time = 0x0A0B0C
            expected.append(packet.serialize(link.extension_map))
        assert link.packets == expected, ids


def test_each_subscriber_numbers_its_own_packets_and_reports_what_it_sent() -> None:
    links = [Link(extensions(mid=1, abs_send_time=2)) for _ in range(2)]
    outs = [attached("audio", link) for link in links]
    shared = frame(960, b"voice")
    for out in outs:
        out.send(shared)
        out.send(frame(1920, b"more"))
    for link, out in zip(links, outs, strict=True):
        first, second = link.parsed()
        assert second.sequence_number == (first.sequence_number + 1) & 0xFFFF
        assert second.timestamp - first.timestamp == 960
        assert link.reports[-1] == (0x0123456789ABCDEF, second.timestamp, 1, 4)
        assert out.sent == 2
    # Random starts (RFC 3550): two subscribers do not share sequence numbers and timestamps.
    a, b = (link.parsed()[0] for link in links)
    assert (a.sequence_number, a.timestamp) != (b.sequence_number, b.timestamp)


def test_video_starts_at_a_keyframe_and_again_at_one_after_the_socket_backs_up() -> None:
    requests = Requests()
    link = Link(extensions(mid=1))
    out = attached("video", link, requests)
    assert requests.count == 1  # a new subscriber asks for a keyframe
    out.send(frame(0, b"delta", keyframe=False))
    out.send(frame(3000, b"key", keyframe=True))
    out.send(frame(6000, b"delta", keyframe=False))
    link.buffered = SOCKET_BACKLOG + 1
    out.send(frame(9000, b"lost", keyframe=False))
    link.buffered = 0
    out.send(frame(12000, b"skipped", keyframe=False))
    out.send(frame(15000, b"key again", keyframe=True))
    assert [p.payload for p in link.parsed()] == [b"key", b"delta", b"key again"]
    assert (out.dropped, requests.count) == (3, 2)


def test_nothing_is_sent_before_the_sender_starts_or_while_the_connection_is_down() -> None:
    out = Outgoing("audio", want_keyframe=Requests())
    out.send(frame(960, b"early"))  # not attached yet
    link = Link(extensions(mid=1))
    out.attach(link)  # type: ignore[arg-type]
    link.up = False
    out.send(frame(1920, b"down"))
    link.up = True
    out.send(frame(2880, b"up"))
    assert [p.payload for p in link.parsed()] == [b"up"]
    out.detach(link)  # type: ignore[arg-type]
    out.send(frame(3840, b"gone"))
    assert len(link.packets) == 1


def test_a_lost_video_packet_is_sent_again_as_it_was_or_in_rtx() -> None:
    for rtx in (None, 97):
        link = Link(extensions(mid=1, abs_send_time=2), rtx=rtx)
        out = attached("video", link)
        out.send(frame(3000, b"part one", b"part two"))
        original = link.parsed()[1]
        out.retransmit(original.sequence_number)
        out.retransmit((original.sequence_number + 5) & 0xFFFF)  # never sent: ignored
        assert len(link.packets) == 3
        again = RtpPacket.parse(link.packets[2], link.extension_map)
        if rtx is None:
            assert link.packets[2] == link.packets[1]
        else:
            assert (again.payload_type, again.ssrc) == (97, link.rtx_ssrc)
            restored = unwrap_rtx(again, payload_type=96, ssrc=link.ssrc)
            assert restored.serialize(link.extension_map) == link.packets[1]


def test_only_the_last_packets_are_kept_for_retransmission() -> None:
    link = Link(extensions(mid=1))
    out = attached("video", link)
    for number in range(HISTORY + 1):
        out.send(frame(3000 * number, bytes([number])))
    first = link.parsed()[0].sequence_number
    out.retransmit(first)  # overwritten by the packet HISTORY later
    out.retransmit((first + HISTORY) & 0xFFFF)
    assert link.packets[-1] == link.packets[HISTORY]


def test_audio_is_not_kept_for_retransmission() -> None:
    link = Link(extensions(mid=1))
    out = attached("audio", link)
    out.send(frame(960, b"voice"))
    out.retransmit(link.parsed()[0].sequence_number)
    assert len(link.packets) == 1


def test_frames_are_packed_once_with_the_codec_clock() -> None:
    audio = Packet(b"opus")
    audio.pts, audio.time_base = 4800, Fraction(1, 48_000)
    packed = pack_audio(audio)
    assert (packed.payloads, packed.timestamp, packed.size) == ((b"opus",), 4800, 4)

    video = Packet(b"x" * 3000)
    video.pts, video.time_base = 1, Fraction(1, 30)  # converted to VP8's 90 kHz
    packer = Vp8Packer()
    first, second = packer.pack(video, keyframe=True), packer.pack(video, keyframe=False)
    assert first.timestamp == 3000
    assert first.keyframe
    assert not second.keyframe
    assert len(first.payloads) == 3  # split to fit a datagram, each with VP8's payload descriptor
    assert first.size == sum(len(p) for p in first.payloads)
    # The picture id (in the descriptor's last two bytes) counts the frames.
    picture = int.from_bytes(first.payloads[0][2:4], "big") & 0x7FFF
    assert int.from_bytes(second.payloads[0][2:4], "big") & 0x7FFF == (picture + 1) % (1 << 15)
