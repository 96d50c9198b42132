"""Fan-out: one event of a live meeting to 5,000 connected WebSocket clients (the in-memory backend).

A server process (the real app under uvicorn, run as `python -m bench.fanout serve ...`) holds a public
meeting; client processes (`python -m bench.fanout clients ...`) open the connections, half of them as the
public (who get a fresh public snapshot) and half as a member of the body (who get the event itself). The
parent then has the server commit one change (a member arrives) and measures, for every client, the time
from just before the commit to the message's arrival: time.monotonic() is one clock for every process of
the machine. The baseline is the same change delivered to a single client, in the same run; the server's
memory is read from /proc beside its memory with no client connected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench.report import Figure, Section, Target, percentile

CLIENTS = int(os.environ.get("KOKOUS_BENCH_FANOUT_CLIENTS", "5000"))
CLIENT_PROCESSES = 4
CONNECT_BATCH = 100
TARGET_P99_SECONDS = 1.0
TARGET_RSS_BYTES = 1 << 30
SETTLE_SECONDS = 10.0  # after the change, before the clients report (a late arrival still counts)
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # the meeting's clock (fixed: its day comes from it)
PASSWORD = "correct horse battery"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# ---- the server process ----------------------------------------------------------------------------


async def _serve(fd: int, data_dir: Path) -> None:
    import uvicorn

    from core.clock import FixedClock
    from core.config import TEST_PASSWORD_PROFILE, Settings
    from meetings.live.actions.attendance import do_record_arrival, do_record_departure
    from meetings.live.actions.items import do_take_up_item
    from tests.meetings.live.world import hold, item_of, make_board, meeting_of
    from web import migration
    from web.app import create_app
    from web.context import build_context
    from web.realtime.fanout import LiveFanOut
    from web.realtime.hub import Limits

    sock = socket.socket(fileno=fd)
    port = sock.getsockname()[1]
    settings = Settings(
        data_dir=data_dir,
        base_url=f"http://127.0.0.1:{port}",
        password_profile=TEST_PASSWORD_PROFILE,
        address_attempts_per_window=1_000_000,
        log_level="WARNING",
    )
    clock = FixedClock(START)
    context = build_context(settings, clock=clock)
    await migration.upgrade(context.db.engine)
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        for person in board.members[:3]:
            await do_record_arrival(session, meeting=meeting, user_id=person, remote=True, actor="user:s")
        item = await item_of(session, board.items[0])
        await do_take_up_item(session, meeting=meeting, item=item, actor=board.actor(board.chair))
    app = create_app(settings, context=context, clock=clock)
    live: LiveFanOut = app.state.live
    # Every bench client comes from 127.0.0.1, and all the members' connections are one person's.
    live.hub.limits = Limits(per_process=100_000, per_person=100_000, per_address=100_000)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # As `kokous serve` runs it (decision 0011); KOKOUS_BENCH_FANOUT_DEFLATE=1 measures compression on.
        ws_per_message_deflate=os.environ.get("KOKOUS_BENCH_FANOUT_DEFLATE", "0") == "1",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        await asyncio.sleep(0.05)
    print(json.dumps({"meeting": board.meeting_id, "port": port}), flush=True)
    loop = asyncio.get_running_loop()
    present = True
    profile_to = os.environ.get("KOKOUS_BENCH_FANOUT_PROFILE")  # a file for cProfile's stats of each change
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() != "event":
            continue
        if profile_to:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            loop.call_later(5.0, lambda p=profiler: (p.disable(), p.dump_stats(profile_to)))  # type: ignore[misc]
        async with context.db.write() as session:  # one change the public sees: m5 comes or goes
            meeting = await meeting_of(session, board)
            person = board.members[4]
            if present:
                await do_record_arrival(session, meeting=meeting, user_id=person, remote=True, actor="user:s")
            else:
                await do_record_departure(session, meeting=meeting, user_id=person, actor="user:s")
            present = not present
        print(json.dumps({"done": True}), flush=True)
    server.should_exit = True
    await serving


# ---- the client processes --------------------------------------------------------------------------


async def _clients(port: int, meeting: int, count: int, token: str | None) -> None:
    """Open `count` connections, say "ready", then time the first message after the line "go" on each;
    at the line "report" print the arrival times (time.monotonic()) and how many got nothing."""
    import websockets

    raise_fd_limit()
    url = f"ws://127.0.0.1:{port}/ws/meetings/{meeting}"
    origin = f"http://127.0.0.1:{port}"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    armed = asyncio.Event()
    arrivals: list[float] = []

    async def one() -> Any:
        ws = await websockets.connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=60,
            ping_interval=None,
            max_queue=64,
        )
        first = json.loads(await ws.recv())
        assert first["kind"] == "snapshot", first
        return ws

    async def listen(ws: Any) -> None:
        await armed.wait()
        while True:
            message = json.loads(await ws.recv())
            if message["kind"] in ("event", "snapshot"):
                arrivals.append(time.monotonic())
                return

    sockets: list[Any] = []
    for start in range(0, count, CONNECT_BATCH):
        sockets += await asyncio.gather(*(one() for _ in range(min(CONNECT_BATCH, count - start))))
    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "go":
            armed.set()
        elif line.strip() == "report":
            break
    for task in listeners:
        task.cancel()
    print(json.dumps({"arrivals": arrivals, "missing": count - len(arrivals)}), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# ---- the parent ------------------------------------------------------------------------------------


def _spawn(*args: str, fds: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bench.fanout", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=fds,
    )


def _line(stream: IO[str] | None) -> str:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("a benchmark process ended early")
    return line


def _tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


def _event(server: subprocess.Popen[str], clients: list[subprocess.Popen[str]]) -> float:
    for process in clients:
        _tell(process, "go")
    time.sleep(0.2)  # every listener is armed
    started = time.monotonic()
    _tell(server, "event")
    assert json.loads(_line(server.stdout))["done"]
    return started


def _delivery(
    server: subprocess.Popen[str], clients: list[subprocess.Popen[str]]
) -> tuple[list[list[float]], int, float]:
    """Each client's delivery time (by client process), how many got nothing, and the server's CPU time for
    the change."""
    cpu = cpu_seconds(server.pid)
    started = _event(server, clients)
    time.sleep(SETTLE_SECONDS)
    cpu = cpu_seconds(server.pid) - cpu
    latencies: list[list[float]] = []
    missing = 0
    for process in clients:
        _tell(process, "report")
        report = json.loads(_line(process.stdout))
        latencies.append([t - started for t in report["arrivals"]])
        missing += report["missing"]
        if report["missing"]:
            print(f"fanout: client process {process.pid}: {report['missing']} missing", file=sys.stderr)
    return latencies, missing, cpu


def _login(port: int) -> str:
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{port}/api/auth/login", json={"username": "m2", "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["tokens"]["access_token"]
    return token


def _measure(data_dir: Path) -> Section:
    raise_fd_limit()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    server = _spawn("serve", str(listener.fileno()), str(data_dir), fds=(listener.fileno(),))
    listener.close()
    processes = [server]
    try:
        started = json.loads(_line(server.stdout))
        port, meeting = str(started["port"]), str(started["meeting"])
        token = _login(int(port))
        time.sleep(1.0)
        idle_rss = rss_bytes(server.pid)

        # The baseline: the same change to a single client (a member), in this run.
        one = _spawn("clients", port, meeting, "1", token)
        processes.append(one)
        assert _line(one.stdout).strip() == "ready"
        (baseline,), _, baseline_cpu = _delivery(server, [one])
        one.wait(30)

        per_process = CLIENTS // CLIENT_PROCESSES
        clients = [
            _spawn("clients", port, meeting, str(per_process), token if n % 2 else "")
            for n in range(CLIENT_PROCESSES)
        ]
        processes += clients
        connecting = time.monotonic()
        for process in clients:
            assert _line(process.stdout).strip() == "ready"
        connect_seconds = time.monotonic() - connecting
        connected_rss = rss_bytes(server.pid)
        idle_cpu = cpu_seconds(server.pid)
        time.sleep(SETTLE_SECONDS)  # what the connections cost with nothing happening (pings, checks)
        idle_cpu = cpu_seconds(server.pid) - idle_cpu
        by_process, missing, cpu = _delivery(server, clients)
        peak_rss = rss_bytes(server.pid)
        for process in clients:
            process.wait(120)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:  # a server closing 5,000 sockets on a busy machine
                    process.kill()
                    process.wait(30)
    total = per_process * CLIENT_PROCESSES
    latencies = [t for times in by_process for t in times]
    public = [t for times in by_process[0::2] for t in times]
    members = [t for times in by_process[1::2] for t in times]
    p99 = percentile(latencies, 0.99)
    p50 = percentile(latencies, 0.50)
    rss = max(connected_rss, peak_rss)
    section = Section(
        f"Fan-out: one event to {total} WebSocket clients (half public, half a member), in-memory backend"
    )
    section.figures += [
        Figure("delivery p50", p50 * 1000, "ms", percentile(baseline, 0.5) * 1000, "to 1 client"),
        Figure("delivery p99", p99 * 1000, "ms", percentile(baseline, 0.99) * 1000, "to 1 client"),
        Figure("delivery max", max(latencies, default=float("nan")) * 1000, "ms"),
        Figure("delivery p99, the public (a snapshot)", percentile(public, 0.99) * 1000, "ms"),
        Figure("delivery p99, members (the event)", percentile(members, 0.99) * 1000, "ms"),
        Figure("server CPU, 10 s from the change", cpu * 1000, "ms", idle_cpu * 1000, "10 s, no change"),
        Figure("server CPU, 10 s from the change to 1 client", baseline_cpu * 1000, "ms"),
        Figure("server RSS with the clients", rss / 2**20, "MiB", idle_rss / 2**20, "with none"),
        Figure("server RSS per connection", (rss - idle_rss) / max(total, 1) / 1024, "KiB"),
        Figure("connecting them all", connect_seconds, "s"),
    ]
    section.targets += [
        Target(f"p99 delivery under {TARGET_P99_SECONDS:.0f} s", p99 < TARGET_P99_SECONDS),
        Target("server memory under 1 GiB", rss < TARGET_RSS_BYTES),
    ]
    if missing:
        section.failures.append(f"{missing} of {total} clients did not get the event")
    section.notes.append(
        "Delivery: from just before the commit to the message's arrival in a client process (4 processes "
        "of clients on the same 2 cores, so the figure includes their own reading). Server CPU: its user "
        f"and system time; with no change it pings and checks. Per-message deflate: "
        f"{'on' if os.environ.get('KOKOUS_BENCH_FANOUT_DEFLATE') == '1' else 'off, as kokous serve runs'}. "
        f"Load average {os.getloadavg()[0]:.1f} at the end."
    )
    return section


async def run() -> list[Section]:
    with tempfile.TemporaryDirectory(prefix="kokous-bench-fanout-") as tmp:
        return [await asyncio.to_thread(_measure, Path(tmp))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("fd", type=int)
    serve.add_argument("data_dir", type=Path)
    clients = commands.add_parser("clients")
    clients.add_argument("port", type=int)
    clients.add_argument("meeting", type=int)
    clients.add_argument("count", type=int)
    clients.add_argument("token", nargs="?", default="")
    args = parser.parse_args()
    raise_fd_limit()
    if args.command == "serve":
        asyncio.run(_serve(args.fd, args.data_dir))
    else:
        asyncio.run(_clients(args.port, args.meeting, args.count, args.token or None))


if __name__ == "__main__":
    main()
