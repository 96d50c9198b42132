"""Test sounds: a sine tone per speaker, and finding which tones a stretch of received audio holds."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

RATE = 48_000
FRAME = 960
# Each speaker's tone; whole periods in 20 ms would not matter: phases run on across frames.
TONES = (440.0, 660.0, 880.0, 1100.0, 1320.0, 1540.0)

Samples = npt.NDArray[np.int16]


def tone(frequency: float, start: int, count: int, amplitude: int = 8000) -> Samples:
    t = (start + np.arange(count)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def level(samples: Samples, frequency: float) -> float:
    """The tone's amplitude in the samples (a Hann-windowed Fourier coefficient, in sample units)."""
    if len(samples) == 0:
        return 0.0
    window = np.hanning(len(samples))
    t = np.arange(len(samples)) / RATE
    coefficient = np.sum(samples * window * np.exp(-2j * np.pi * frequency * t))
    return float(2 * abs(coefficient) / np.sum(window))


def tones_in(samples: Samples, candidates: Iterable[float] = TONES, threshold: float = 1000.0) -> set[float]:
    """The candidate tones heard: amplitude above `threshold` (test tones are 8000, Opus keeps most)."""
    return {f for f in candidates if level(samples, f) > threshold}


def rms(samples: Samples) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
