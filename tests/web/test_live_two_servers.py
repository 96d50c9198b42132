"""Two server processes on one PostgreSQL database, linked through Redis: a client on each sees every event of
the meeting, in order, whichever process committed it (DESIGN.md §6, docs/live.md).

The events are committed by a third process, this test's, which publishes them through its own Redis
fan-out exactly as a server process does. Run as `python -m tests.web.test_live_two_servers PORT_FD ...`,
this module is one of the servers: the real app, with the test's fixed clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.items import do_take_up_item
from meetings.live.actions.proposals import do_make_proposal
from meetings.live.events import events_after
from tests.conftest import backend
from tests.meetings.live.world import Board, hold, item_of, make_board, meeting_of
from web import migration
from web.context import AppContext, build_context
from web.realtime.fanout import LiveFanOut, channel_for

REDIS_URL = os.environ.get("KOKOUS_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    backend() != "postgresql" or not REDIS_URL,
    reason="two servers share one PostgreSQL database and Redis (KOKOUS_TEST_BACKEND=postgresql)",
)
ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0


def server_settings(data_dir: Path, port: int, database_url: str, redis_url: str | None) -> Settings:
    return Settings(
        data_dir=data_dir,
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        redis_url=redis_url,
        password_profile=TEST_PASSWORD_PROFILE,
        log_level="WARNING",
    )


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A database of its own, committed to for real (the servers are other processes)."""
    admin_url = make_url(os.environ["KOKOUS_TEST_DATABASE_URL"])
    name = f"kokous_live_{secrets.token_hex(4)}"
    admin = create_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    await migration.upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@pytest.fixture
def ports() -> Iterator[list[socket.socket]]:
    """Both servers' sockets, bound before either starts; they share one base URL (one site, two
    processes behind it), so a browser's Origin is the same whichever it reaches."""
    socks = [listening_socket(), listening_socket()]
    yield socks
    for sock in socks:
        sock.close()


def start_servers(
    socks: list[socket.socket], data_dir: Path, database_url: str, now: datetime
) -> list[subprocess.Popen[bytes]]:
    port = socks[0].getsockname()[1]
    processes = []
    for sock in socks:
        command = [
            sys.executable,
            "-m",
            "tests.web.test_live_two_servers",
            str(sock.fileno()),
            str(data_dir),
            database_url,
            str(REDIS_URL),
            now.isoformat(),
            str(port),
        ]
        processes.append(subprocess.Popen(command, cwd=ROOT, pass_fds=[sock.fileno()]))  # noqa: S603
    return processes


async def wait_healthy(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(200):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the server on port {port} did not start")


async def token(port: int, username: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    access: str = response.json()["tokens"]["access_token"]
    return access


async def follow(port: int, origin: str, meeting_id: int, access: str, goal: dict[str, int]) -> list[Any]:
    """Every message a member's connection gets until the version `goal` names has come (or WAIT passes
    without any message)."""
    import websockets

    got: list[Any] = []
    headers = {"authorization": f"Bearer {access}"}
    url = f"ws://127.0.0.1:{port}/ws/meetings/{meeting_id}"
    async with websockets.connect(url, origin=origin, additional_headers=headers) as ws:  # type: ignore[arg-type]
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=WAIT)
            except TimeoutError:
                return got
            message = json.loads(raw)
            if message["kind"] != "ping":
                got.append(message)
            if "version" in goal and message.get("version") == goal["version"]:
                return got


PASSWORD = "correct horse battery"


async def test_a_client_on_each_server_sees_every_event_in_order(
    tmp_path: Path, database_url: str, ports: list[socket.socket]
) -> None:
    assert REDIS_URL is not None
    clock = FixedClock(datetime.fromisoformat("2026-11-28T09:00:00+00:00"))
    port = ports[0].getsockname()[1]
    settings = server_settings(tmp_path, port, database_url, REDIS_URL)
    db = Database(create_engine(database_url), clock=clock)
    context: AppContext = build_context(settings, db=db, clock=clock, limiter=MemoryLimiter(clock))
    committer = LiveFanOut(db, redis_url=REDIS_URL, channel=channel_for(settings))  # a third process's
    await committer.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        board = await make_board(context, clock)
        await hold(context, clock, board)
        processes = start_servers(ports, tmp_path, database_url, clock())
        for sock in ports:
            await wait_healthy(sock.getsockname()[1])
        origin = f"http://127.0.0.1:{port}"
        goal: dict[str, int] = {}
        followers = [
            asyncio.create_task(
                follow(
                    sock.getsockname()[1],
                    origin,
                    board.meeting_id,
                    await token(sock.getsockname()[1], name),
                    goal,
                )
            )
            for sock, name in zip(ports, ("m2", "m3"), strict=True)
        ]
        await asyncio.sleep(1.0)  # both have their snapshot
        await asyncio.wait_for(committer.subscribed.wait(), WAIT)
        await act(context, board)
        async with db.read() as session:
            log = [(e.version, e.type) for e in await events_after(session, board.meeting_id, 0)]
        goal["version"] = log[-1][0]
        results = await asyncio.gather(*followers)
    finally:
        await committer.stop()
        for process in processes:
            process.terminate()
            process.wait(10)
        await db.dispose()
    for got in results:
        assert got[0]["kind"] == "snapshot"
        start = got[0]["version"]
        events = [(m["version"], m["type"]) for m in got[1:] if m["kind"] == "event"]
        assert events == [entry for entry in log if entry[0] > start], got
        assert events[-1][0] == log[-1][0]


async def act(context: AppContext, board: Board) -> None:
    """A stretch of the meeting: arrivals, an item taken up, proposals; each commit its own event(s)."""
    for person in board.members:
        async with context.db.write() as session:
            meeting = await meeting_of(session, board)
            await do_record_arrival(session, meeting=meeting, user_id=person, remote=True, actor="user:s")
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        await do_take_up_item(session, meeting=meeting, item=item, actor=board.actor(board.chair))
    for n, person in enumerate(board.members[1:4]):
        async with context.db.write() as session:
            meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
            await do_make_proposal(
                session,
                meeting=meeting,
                item=item,
                user_id=person,
                kind="counter",
                text=f"Vastaehdotus {n}.",
                actor=board.actor(person),
            )


def serve() -> None:  # pragma: no cover - runs in the server processes
    import uvicorn

    from web.app import create_app

    fd, data_dir, database_url, redis_url, now, port = sys.argv[1:7]
    sock = socket.socket(fileno=int(fd))
    settings = server_settings(Path(data_dir), int(port), database_url, redis_url)
    app = create_app(settings, clock=FixedClock(datetime.fromisoformat(now)))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    serve()
