"""A server killed while ballots arrive loses none that it acknowledged (DESIGN.md §6): a ballot is answered
200 only after its transaction commits.

The real app runs under uvicorn in a child process on a SQLite file (bench/vote_storm.py seeds the meeting to
an open vote and starts the server). Members vote concurrently; once some ballots are acknowledged the
server gets SIGKILL and a new one starts on the same listening socket. Then every acknowledged ballot is
stored exactly once with its choice, those that got no answer are sent again, the chair closes the vote and
the result counts each member once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from bench.vote_storm import (
    CHOICES,
    Seeded,
    cast,
    choice_of,
    listening_socket,
    seed,
    start_server,
    stop_server,
    stored_ballots,
    storm_settings,
    wait_ready,
)

MEMBERS = 60
KILL_AFTER = 20  # acknowledged ballots before the kill
AT_ONCE = 8  # ballots in flight at a time


async def test_a_killed_server_loses_no_acknowledged_ballot(tmp_path: Path) -> None:
    sock = listening_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = storm_settings(tmp_path, base_url)
    seeded = await seed(settings, MEMBERS)
    servers = [start_server(sock, tmp_path, base_url, "")]
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=20.0) as client:
            await wait_ready(client)
            answered = await _storm_with_a_kill(client, seeded, servers, sock, tmp_path, base_url)
            acknowledged = {member for member, status in answered.items() if status == 200}
            assert len(acknowledged) >= KILL_AFTER
            assert servers[0].returncode == -signal.SIGKILL

            stored, rows = await stored_ballots(settings, seeded.vote_id)
            assert rows == len(stored)  # never two ballots of one member
            assert {m: stored.get(m) for m in acknowledged} == {m: choice_of(m) for m in acknowledged}

            # Those left without an answer vote again; then everyone has voted once.
            retried = [await cast(client, seeded, m) for m in seeded.voters if m not in acknowledged]
            assert {a.status for a in retried} <= {200}
            closed = await client.post(
                seeded.close_path(), headers={"Authorization": f"Bearer {seeded.chair}"}
            )
    finally:
        for server in servers:
            stop_server(server)
        sock.close()
    assert closed.status_code == 200, closed.text
    result = closed.json()["result"]
    expected = {c: sum(1 for m in seeded.voters if choice_of(m) == c) for c in CHOICES}
    assert {c: result[c] for c in CHOICES} == expected
    assert result["poissa"] == 0
    stored, rows = await stored_ballots(settings, seeded.vote_id)
    assert rows == MEMBERS
    assert stored == {m: choice_of(m) for m in seeded.voters}


async def _storm_with_a_kill(
    client: httpx.AsyncClient,
    seeded: Seeded,
    servers: list[subprocess.Popen[bytes]],
    sock: socket.socket,
    data_dir: Path,
    base_url: str,
) -> dict[int, int]:
    """Every member's ballot, AT_ONCE in flight; after KILL_AFTER acknowledgements the server is killed and
    a new one started on the same socket (connections made meanwhile wait in its backlog)."""
    answered: dict[int, int] = {}
    gate = asyncio.Semaphore(AT_ONCE)
    restarted = asyncio.Event()

    async def restart() -> None:
        first = servers[0]
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        servers.append(start_server(sock, data_dir, base_url, ""))
        restarted.set()

    killer: list[asyncio.Task[None]] = []

    async def one(member: int) -> None:
        async with gate:
            ack = await cast(client, seeded, member)
        answered[member] = ack.status
        if not killer and sum(s == 200 for s in answered.values()) >= KILL_AFTER:
            killer.append(asyncio.create_task(restart()))

    await asyncio.gather(*(one(m) for m in seeded.voters))
    if killer:
        await killer[0]
    await restarted.wait()
    await wait_ready(client)
    return answered
