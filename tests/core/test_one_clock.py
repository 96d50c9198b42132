"""Time enters through core.clock alone (decision 0008): no package reads the wall clock by itself.

Monotonic timers (`time.monotonic`, `time.perf_counter`, the event loop's `loop.time()`) measure durations,
not dates, and are allowed. Migrations run once at deployment, not under a test's clock: a data migration may
stamp rows with the moment it runs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "audit", "auth", "meetings", "minutes", "media", "web", "bench")
WALL_CLOCK = re.compile(
    r"\b(?:datetime\.(?:now|utcnow|today)|date\.today|time\.time(?:_ns)?|time\.localtime)\("
)
THE_CLOCK = ROOT / "core" / "clock.py"


def test_only_core_clock_reads_the_wall_clock() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != THE_CLOCK
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WALL_CLOCK.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "read the time from the injected clock (core.clock) instead:\n" + "\n".join(found)


def test_the_guard_sees_what_it_looks_for() -> None:
    for call in ("datetime.now(UTC)", "datetime.utcnow()", "date.today()", "time.time()", "time.time_ns()"):
        assert WALL_CLOCK.search(f"x = {call}"), call
    for allowed in ("time.monotonic()", "time.perf_counter()", "loop.time()", "clock.now()"):
        assert not WALL_CLOCK.search(f"x = {allowed}"), allowed
