"""A few seconds of generated sound and picture, written as the hub writes a recording (WebM: VP8 and Opus),
for the demo's past public meeting: its recordings page then has something to play without the demo having
held a meeting with cameras. The picture is a coloured field with a bar crossing it, the sound a quiet tone.
"""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np

RATE, WIDTH, HEIGHT, FPS = 48_000, 320, 240, 15
SAMPLES = 960  # 20 ms, Opus's frame


def write_clip(path: Path, *, seconds: int = 3, hue: int = 0) -> None:
    """Write a short WebM to `path` (its folder is made); about 40 kB for three seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"deadline": "realtime", "cpu-used": "8"}
        video.bit_rate = 200_000
        audio = out.add_stream("libopus", rate=RATE)
        for n in range(seconds * FPS):
            picture = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
            picture[:, :] = ((hue + 60) % 256, 90, (160 + n) % 256)
            left = n * 7 % (WIDTH - 24)
            picture[HEIGHT // 2 - 20 : HEIGHT // 2 + 20, left : left + 24] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = n, fractions.Fraction(1, FPS)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(seconds * RATE) / RATE)
        pcm = (tone * 32767).astype(np.int16)
        for n in range(seconds * RATE // SAMPLES):
            sound = av.AudioFrame.from_ndarray(
                pcm[n * SAMPLES : (n + 1) * SAMPLES].reshape(1, -1), format="s16", layout="mono"
            )
            sound.sample_rate, sound.pts = RATE, n * SAMPLES
            sound.time_base = fractions.Fraction(1, RATE)
            for packet in audio.encode(sound):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
