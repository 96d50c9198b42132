"""The media hub alone in its process, driven over a Unix socket, for the media benchmark and the soak.

Run as `python -m bench.media_hub SOCKET` inside the benchmark's network namespace. One JSON object per
line each way: {"op": "join", "peer", "sdp"} -> {"sdp"}; {"op": "floor", "peers", "video"};
{"op": "stats"} -> this process's CPU seconds, RSS, event-loop lag and the room's queues;
{"op": "profile", "path"} starts cProfile in this process and, asked again, writes what it saw to `path`
(for finding where the hub's time goes: `python -m bench.media_profile`).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import time
from dataclasses import replace
from typing import Any

from bench.report import percentile
from core.clock import system_clock
from core.config import MediaSettings
from media import Hub, Room

LAG_INTERVAL = 0.05
ROOM = "bench"


class LagProbe:
    """How late the event loop wakes a 50 ms sleep: the delay every other task sees too."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            self.samples.append(loop.time() - started - LAG_INTERVAL)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def stats(room: Room, lag: LagProbe) -> dict[str, Any]:
    times = os.times()
    samples, lag.samples = lag.samples, []
    room_stats = room.stats()
    return {
        "cpu": times.user + times.system,
        "wall": time.monotonic(),
        "rss": rss_bytes(),
        "lag_p50": percentile(samples, 0.5),
        "lag_p99": percentile(samples, 0.99),
        "peers": len(room_stats.peers),
        "connected": sum(p.connection == "connected" for p in room_stats.peers),
        "queued": sum(p.queued_bytes for p in room_stats.peers),
        "max_queued": max((p.queued_bytes for p in room_stats.peers), default=0),
        "decoded": sum(p.audio_frames_decoded + p.video_frames_decoded for p in room_stats.peers),
        # Packets handed to the subscribers' senders so far: the work done, whatever the CPU it got.
        "sent": sum(p.audio_out.sent + p.video_out.sent for p in room.peers.values()),
    }


PROFILER: list[cProfile.Profile] = []


def profile(path: str) -> dict[str, Any]:
    if not PROFILER:
        PROFILER.append(cProfile.Profile())
        PROFILER[0].enable()
        return {"profiling": True}
    profiler = PROFILER.pop()
    profiler.disable()
    profiler.dump_stats(path)
    return {"profiling": False}


async def answer(room: Room, lag: LagProbe, request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "profile":
        return profile(request["path"])
    if op == "join":
        return {"sdp": await room.join(request["peer"], request["sdp"])}
    if op == "floor":
        room.set_floor(request["peers"], video=request["video"])
        return {}
    if op == "stats":
        return stats(room, lag)
    raise ValueError(f"unknown op {op!r}")


async def serve(path: str) -> None:
    hub = Hub(replace(MediaSettings(), heartbeat_seconds=2.0), clock=system_clock)
    room = hub.room(ROOM)
    lag = LagProbe()
    probe = asyncio.ensure_future(lag.run())

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            reply = await answer(room, lag, json.loads(line))
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(client, path=path, limit=1 << 20)
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        probe.cancel()
        await hub.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
