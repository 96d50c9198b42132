"""The media soak: 30 members for 10 minutes with the floor moving every 30 s; the hub's memory must stay
flat (no queue or decoder that grows). Reports the hub's RSS over time."""

from __future__ import annotations

import asyncio
import os

from bench.media_run import Sample, bench_room, cpu_share
from bench.report import Figure, Section, Target
from tests.media.netns import Namespace, Unavailable

MEMBERS = 30
SECONDS = 600.0
SAMPLE_SECONDS = 30.0
# Memory is compared from the end of the second sample on: the first minute fills caches and pools.
SETTLED_SAMPLE = 2
GROWTH_LIMIT_MB = 20.0
MB = 1024 * 1024


async def samples(namespace: Namespace, members: int, seconds: float) -> tuple[list[Sample], int]:
    """The hub's samples every SAMPLE_SECONDS, and how many members were still connected at the end."""
    found = []
    async with bench_room(namespace) as room:
        await room.add_members(members, speaking=True)
        for index in range(round(seconds / SAMPLE_SECONDS)):
            speaker = f"m{2 + index % (members - 2):03d}"
            await room.ask({"op": "floor", "peers": ["m000", speaker], "video": speaker})
            await asyncio.sleep(SAMPLE_SECONDS)
            found.append(await room.sample())
        reports = await room.finish_members()
    return found, sum(r["connected"] for r in reports)


def section(found: list[Sample], connected: int, members: int) -> Section:
    result = Section(f"Media soak: {members} members, {len(found) * SAMPLE_SECONDS / 60:.0f} minutes")
    settled = found[min(SETTLED_SAMPLE, len(found) - 1)]
    growth = (found[-1].rss - settled.rss) / MB
    for sample in found:
        minute = (sample.wall - found[0].wall + SAMPLE_SECONDS) / 60
        result.figures.append(
            Figure(f"hub RSS at {minute:.1f} min", sample.rss / MB, "MB", settled.rss / MB, "settled")
        )
    result.figures += [
        Figure("hub CPU over the soak", 100 * cpu_share(found[0], found[-1]), "% core"),
        Figure("most bytes waiting in a subscriber's socket at the end", found[-1].max_queued, "B"),
    ]
    flat = growth < GROWTH_LIMIT_MB
    result.targets.append(
        Target(f"RSS grows less than {GROWTH_LIMIT_MB:.0f} MB after settling ({growth:+.1f} MB)", flat)
    )
    if not flat:
        result.failures.append(f"the hub's memory grew by {growth:.1f} MB after settling")
    if connected != members:
        result.failures.append(f"only {connected} of {members} members stayed connected")
    result.notes.append("the floor moves every 30 s: each move switches decoders on and off")
    return result


async def soak(members: int = MEMBERS, seconds: float = SECONDS) -> Section:
    try:
        namespace = Namespace.create(f"kokous-soak-{os.getpid()}")
    except Unavailable as error:
        return Section("Media soak", notes=[f"not run: {error}"], failures=["no network namespace"])
    try:
        found, connected = await samples(namespace, members, seconds)
    finally:
        namespace.remove()
    return section(found, connected, members)


async def run() -> list[Section]:
    return [await soak()]
