"""Where the media hub's time goes at 85 members: `python -m bench.media_profile [MEMBERS] [SECONDS]`.

Runs the benchmark's room (bench/media_run.py) with the floor holder's audio and video to everyone and
everyone's audio upstream, profiles the hub process with cProfile for SECONDS after the warm-up, and prints
the functions with the most time of their own and with the most time below them. Not part of `make bench`:
cProfile slows the hub, so its figures are shares, not costs.
"""

from __future__ import annotations

import asyncio
import os
import pstats
import sys
import tempfile
from pathlib import Path

from bench.media import WARM_SECONDS
from bench.media_run import bench_room
from tests.media.netns import Namespace


async def main(members: int, seconds: float) -> None:
    namespace = Namespace.create(f"kokous-prof-{os.getpid()}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "hub.prof")
            async with bench_room(namespace) as room:
                await room.add_members(members, speaking=True)
                await room.ask({"op": "floor", "peers": ["m000", "m001"], "video": "m000"})
                await asyncio.sleep(WARM_SECONDS)
                first = await room.sample()
                await room.ask({"op": "profile", "path": path})
                await asyncio.sleep(seconds)
                await room.ask({"op": "profile", "path": path})
                last = await room.sample()
                await room.finish_members()
            share = (last.cpu - first.cpu) / (last.wall - first.wall)
            print(f"hub CPU while profiled: {100 * share:.1f} % core")
            stats = pstats.Stats(path)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
    finally:
        namespace.remove()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    asyncio.run(
        main(int(arguments[0]) if arguments else 85, float(arguments[1]) if len(arguments) > 1 else 20)
    )
