"""Figures, sections and the text report: every figure carries the baseline it is compared with."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value, the baseline measured in the same run, and how to read their ratio."""

    label: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


@dataclass(frozen=True, slots=True)
class Target:
    """A goal and whether this run met it."""

    description: str
    met: bool


@dataclass(slots=True)
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A broken invariant (a failed login, a log that does not verify), not a slow figure.
    failures: list[str] = field(default_factory=list)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; `fraction` is in [0, 1]."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def _number(value: float, unit: str) -> str:
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def _figure_line(figure: Figure) -> str:
    line = f"  {figure.label:<48} {_number(figure.value, figure.unit):>16}"
    if figure.baseline is not None:
        base = _number(figure.baseline, figure.unit)
        line += f"   baseline {base:>14} ({figure.baseline_label})"
        if figure.ratio is not None:
            line += f"   ratio {figure.ratio:.2f}x"
    return line


def render(section: Section) -> str:
    lines = [f"== {section.title}"]
    lines += [_figure_line(f) for f in section.figures]
    lines += [f"  target: {t.description}: {'met' if t.met else 'NOT MET'}" for t in section.targets]
    lines += [f"  FAILED: {f}" for f in section.failures]
    lines += [f"  note: {n}" for n in section.notes]
    return "\n".join(lines)
