"""The mix: every audible voice for everyone, and each audible peer's own voice left out of its mix."""

from __future__ import annotations

import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.codec.context import CodecContext

from media.audio import FRAME_SAMPLES, MAX_CHUNKS, Mixer, Voice
from tests.media.sound import tone, tones_in

A, B, C = 440.0, 660.0, 880.0


def stereo_frame(frequency: float, start: int) -> AudioFrame:
    """A frame as aiortc's Opus decoder gives it: 16-bit interleaved stereo at 48 kHz."""
    mono = tone(frequency, start, FRAME_SAMPLES)
    frame = AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48_000
    return frame


def run(mixer: Mixer, voices: dict[str, float], ticks: int) -> dict[str | None, np.ndarray]:
    """Feed each voice its tone and mix `ticks` times; decode every stream's packets."""
    decoders: dict[str | None, CodecContext] = {}
    resamplers: dict[str | None, AudioResampler] = {}
    out: dict[str | None, list[np.ndarray]] = {}
    for tick in range(ticks):
        for peer_id, frequency in voices.items():
            mixer.push(peer_id, stereo_frame(frequency, tick * FRAME_SAMPLES))
        for key, packet in mixer.mix(tick * FRAME_SAMPLES).items():
            decoder = decoders.setdefault(key, CodecContext.create("libopus", "r"))
            resampler = resamplers.setdefault(key, AudioResampler(format="s16", layout="mono", rate=48_000))
            for frame in decoder.decode(packet):
                for mono in resampler.resample(frame):
                    out.setdefault(key, []).append(mono.to_ndarray().reshape(-1))
    return {key: np.concatenate(parts)[-24_000:] for key, parts in out.items()}


def test_everyone_hears_all_audible_voices_and_each_of_them_hears_the_others() -> None:
    mixer = Mixer(32_000)
    mixer.set_audible({"chair", "speaker"})
    streams = run(mixer, {"chair": A, "speaker": B, "member": C}, ticks=50)
    assert tones_in(streams[None]) == {A, B}
    assert tones_in(streams["chair"]) == {B}
    assert tones_in(streams["speaker"]) == {A}
    assert set(streams) == {None, "chair", "speaker"}


def test_a_lone_speaker_hears_silence_and_the_stream_stays_continuous() -> None:
    mixer = Mixer(32_000)
    mixer.set_audible({"speaker"})
    packets = [mixer.mix(tick * FRAME_SAMPLES) for tick in range(5)]
    assert all(set(p) == {None, "speaker"} for p in packets)
    assert [p[None].pts for p in packets] == [tick * FRAME_SAMPLES for tick in range(5)]


def test_frames_of_peers_without_the_floor_are_dropped() -> None:
    mixer = Mixer(32_000)
    mixer.set_audible({"chair"})
    assert mixer.push("member", stereo_frame(A, 0)) is False
    assert mixer.push("chair", stereo_frame(A, 0)) is True


def test_a_voice_holds_at_most_a_bounded_delay() -> None:
    voice = Voice()
    assert voice.take() is None
    for tick in range(20):
        voice.push(stereo_frame(A, tick * FRAME_SAMPLES))
    assert voice.buffered == MAX_CHUNKS * FRAME_SAMPLES
    assert voice.take() is not None
