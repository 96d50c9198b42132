"""Runs every benchmark (or those named in KOKOUS_BENCH_ONLY) and prints one report."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
import traceback
from collections.abc import Awaitable, Callable

from bench import (
    agenda_pages,
    audit_append,
    audit_verify,
    denials,
    login_storm,
    media,
    media_soak,
    minutes,
    vote_storm,
)
from bench import procedure as procedure_bench
from bench.report import Section, render

Benchmark = Callable[[], Awaitable[list[Section]]]


async def _login() -> list[Section]:
    return [await login_storm.run()]


async def _verify() -> list[Section]:
    return [await audit_verify.run()]


async def _agenda() -> list[Section]:
    return [await agenda_pages.run()]


async def _denials() -> list[Section]:
    return [await denials.run()]


async def _minutes() -> list[Section]:
    return [await minutes.run()]


async def _procedure() -> list[Section]:
    return [await procedure_bench.run()]


BENCHMARKS: dict[str, Benchmark] = {
    "login": _login,
    "append": audit_append.run,
    "verify": _verify,
    "agenda": _agenda,
    "denials": _denials,
    "minutes": _minutes,
    "procedure": _procedure,
    "media": media.run,
    "media-soak": media_soak.run,
    "votes": vote_storm.run,
}


def selected() -> list[str]:
    wanted = [n.strip() for n in os.environ.get("KOKOUS_BENCH_ONLY", "").split(",") if n.strip()]
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(
            f"KOKOUS_BENCH_ONLY names unknown benchmarks: {sorted(unknown)}; choose from {sorted(BENCHMARKS)}"
        )
    return wanted or list(BENCHMARKS)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Kokous benchmarks: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load} at start. Ratios are value / baseline, both measured in this run."
    )


async def run_one(name: str) -> tuple[list[Section], bool]:
    """The benchmark's sections and whether it ran to the end without breaking an invariant."""
    started = time.perf_counter()
    try:
        sections = await BENCHMARKS[name]()
    except Exception:
        print(f"== {name}: crashed\n{traceback.format_exc()}", flush=True)
        return [], False
    for section in sections:
        print(render(section) + "\n", flush=True)
    print(f"   ({name} took {time.perf_counter() - started:.0f} s)\n", flush=True)
    return sections, all(not s.failures for s in sections)


async def main() -> int:
    print(machine() + "\n", flush=True)
    started = time.perf_counter()
    results = [await run_one(name) for name in selected()]
    missed = [t.description for sections, _ in results for s in sections for t in s.targets if not t.met]
    print(f"== Summary ({time.perf_counter() - started:.0f} s in all)")
    print("\n".join(f"  target not met: {m}" for m in missed) or "  every target met")
    broken = not all(ok for _, ok in results)
    print("  invariants: BROKEN (see FAILED or crashed above)" if broken else "  invariants: all held")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
