"""One benchmark room: the hub process and the member processes in a network namespace, and their figures."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.media.netns import Namespace

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 120.0
PROBES = 3
# Members per process: past this, one process's event loop would be the bottleneck, not the hub.
MEMBERS_PER_PROCESS = 22


@dataclass(frozen=True, slots=True)
class Sample:
    cpu: float  # CPU seconds the hub process used so far
    wall: float
    rss: int
    lag_p99: float
    max_queued: int  # bytes waiting in one subscriber's socket, the most of any
    connected: int  # peers whose connection the hub sees up
    sent: int  # packets handed to the subscribers' senders so far

    @classmethod
    def of(cls, stats: dict[str, Any]) -> Sample:
        return cls(
            stats["cpu"],
            stats["wall"],
            stats["rss"],
            stats["lag_p99"],
            stats["max_queued"],
            stats["connected"],
            stats["sent"],
        )


def cpu_share(first: Sample, last: Sample) -> float:
    """The hub's CPU use between two samples, as a share of one core."""
    return (last.cpu - first.cpu) / (last.wall - first.wall)


async def _line(stream: asyncio.StreamReader | None, what: str) -> bytes:
    assert stream is not None
    async with asyncio.timeout(START_SECONDS):
        line = await stream.readline()
    if not line:
        raise RuntimeError(f"{what} ended before it was ready")
    return line


class BenchRoom:
    """The hub process, its members and the control line to the hub."""

    def __init__(self, namespace: Namespace, socket: Path) -> None:
        self.namespace, self.socket = namespace, socket
        self.hub: asyncio.subprocess.Process | None = None
        self.members: list[asyncio.subprocess.Process] = []
        self._control: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def _spawn(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.namespace.command(sys.executable, "-m", *args),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    async def start_hub(self) -> None:
        self.hub = await self._spawn("bench.media_hub", str(self.socket))
        await _line(self.hub.stdout, "the hub process")
        self._control = await asyncio.open_unix_connection(str(self.socket), limit=1 << 20)

    async def add_members(self, count: int, *, speaking: bool) -> None:
        """Start `count` members in processes of at most MEMBERS_PER_PROCESS; the first speaks when asked."""
        first = 0
        while first < count:
            size = min(MEMBERS_PER_PROCESS, count - first)
            extra = ["--speaker", "--probes", str(min(PROBES, size - 1))] if speaking and first == 0 else []
            args = ("bench.media_members", str(self.socket), str(first), str(size), *extra)
            process = await self._spawn(*args)
            self.members.append(process)
            await _line(process.stdout, "a member process")
            first += size

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._control is not None
        reader, writer = self._control
        writer.write(json.dumps(request).encode() + b"\n")
        reply: dict[str, Any] = json.loads(await reader.readline())
        return reply

    async def sample(self) -> Sample:
        return Sample.of(await self.ask({"op": "stats"}))

    def members_cpu(self) -> float:
        """CPU seconds the member processes used so far (`ip netns exec` execs, so the pid is Python's)."""
        ticks = 0
        for process in self.members:
            with open(f"/proc/{process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    async def finish_members(self) -> list[dict[str, Any]]:
        """End the members; each reports its probes' latencies and how many were still connected."""
        reports = []
        for process in self.members:
            assert process.stdin is not None
            process.stdin.close()
            reports.append(json.loads(await _line(process.stdout, "a member process")))
            await process.wait()
        self.members = []
        return reports

    async def stop(self) -> None:
        for process in [*self.members, *([self.hub] if self.hub else [])]:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if self._control is not None:
            self._control[1].close()


@asynccontextmanager
async def bench_room(namespace: Namespace) -> AsyncIterator[BenchRoom]:
    with tempfile.TemporaryDirectory() as folder:
        room = BenchRoom(namespace, Path(folder) / "hub.sock")
        try:
            await room.start_hub()
            yield room
        finally:
            await room.stop()
