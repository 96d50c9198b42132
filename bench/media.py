"""The media hub at 10, 30, 60 and 85 members: the floor holder's audio and video to everyone, everyone's
audio upstream. Hub CPU, memory and event-loop lag beside one idle member's, and mouth-to-ear latency."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from bench.media_run import Sample, bench_room, cpu_share
from bench.report import Figure, Section, Target, median, percentile
from tests.media.netns import Namespace, Unavailable

SIZES = (10, 30, 60, 85)
WARM_SECONDS = 5.0
MEASURE_SECONDS = 20.0
CPU_TARGET = 0.5  # of one core, at 85 members
LATENCY_TARGET = 0.250
STARVED_LAG = 0.100
HEARD = 0.9  # of the bursts, for the latency to count: a few heard through a collapsed run prove nothing
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Measured:
    members: int
    cpu: float
    members_cpu: float
    rss: int
    lag_p99: float
    latencies: list[float]
    bursts: int
    connected: int
    hub_connected: int
    sent_rate: float  # packets a second handed to the subscribers' senders

    @property
    def per_member_rate(self) -> float:
        return self.sent_rate / self.members

    def cpu_per_packet(self, idle: Measured) -> float:
        """CPU seconds per packet forwarded, beyond the idle member's: steady however starved the hub was."""
        return (self.cpu - idle.cpu) / self.sent_rate if self.sent_rate else 0.0


async def measure(namespace: Namespace, members: int, *, speaking: bool) -> Measured:
    async with bench_room(namespace) as room:
        await room.add_members(members, speaking=speaking)
        if speaking:
            await room.ask({"op": "floor", "peers": ["m000", "m001"], "video": "m000"})
        await asyncio.sleep(WARM_SECONDS)
        first, members_before = await room.sample(), room.members_cpu()
        await asyncio.sleep(MEASURE_SECONDS)
        last: Sample = await room.sample()
        members_cpu = (room.members_cpu() - members_before) / (last.wall - first.wall)
        reports = await room.finish_members()
    return Measured(
        members=members,
        cpu=cpu_share(first, last),
        members_cpu=members_cpu,
        rss=last.rss,
        lag_p99=last.lag_p99,
        latencies=[x for r in reports for x in r["latencies"]],
        bursts=sum(r["bursts"] for r in reports),
        connected=sum(r["connected"] for r in reports),
        hub_connected=last.connected,
        sent_rate=(last.sent - first.sent) / (last.wall - first.wall),
    )


def figures(run: Measured, idle: Measured, small: Measured) -> list[Figure]:
    n = run.members
    found = [
        Figure(f"hub CPU, {n} members", 100 * run.cpu, "% core", 100 * idle.cpu, "1 idle member"),
        Figure(f"member processes' CPU, {n} members", 100 * run.members_cpu, "% core"),
        Figure(
            f"packets forwarded per member a second, {n} members",
            run.per_member_rate,
            "/s",
            small.per_member_rate if small is not run else None,
            "10 members",
        ),
        Figure(
            f"hub CPU per 1000 packets forwarded, {n} members",
            1000 * 1000 * run.cpu_per_packet(idle),
            "ms",
            1000 * 1000 * small.cpu_per_packet(idle) if small is not run else None,
            "10 members",
        ),
        Figure(f"hub RSS, {n} members", run.rss / MB, "MB", idle.rss / MB, "1 idle member"),
        Figure(
            f"event-loop lag p99, {n} members", 1000 * run.lag_p99, "ms", 1000 * idle.lag_p99, "1 idle member"
        ),
    ]
    if run.latencies:
        base = median(small.latencies) * 1000 if small is not run else None
        found += [
            Figure(
                f"mouth-to-ear median, {n} members", 1000 * median(run.latencies), "ms", base, "10 members"
            ),
            Figure(f"mouth-to-ear p95, {n} members", 1000 * percentile(run.latencies, 0.95), "ms"),
            Figure(f"bursts heard by the probes, {n} members", 100 * len(run.latencies) / run.bursts, "%"),
        ]
    return found


def section(idle: Measured, runs: list[Measured]) -> Section:
    result = Section("Media hub: floor-controlled forwarding (audio + 320x240 video to all, audio from all)")
    for run in runs:
        result.figures += figures(run, idle, runs[0])
        if run.connected != run.members:
            result.failures.append(
                f"{run.members} members: only {run.connected} stayed connected "
                f"({run.hub_connected} as the hub saw it at the end of the measurement)"
            )
        if not run.latencies:
            result.failures.append(f"{run.members} members: no burst arrived at the probes")
    largest = runs[-1]
    per_member = (largest.cpu - idle.cpu) / (largest.members - 1)
    result.figures.append(Figure("hub CPU per extra member", 100 * per_member, "% core"))
    # A starved hub forwards fewer packets than it should and so uses less CPU than it would need: its demand
    # is its cost per packet times the packets of an unstarved run (10 members' rate per member).
    demand = idle.cpu + largest.cpu_per_packet(idle) * runs[0].per_member_rate * largest.members
    result.figures.append(
        Figure(
            f"hub CPU demand, {largest.members} members, at 10 members' packets per member",
            100 * demand,
            "% core",
            100 * idle.cpu,
            "1 idle member",
        )
    )
    # A hub whose loop runs this late, or whose members drop, did not get the CPU it wanted: its figure is the
    # share the machine gave it, not its demand, and cannot show the target.
    starved = largest.lag_p99 > STARVED_LAG or largest.hub_connected < largest.members
    if starved:
        result.notes.append(
            f"at {largest.members} members the hub was starved (loop lag p99 {largest.lag_p99 * 1000:.0f} "
            f"ms, {largest.hub_connected} connected): its CPU is the share it got, not its demand"
        )
    result.targets += [
        Target(
            f"{largest.members} members under {CPU_TARGET:.0%} of one core, not starved",
            largest.cpu < CPU_TARGET and not starved,
        ),
        Target(
            f"mouth-to-ear p95 under {LATENCY_TARGET * 1000:.0f} ms at {largest.members} members, "
            f"{HEARD:.0%} of the bursts heard",
            bool(largest.latencies)
            and percentile(largest.latencies, 0.95) < LATENCY_TARGET
            and len(largest.latencies) >= HEARD * largest.bursts,
        ),
    ]
    result.notes += [
        f"estimated demand at {largest.members} members {100 * demand:.1f} % of one core (the cost per "
        "packet, which holds on a loaded machine, times the packets an unstarved hub forwards)",
        f"each figure over {MEASURE_SECONDS:.0f} s after {WARM_SECONDS:.0f} s of warm-up; the hub runs in "
        "its own process, the members in others on the same cores (their load is not counted but competes)",
        "mouth-to-ear: a tone burst handed to the speaker's sender until it is decoded by a listening aiortc "
        "member, through two jitter buffers (hub and listener); to within one 20 ms frame",
    ]
    return result


async def run() -> list[Section]:
    try:
        namespace = Namespace.create(f"kokous-bench-{os.getpid()}")
    except Unavailable as error:
        return [Section("Media hub", notes=[f"not run: {error}"], failures=["no network namespace"])]
    try:
        idle = await measure(namespace, 1, speaking=False)
        runs = [await measure(namespace, n, speaking=True) for n in SIZES]
    finally:
        namespace.remove()
    return [section(idle, runs)]
