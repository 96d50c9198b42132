"""Login storm: 100 concurrent password logins with production argon2, and /health latency meanwhile."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from auth.actions import do_create_user
from auth.passwords import default_concurrency
from bench.report import Figure, Section, Target, median, percentile
from bench.server import ATTEMPTS_PER_WINDOW, bench_settings
from web import migration
from web.context import build_context

ROOT = Path(__file__).resolve().parent.parent
USERS = 100
PASSWORD = "bench storm password"
WARM_USER = "bench-warm"
PROBE_INTERVAL = 0.02
QUIET_PROBES = 100
CPU_ONLY_HASHES = 15  # per thread; as many threads as the server hashes with
HASH_THREADS = bench_settings(ROOT, 0).hash_concurrency or default_concurrency()
STORM_PROBE_LIMIT = 6_000  # two minutes at 20 ms: the probe stops by itself even if the storm hangs
SINGLE_LOGINS = 5
HEALTH_TARGET = 0.050
REQUEST_TIMEOUT = 120.0
READY_ATTEMPTS = 300


@dataclass(frozen=True, slots=True)
class Probe:
    latencies: list[float]
    failures: int


@dataclass(frozen=True, slots=True)
class Login:
    latency: float
    status: int
    outcome: str


def user_names() -> list[str]:
    return [f"bench{i:03d}" for i in range(USERS)]


async def create_users(data_dir: Path) -> None:
    """Migrate the SQLite database and create the accounts, hashed with the production profile."""
    context = build_context(bench_settings(data_dir, 0))
    try:
        await migration.upgrade(context.db.engine)
        for name in [WARM_USER, *user_names()]:
            async with context.db.write() as session:
                await do_create_user(
                    session, username=name, display_name=name, password=PASSWORD, actor="bench"
                )
    finally:
        await context.db.dispose()


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """The app under uvicorn in a child process; terminated (and if need be killed) on exit."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    command = [sys.executable, "-m", "bench.server", "--fd", str(sock.fileno()), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, cwd=ROOT, pass_fds=[sock.fileno()])  # noqa: S603
    sock.close()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


async def wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(READY_ATTEMPTS):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the benchmark server did not become ready")


def probe_health(base_url: str, stop: threading.Event, limit: int) -> Probe:
    """GET /health every PROBE_INTERVAL (start to start) until `stop` is set or `limit` probes are done."""
    latencies: list[float] = []
    failures = 0
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        for _ in range(limit):
            if stop.is_set():
                break
            start = time.perf_counter()
            failures += client.get("/health").status_code != 200
            elapsed = time.perf_counter() - start
            latencies.append(elapsed)
            time.sleep(max(0.0, PROBE_INTERVAL - elapsed))
    return Probe(latencies, failures)


async def quiet_probe(base_url: str) -> Probe:
    return await asyncio.to_thread(probe_health, base_url, threading.Event(), QUIET_PROBES)


async def login(client: httpx.AsyncClient, username: str) -> Login:
    start = time.perf_counter()
    response = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    elapsed = time.perf_counter() - start
    outcome = response.json().get("status", "") if response.status_code == 200 else response.text[:120]
    return Login(elapsed, response.status_code, str(outcome))


async def single_logins(client: httpx.AsyncClient) -> list[Login]:
    return [await login(client, WARM_USER) for _ in range(SINGLE_LOGINS)]


async def storm(base_url: str, client: httpx.AsyncClient) -> tuple[list[Login], Probe, float]:
    """All logins at once while a probe thread watches /health; returns logins, probe and wall time."""
    stop = threading.Event()
    probe = asyncio.create_task(asyncio.to_thread(probe_health, base_url, stop, STORM_PROBE_LIMIT))
    start = time.perf_counter()
    try:
        logins = await asyncio.gather(*(login(client, name) for name in user_names()))
    finally:
        stop.set()
    wall = time.perf_counter() - start
    return list(logins), await probe, wall


async def cpu_only_probe(base_url: str) -> Probe:
    """/health while another process hashes like the storm does, with no login requests at all."""
    command = ["-m", "bench.cpuload", str(HASH_THREADS), str(CPU_ONLY_HASHES)]
    load = await asyncio.create_subprocess_exec(sys.executable, *command, cwd=ROOT)
    stop = threading.Event()
    probe = asyncio.create_task(asyncio.to_thread(probe_health, base_url, stop, STORM_PROBE_LIMIT))
    try:
        await asyncio.wait_for(load.wait(), REQUEST_TIMEOUT)
    finally:
        stop.set()
        if load.returncode is None:
            load.kill()
            await load.wait()
    return await probe


def ms(seconds: float) -> float:
    return seconds * 1000


def login_figures(logins: list[Login], single: list[Login]) -> list[Figure]:
    latencies = [x.latency for x in logins]
    base = ms(median([x.latency for x in single]))
    label = f"one login alone, median of {len(single)}"
    return [
        Figure("login latency p50 (100 concurrent)", ms(percentile(latencies, 0.5)), "ms", base, label),
        Figure("login latency p99 (100 concurrent)", ms(percentile(latencies, 0.99)), "ms", base, label),
    ]


def health_figures(during: Probe, quiet: list[float], cpu_only: Probe) -> list[Figure]:
    label = f"no storm, {len(quiet)} probes"
    return [
        Figure(
            f"/health p50 during storm ({len(during.latencies)} probes)",
            ms(percentile(during.latencies, 0.5)),
            "ms",
            ms(percentile(quiet, 0.5)),
            label,
        ),
        Figure(
            "/health p99 during storm",
            ms(percentile(during.latencies, 0.99)),
            "ms",
            ms(percentile(quiet, 0.99)),
            label,
        ),
        Figure("/health max during storm", ms(max(during.latencies)), "ms", ms(max(quiet)), label),
        Figure(
            f"/health p99, hashing in another process ({len(cpu_only.latencies)})",
            ms(percentile(cpu_only.latencies, 0.99)),
            "ms",
            ms(percentile(quiet, 0.99)),
            label,
        ),
    ]


def failures(logins: list[Login], single: list[Login], probes: list[Probe]) -> list[str]:
    found = [f"login {x.status}: {x.outcome}" for x in [*logins, *single] if x.status != 200]
    found += [
        f"login answered {x.outcome!r}, not signed_in"
        for x in logins
        if x.status == 200 and x.outcome != "signed_in"
    ]
    bad_probes = sum(p.failures for p in probes)
    if bad_probes:
        found.append(f"{bad_probes} /health probes were not 200")
    return found[:10]


def build_section(
    logins: list[Login], single: list[Login], quiet: list[Probe], during: Probe, cpu_only: Probe, wall: float
) -> Section:
    quiet_latencies = [x for p in quiet for x in p.latencies]
    non_200 = sum(x.status != 200 for x in logins)
    section = Section("Login storm (SQLite, production argon2id, uvicorn on 127.0.0.1)")
    section.figures = login_figures(logins, single) + health_figures(during, quiet_latencies, cpu_only)
    health_p99 = percentile(during.latencies, 0.99)
    section.targets = [
        Target(
            f"/health p99 during the storm under {ms(HEALTH_TARGET):.0f} ms (was {ms(health_p99):.1f} ms)",
            health_p99 < HEALTH_TARGET,
        ),
        Target(f"no non-200 login responses (had {non_200} of {len(logins)})", non_200 == 0),
    ]
    section.failures = failures(logins, single, [*quiet, during, cpu_only])
    section.notes = [
        f"{len(logins)} logins by distinct users took {wall:.1f} s ({len(logins) / wall:.1f}/s)",
        f"per-address limit raised to {ATTEMPTS_PER_WINDOW:,} attempts per window in bench/server.py "
        "(every request comes from 127.0.0.1; the default is 30 per 300 s)",
        "quiet /health baseline: probes before and after the storm on the same server",
        f"'hashing in another process': {HASH_THREADS} threads of production "
        "argon2id outside the server and no requests, i.e. the storm's CPU contention without the app's part",
    ]
    return section


async def measure(base_url: str) -> Section:
    limits = httpx.Limits(max_connections=USERS + 10, max_keepalive_connections=USERS + 10)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        await wait_ready(client)
        await login(client, WARM_USER)
        before = await quiet_probe(base_url)
        single = await single_logins(client)
        logins, during, wall = await storm(base_url, client)
        cpu_only = await cpu_only_probe(base_url)
        after = await quiet_probe(base_url)
    return build_section(logins, single, [before, after], during, cpu_only, wall)


async def run() -> Section:
    with tempfile.TemporaryDirectory(prefix="kokous-bench-login-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        await create_users(data_dir)
        created = time.perf_counter() - started
        with running_server(data_dir) as base_url:
            section = await measure(base_url)
    section.notes.append(f"setup: {USERS + 1} users created with production hashing in {created:.1f} s")
    return section
