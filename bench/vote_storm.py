"""Vote storm: 1,000 members each cast one ballot within 5 s over the real API, against /health meanwhile;
then the chair closes the vote while all 1,000 follow the meeting over WebSocket.

The body, its members, their seats and their sign-ins are seeded straight into the database (no argon2 and
no login per member: `auth.actions.do_start_session` issues the tokens a completed sign-in would), and the
meeting is brought to an open vote through the domain's actions. The server is the real app under uvicorn
in a child process. Each ballot's acknowledgement (a 200 after the commit) is timed; /health is probed the
whole time as the baseline under the same load. The requests are sent by a minimal HTTP/1.1 client
(`exchange`): the load generator shares the machine's cores with the server, and httpx spent more CPU per
request than the server did. Afterwards every acknowledged ballot must be stored exactly once, and the
chair's close must count them all.

Close to result: the seeded vote is first filled with a tie the chair does not break (void, so the pairing is
taken again, R-VOTE-2) and closed while one member follows: the baseline. The chair then opens the vote again,
the storm votes in it, 1,000 members connect to /ws/meetings/{id} (in FOLLOWER_PROCESSES client processes)
and the chair closes it; each follower's time from the close request to its `vote.closed` event is timed
(time.monotonic() is one clock for every process of the machine).

On SQLite, and on PostgreSQL when it answers (KOKOUS_BENCH_POSTGRES_URL, as bench/audit_append.py), with the
fan-out through Redis when KOKOUS_BENCH_REDIS_URL names one (as `KOKOUS_REDIS_URL` in production).

The fault test (tests/web/test_live_fault.py) uses the same seeding and server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import json
import os
import pstats
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import uvicorn
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine, make_url

from auth.actions import do_start_session
from auth.models import User
from bench.audit_append import LOCAL_HOSTS, POSTGRES_URL, unreachable
from bench.fanout import raise_fd_limit
from bench.report import Figure, Section, Target, median, percentile
from core.clock import LOCAL, FixedClock, system_clock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import create_engine
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.live import seating as stored
from meetings.live.actions.items import do_approve_order, do_close_discussion, do_take_up_item
from meetings.live.actions.proposals import do_make_proposal, do_second_proposal
from meetings.live.actions.sitting import do_open_meeting
from meetings.live.actions.voting import do_open_vote
from meetings.live.models import Ballot, LiveMeeting, Proposal
from meetings.models import AgendaItem, Body, Meeting, Membership
from meetings.rules.seats import Seat, Seating
from web import migration
from web.app import create_app
from web.context import AppContext, build_context

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = int(os.environ.get("KOKOUS_BENCH_VOTERS", "1000"))
SPREAD = 5.0  # seconds over which the ballots are sent, evenly
ACK_TARGET = 0.200
CHOICES = ("jaa", "ei", "tyhja")
PROBE_INTERVAL = 0.02
QUIET_PROBES = 100
READY_ATTEMPTS = 300
TIMEOUT = 60.0
ACTOR = "system:bench"
REDIS_URL = os.environ.get("KOKOUS_BENCH_REDIS_URL", "")
RESULT_TARGET = 1.0  # seconds from the chair's close to the result on every follower
FOLLOWER_PROCESSES = 2
CONNECT_BATCH = 100
RESULT_WAIT = 15.0  # how long the followers wait for the result before they report
LONE = 100  # ballots (and /health requests) sent one at a time, for what one costs alone
PROFILE = os.environ.get("KOKOUS_BENCH_PROFILE") == "1"
PROFILES = Path(tempfile.gettempdir(), "kokous-vote-storm")


@dataclass(frozen=True, slots=True)
class Seeded:
    meeting_id: int
    vote_id: int
    chair: str  # the chair's access token
    voters: dict[int, str]  # member → access token
    item_id: int = 0

    def ballot_path(self) -> str:
        return f"/api/meetings/{self.meeting_id}/live/votes/{self.vote_id}/ballot"

    def close_path(self) -> str:
        return f"/api/meetings/{self.meeting_id}/live/votes/{self.vote_id}/close"

    def open_path(self) -> str:
        return f"/api/meetings/{self.meeting_id}/live/items/{self.item_id}/votes"


def choice_of(member: int) -> str:
    return CHOICES[member % len(CHOICES)]


def storm_settings(data_dir: Path, base_url: str, database_url: str = "", redis_url: str = "") -> Settings:
    """The server's settings and the seeding's: the same keys (data dir) and issuer (base URL)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        base_url=base_url,
        password_profile=TEST_PASSWORD_PROFILE,  # nobody signs in with a password here
        log_level="WARNING",
        redis_url=redis_url or None,
    )


async def seed(settings: Settings, members: int) -> Seeded:
    """A body of `members` seated members with a meeting called for today, opened, everyone present, its item
    taken up with a seconded counter-proposal, the order approved and the vote open; a token for each."""
    now = system_clock()
    clock = FixedClock(now - timedelta(days=5))
    context = build_context(settings, clock=clock)
    try:
        await migration.upgrade(context.db.engine)
        people, chair, presenter, secretary = await _people(context, members, clock)
        meeting_id = await _called(context, clock, people["body"][0], presenter, secretary, chair)
        clock.now = now
        vote_id, item_id = await _to_open_vote(context, meeting_id, people["members"], chair)
        tokens = await _tokens(context, [*people["members"]])
    finally:
        await context.db.dispose()
    return Seeded(meeting_id, vote_id, tokens[chair], tokens, item_id)


async def _people(
    context: AppContext, members: int, clock: FixedClock
) -> tuple[dict[str, list[int]], int, int, int]:
    """Users and memberships inserted in bulk (no password anyone could use: '!' is no argon2 hash)."""
    now = clock()
    start = date(now.year - 1, 6, 1)
    async with context.db.write() as session:
        spec = BodySpec(slug="kh", name="Kunnanhallitus", kind="executive", seats=min(members, 200))
        body = await do_create_body(session, spec=spec, actor=ACTOR)
        body.seats = members  # synthetic: more seats than any Finnish body has
        names = [f"voter{n:04d}" for n in range(members)] + ["presenter", "secretary"]
        rows = [
            {
                "username": name,
                "display_name": name.title(),
                "password_hash": "!",
                "is_active": True,
                "created_at": now,
                "password_changed_at": now,
            }
            for name in names
        ]
        await session.execute(insert(User), rows)
        ids = dict((await session.execute(select(User.username, User.id))).tuples().all())
        voters = [ids[f"voter{n:04d}"] for n in range(members)]
        memberships = [(v, "member") for v in voters] + [
            (voters[0], "chair"),
            (ids["presenter"], "presenter"),
            (ids["secretary"], "secretary"),
        ]
        await session.execute(
            insert(Membership),
            [
                {"body_id": body.id, "user_id": u, "role": r, "term_start": start, "created_at": now}
                for u, r in memberships
            ],
        )
    return {"body": [body.id], "members": voters}, voters[0], ids["presenter"], ids["secretary"]


async def _called(
    context: AppContext, clock: FixedClock, body_id: int, presenter: int, secretary: int, chair: int
) -> int:
    day = (clock() + timedelta(days=5)).astimezone(LOCAL).replace(hour=8, minute=0, second=0, microsecond=0)
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        spec = MeetingSpec(starts_at=day, place="Valtuustosali")
        meeting = await do_create_meeting(session, body=body, spec=spec, actor=f"user:{secretary}")
        item = ItemSpec("Talousarvio", presenter_id=presenter, proposal="Hyväksytään talousarvio.")
        await do_add_item(session, meeting=meeting, spec=item, actor=f"user:{secretary}")
        await do_send_call(
            session,
            meeting=meeting,
            base_url=context.settings.base_url,
            sender="kokous@bench.test",
            actor=f"user:{chair}",
        )
        return meeting.id


async def _to_open_vote(
    context: AppContext, meeting_id: int, members: list[int], chair: int
) -> tuple[int, int]:
    actor = f"user:{chair}"
    async with context.db.write() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        live = await do_open_meeting(session, meeting=meeting, chair_id=chair, actor=actor)
        # Everyone in their own seat: attendance straight into the seating, as if each had checked in.
        seated = Seating(tuple(Seat(m, m) for m in members), frozenset(members))
        live.seating = stored.dump(seated)
        item = (
            await session.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))
        ).scalar_one()
        await do_take_up_item(session, meeting=meeting, item=item, actor=actor)
        counter = await do_make_proposal(
            session,
            meeting=meeting,
            item=item,
            user_id=members[1],
            kind="counter",
            text="Hylätään.",
            actor=actor,
        )
        await do_second_proposal(session, meeting=meeting, proposal=counter, user_id=members[2], actor=actor)
        await do_close_discussion(session, meeting=meeting, item=item, actor=actor)
        base = (
            await session.execute(
                select(Proposal.id).where(Proposal.item_id == item.id, Proposal.kind == "base")
            )
        ).scalar_one()
        await do_approve_order(session, meeting=meeting, item=item, order=[counter.id, base], actor=actor)
        vote = await do_open_vote(session, meeting=meeting, item=item, actor=actor)
        assert len(vote.entitled) == len(members)
        return vote.id, item.id


async def tie(settings: Settings, seeded: Seeded) -> dict[int, str]:
    """Ballots in the open vote for a tie that the chair (who votes TYHJÄ) does not break: closed, it is void
    and its pairing is taken again (R-VOTE-2). Inserted straight, as the seeding is. Returns the choices."""
    members = list(seeded.voters)
    blank = 2 + len(members) % 2  # the chair, and as many more as leave an even number for JAA and EI
    choices = {m: "tyhja" if n < blank else ("jaa", "ei")[n % 2] for n, m in enumerate(members)}
    context = build_context(settings)
    try:
        async with context.db.write() as session:
            now = context.db.clock()
            rows = [
                {"vote_id": seeded.vote_id, "user_id": m, "choice": c, "cast_at": now}
                for m, c in choices.items()
            ]
            await session.execute(insert(Ballot), rows)
    finally:
        await context.db.dispose()
    return choices


async def _tokens(context: AppContext, people: list[int]) -> dict[int, str]:
    tokens = {}
    async with context.db.write() as session:
        for person in people:
            user = await session.get(User, person)
            assert user is not None
            started = await do_start_session(
                session, user=user, methods=("pwd", "otp"), address="127.0.0.1", user_agent="bench"
            )
            tokens[person] = started.access_token
    return tokens


async def stored_ballots(settings: Settings, vote_id: int) -> tuple[dict[int, str], int]:
    """The stored choice of each member who voted, and how many ballot rows there are (one per member)."""
    context = build_context(settings)
    try:
        async with context.db.read() as session:
            query = select(Ballot.user_id, Ballot.choice).where(Ballot.vote_id == vote_id)
            found = dict((await session.execute(query)).tuples().all())
            rows = (
                await session.execute(
                    select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)
                )
            ).scalar_one()
            return found, int(rows)
    finally:
        await context.db.dispose()


async def live_version(settings: Settings, meeting_id: int) -> int:
    context = build_context(settings)
    try:
        async with context.db.read() as session:
            live = await session.get(LiveMeeting, meeting_id)
            return live.version if live is not None else 0
    finally:
        await context.db.dispose()


# The server


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


def start_server(
    sock: socket.socket, data_dir: Path, base_url: str, database_url: str, redis_url: str = ""
) -> subprocess.Popen[bytes]:
    """The app under uvicorn in a child process, on `sock` (which the caller keeps: a restarted server takes
    over the same port, and connections made meanwhile wait in its backlog)."""
    command = [
        sys.executable,
        "-m",
        "bench.vote_storm",
        "--fd",
        str(sock.fileno()),
        "--data-dir",
        str(data_dir),
        "--base-url",
        base_url,
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
    ]
    return subprocess.Popen(command, cwd=ROOT, pass_fds=[sock.fileno()])  # noqa: S603


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def running_server(
    sock: socket.socket, data_dir: Path, base_url: str, database_url: str, redis_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = start_server(sock, data_dir, base_url, database_url, redis_url)
    try:
        yield process
    finally:
        stop_server(process)


async def wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(READY_ATTEMPTS):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become ready")


def serve(fd: int, data_dir: Path, base_url: str, database_url: str, redis_url: str = "") -> None:
    raise_fd_limit()
    sock = socket.socket(fileno=fd)
    counters = Counters()
    counters.install()
    app = create_app(storm_settings(data_dir, base_url, database_url, redis_url))
    config = uvicorn.Config(
        counters.wrap(app),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws_per_message_deflate=False,  # as `kokous serve` runs it (decision 0011)
    )
    uvicorn.Server(config).run(sockets=[sock])


class Counters:
    """In the server process (the benchmark's only): its database commits and statements, by kind, and a
    profiler, read and switched through `/_bench/…` requests that never reach the app."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(
            ("commits", "statements", "ballot_writes", "principal_reads"), 0
        )
        self.profiler: cProfile.Profile | None = None

    def install(self) -> None:
        event.listen(Engine, "commit", self._committed)
        event.listen(Engine, "before_cursor_execute", self._executed)

    def _committed(self, _conn: object) -> None:
        self.counts["commits"] += 1

    def _executed(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.counts["statements"] += 1
        if statement.startswith("INSERT INTO ballot"):
            self.counts["ballot_writes"] += 1
        elif "FROM refresh_token" in statement:
            self.counts["principal_reads"] += 1

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/_bench/"):
                await app(scope, receive, send)
                return
            what = scope["path"].removeprefix("/_bench/")
            answer = json.dumps(self._answer(what, parse_qs(scope["query_string"]))).encode()
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))],
            }
            await send(start)
            body: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": answer,
                "more_body": False,
            }
            await send(body)

        return counted

    def _answer(self, what: str, query: dict[bytes, list[bytes]]) -> dict[str, float]:
        if what == "profile/start" and self.profiler is None:
            self.profiler = cProfile.Profile(time.thread_time)  # CPU time: a wait is no cost
            self.profiler.enable()
        elif what == "profile/stop" and self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(query[b"to"][0].decode())
            self.profiler = None
        return {**self.counts, "cpu": time.process_time()}


async def counters(address: Address, what: str = "counters", query: str = "") -> dict[str, float]:
    """The server's counters now (`Counters`); `what` may start or stop its profiler."""
    reader, writer = await asyncio.open_connection(address.host, address.port)
    try:
        path = f"/_bench/{what}" + (f"?{query}" if query else "")
        status, body = await exchange(reader, writer, ("GET", path, {"Connection": "close"}, b""))
    finally:
        writer.close()
    if status != 200:
        raise RuntimeError(f"the server's counters answered {status}")
    found: dict[str, float] = json.loads(body)
    return found


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in after}


# The storm


@dataclass(frozen=True, slots=True)
class Ack:
    member: int
    status: int  # 0: no answer (the connection failed)
    latency: float
    error: str = ""  # the answer's text, or why there was none


async def cast(client: httpx.AsyncClient, seeded: Seeded, member: int) -> Ack:
    headers = {"Authorization": f"Bearer {seeded.voters[member]}"}
    start = time.perf_counter()
    try:
        response = await client.put(seeded.ballot_path(), headers=headers, json={"choice": choice_of(member)})
    except httpx.TransportError as exc:
        return Ack(member, 0, time.perf_counter() - start, type(exc).__name__)
    elapsed = time.perf_counter() - start
    return Ack(
        member, response.status_code, elapsed, "" if response.status_code == 200 else response.text[:100]
    )


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: tuple[str, str, dict[str, str], bytes],
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on an open connection, and its answer's status and body (Content-Length)."""
    method, path, headers, body = request
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next((int(h.split(":", 1)[1]) for h in head[1:] if h.lower().startswith("content-length:")), 0)
    return int(head[0].split()[1]), await reader.readexactly(length)


async def ballot(address: Address, seeded: Seeded, member: int, choice: str = "") -> Ack:
    """One member's ballot on a connection of its own (a phone each), timed from the connect."""
    body = json.dumps({"choice": choice or choice_of(member)}).encode()
    headers = {
        "Authorization": f"Bearer {seeded.voters[member]}",
        "Content-Type": "application/json",
        "Connection": "close",
    }
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            status, answer = await asyncio.wait_for(
                exchange(reader, writer, ("PUT", seeded.ballot_path(), headers, body)), TIMEOUT
            )
        finally:
            writer.close()
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        return Ack(member, 0, time.perf_counter() - start, type(exc).__name__)
    return Ack(member, status, time.perf_counter() - start, "" if status == 200 else answer.decode()[:100])


async def health_alone(address: Address) -> Ack:
    """GET /health on a connection of its own, as `ballot` sends a ballot: the baseline of a ballot alone."""
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(address.host, address.port)
    try:
        status, _ = await exchange(reader, writer, ("GET", "/health", {"Connection": "close"}, b""))
    finally:
        writer.close()
    return Ack(0, status, time.perf_counter() - start)


@dataclass(frozen=True, slots=True)
class Alone:
    """Requests sent one at a time: their latencies and what the server spent on them (`Counters`)."""

    latencies: list[float]
    server: dict[str, float]

    def per(self, key: str) -> float:
        return self.server[key] / max(1, len(self.latencies))


def profiled(name: str) -> tuple[str, ...]:
    """The `counters` request that stops the server's profiler and saves its statistics (cProfile's pstats,
    CPU time) in PROFILES; a plain `counters` request without KOKOUS_BENCH_PROFILE=1."""
    return ("profile/stop", f"to={profile_path(name)}") if PROFILE else ()


def profile_path(name: str) -> Path:
    PROFILES.mkdir(exist_ok=True)
    return PROFILES / f"{name}.prof"


def profile_note(name: str, what: str, top: int = 5) -> str:
    """Where the server's CPU went in a profile: by library (own time), and the functions that took most."""
    rows = pstats.Stats(str(profile_path(name))).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values()) or 1.0
    layers: dict[str, float] = {}
    for (filename, _, _), row in rows.items():
        layers[_layer(filename)] = layers.get(_layer(filename), 0.0) + row[2]
    by_layer = ", ".join(
        f"{layer} {100 * own / total:.0f}%"
        for layer, own in sorted(layers.items(), key=lambda kv: -kv[1])[:8]
    )
    most = sorted(rows.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    functions = ", ".join(f"{_where(f, n)} {100 * row[2] / total:.0f}%" for (f, _, n), row in most)
    return (
        f"server profile of {what} (cProfile, CPU time, {profile_path(name)}): by library {by_layer}; "
        f"functions {functions}"
    )


def _layer(filename: str) -> str:
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    if str(ROOT) in filename:
        return "kokous"
    return "builtins" if filename == "~" else "stdlib"


def _where(filename: str, function: str) -> str:
    parts = Path(filename).parts
    tail = parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-2:]
    return f"{'/'.join(tail)}:{function}"


async def one_at_a_time(
    address: Address, requests: Sequence[Callable[[], Awaitable[Ack]]], name: str = ""
) -> Alone:
    before = await counters(address, "profile/start" if PROFILE and name else "counters")
    acks = [await request() for request in requests]
    after = await counters(address, *(profiled(name) if name else ()))
    if any(a.status != 200 for a in acks):
        raise RuntimeError(f"a request alone answered {next(a for a in acks if a.status != 200)}")
    return Alone([a.latency for a in acks], spent(before, after))


async def alone(address: Address, seeded: Seeded, tied: dict[int, str], label: str) -> tuple[Alone, Alone]:
    """LONE requests for /health, then LONE ballots, one at a time: each ballot is a member's tied choice
    sent again (changed in place to itself: the tie stays), so it has no other ballot to share a transaction
    with. Returns the /health requests and the ballots."""
    members = list(tied)[:LONE]
    warm = [functools.partial(health_alone, address) for _ in range(10)]
    warm += [functools.partial(ballot, address, seeded, m, tied[m]) for m in members[:10]]
    await one_at_a_time(address, warm)
    health = await one_at_a_time(address, [functools.partial(health_alone, address)] * LONE)
    ballots = await one_at_a_time(
        address, [functools.partial(ballot, address, seeded, m, tied[m]) for m in members], f"{label}-alone"
    )
    return health, ballots


async def probe_health(address: Address, stop: asyncio.Event, limit: int) -> list[float]:
    """GET /health every PROBE_INTERVAL on one kept-alive connection, in the ballots' event loop."""
    latencies: list[float] = []
    reader, writer = await asyncio.open_connection(address.host, address.port)
    try:
        while len(latencies) < limit and not stop.is_set():
            start = time.perf_counter()
            status, _ = await exchange(reader, writer, ("GET", "/health", {}, b""))
            if status != 200:
                raise RuntimeError(f"/health answered {status}")
            elapsed = time.perf_counter() - start
            latencies.append(elapsed)
            await asyncio.sleep(max(0.0, PROBE_INTERVAL - elapsed))
    finally:
        writer.close()
    return latencies


@dataclass(frozen=True, slots=True)
class Storm:
    acks: list[Ack]
    during: list[float]  # /health during it
    wall: float
    server: dict[str, float]  # what the server spent (`Counters`)
    client_cpu: float  # seconds of CPU the benchmark's own process spent sending and timing


async def storm(address: Address, seeded: Seeded, label: str) -> Storm:
    """Every member's ballot, sent evenly over SPREAD seconds, while /health is probed; with
    KOKOUS_BENCH_PROFILE=1 the server profiles itself meanwhile (`profiled`)."""
    before = await counters(address, "profile/start" if PROFILE else "counters")
    client = resource.getrusage(resource.RUSAGE_SELF)
    acks, during, wall = await _storm(address, seeded)
    used = resource.getrusage(resource.RUSAGE_SELF)
    after = await counters(address, *profiled(f"{label}-storm"))
    client_cpu = used.ru_utime + used.ru_stime - client.ru_utime - client.ru_stime
    return Storm(acks, during, wall, spent(before, after), client_cpu)


async def _storm(address: Address, seeded: Seeded) -> tuple[list[Ack], list[float], float]:
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_health(address, stop, 10_000))
    members = list(seeded.voters)
    gap = SPREAD / len(members)
    started = time.perf_counter()

    async def paced(n: int, member: int) -> Ack:
        await asyncio.sleep(max(0.0, started + n * gap - time.perf_counter()))
        return await ballot(address, seeded, member)

    try:
        acks = await asyncio.gather(*(paced(n, m) for n, m in enumerate(members)))
    finally:
        stop.set()
    wall = time.perf_counter() - started
    return list(acks), await probe, wall


def ms(seconds: float) -> float:
    return seconds * 1000


# Close to result: followers over WebSocket, in client processes of their own


@dataclass(slots=True)
class Followers:
    processes: list[subprocess.Popen[str]]
    count: int

    @classmethod
    async def connect(
        cls, address: Address, seeded: Seeded, after: int, tokens: list[str], data_dir: Path
    ) -> Followers:
        """len(tokens) connections to the meeting (each a member's, from version `after` on: no snapshot),
        spread over FOLLOWER_PROCESSES; returns once every one is open."""
        shares = [tokens[n::FOLLOWER_PROCESSES] for n in range(FOLLOWER_PROCESSES)]
        processes = []
        for n, share in enumerate(s for s in shares if s):
            path = data_dir / f"followers-{n}.json"
            path.write_text(json.dumps(share))
            command = [sys.executable, "-m", "bench.vote_storm", "follow", str(address.port)]
            command += [str(seeded.meeting_id), str(after), str(path)]
            processes.append(_spawn(command))
        followers = cls(processes, len(tokens))
        try:
            for process in processes:
                if (await asyncio.to_thread(_line, process)).strip() != "ready":
                    raise RuntimeError("a follower process did not connect")
        except BaseException:
            followers.stop()
            raise
        return followers

    async def arrivals(self, since: float) -> tuple[list[float], int]:
        """Each follower's time from `since` to its result (waited for up to RESULT_WAIT), and how many had
        none."""
        times: list[float] = []
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("report\n")
            process.stdin.flush()
            report = json.loads(await asyncio.to_thread(_line, process))
            times += [t - since for t in report["arrivals"]]
        return times, self.count - len(times)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(30)


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("a follower process ended early")
    return line


async def follow(port: int, meeting_id: int, after: int, tokens: list[str]) -> None:
    """A follower process: connect every token, say "ready", and at the line "report" print when each
    connection got the result (the `vote.closed` event), as time.monotonic()."""
    import websockets

    raise_fd_limit()
    url = f"ws://127.0.0.1:{port}/ws/meetings/{meeting_id}?after={after}"
    arrivals: list[float] = []
    everyone = asyncio.Event()

    async def one(token: str) -> websockets.ClientConnection:
        ws = await websockets.connect(
            url,
            origin=websockets.Origin(f"http://127.0.0.1:{port}"),
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=TIMEOUT,
            ping_interval=None,
        )
        # The server reads a client's messages only once it has joined the meeting's followers (and replayed
        # what the client missed): the answer to a message it does not know says the follower is in place.
        await ws.send('{"ready": true}')
        while json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)).get("kind") != "error":
            pass
        return ws

    async def listen(ws: websockets.ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("kind") == "event" and message.get("type") == "vote.closed":
                arrivals.append(time.monotonic())
                if len(arrivals) == len(tokens):
                    everyone.set()
                return

    sockets: list[websockets.ClientConnection] = []
    for start in range(0, len(tokens), CONNECT_BATCH):
        sockets += await asyncio.gather(*(one(t) for t in tokens[start : start + CONNECT_BATCH]))
    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everyone.wait(), RESULT_WAIT)
    for task in listeners:
        task.cancel()
    print(json.dumps({"arrivals": arrivals}), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Closed:
    status: int
    result: dict[str, int]
    answer: float  # seconds from the close request to its answer
    delivery: list[float]  # seconds from the close request to each follower's result
    missing: int


async def close_followed(address: Address, seeded: Seeded, followers: Followers) -> Closed:
    """The chair closes the vote; when did the answer, and each follower's result, come?"""
    headers = {"Authorization": f"Bearer {seeded.chair}", "Connection": "close"}
    reader, writer = await asyncio.open_connection(address.host, address.port)
    since = time.monotonic()
    try:
        status, body = await exchange(reader, writer, ("POST", seeded.close_path(), headers, b""))
    finally:
        writer.close()
    answer = time.monotonic() - since
    delivery, missing = await followers.arrivals(since)
    result = json.loads(body).get("result") or {} if status == 200 else {}
    return Closed(status, result, answer, delivery, missing)


async def reopen(address: Address, seeded: Seeded) -> Seeded:
    """The chair opens the vote again (the previous one was a void tie); the seeded state with its id."""
    headers = {"Authorization": f"Bearer {seeded.chair}", "Connection": "close"}
    reader, writer = await asyncio.open_connection(address.host, address.port)
    try:
        status, body = await exchange(reader, writer, ("POST", seeded.open_path(), headers, b""))
    finally:
        writer.close()
    if status != 201:
        raise RuntimeError(f"opening the vote again answered {status}: {body[:200]!r}")
    return replace(seeded, vote_id=int(json.loads(body)["id"]))


@asynccontextmanager
async def followed(
    address: Address, seeded: Seeded, settings: Settings, tokens: list[str]
) -> AsyncIterator[Followers]:
    after = await live_version(settings, seeded.meeting_id)
    followers = await Followers.connect(address, seeded, after, tokens, settings.data_dir)
    try:
        yield followers
    finally:
        followers.stop()


async def measure(title: str, data_dir: Path, database_url: str, redis_url: str = "") -> Section:
    raise_fd_limit()
    sock = listening_socket()
    address = Address("127.0.0.1", sock.getsockname()[1])
    settings = storm_settings(data_dir, address.origin, database_url, redis_url)
    label = make_url(database_url).get_backend_name() if database_url else "sqlite"
    try:
        seeding = time.perf_counter()
        seeded = await seed(settings, MEMBERS)
        tied = await tie(settings, seeded)
        seeding = time.perf_counter() - seeding
        with running_server(sock, data_dir, address.origin, database_url, redis_url):
            async with httpx.AsyncClient(base_url=address.origin, timeout=TIMEOUT) as client:
                await wait_ready(client)
            quiet = await probe_health(address, asyncio.Event(), QUIET_PROBES)
            health_alone, ballots_alone = await alone(address, seeded, tied, label)
            chair_only = [seeded.voters[next(iter(seeded.voters))]]
            async with followed(address, seeded, settings, chair_only) as one:
                baseline = await close_followed(address, seeded, one)
            seeded = await reopen(address, seeded)
            stormed = await storm(address, seeded, label)
            async with followed(address, seeded, settings, list(seeded.voters.values())) as everyone:
                closed = await close_followed(address, seeded, everyone)
        stored, rows = await stored_ballots(settings, seeded.vote_id)
    finally:
        sock.close()
    storm_run = StormRun(stormed, quiet, health_alone, ballots_alone, stored, rows, label)
    return _section(title, storm_run, closed, baseline, seeding)


@dataclass(frozen=True, slots=True)
class StormRun:
    storm: Storm
    quiet: list[float]  # /health before the storm
    health_alone: Alone
    ballots_alone: Alone
    stored: dict[int, str]
    rows: int
    label: str  # the database, and the profiles' names

    @property
    def acks(self) -> list[Ack]:
        return self.storm.acks

    @property
    def during(self) -> list[float]:
        return self.storm.during

    @property
    def wall(self) -> float:
        return self.storm.wall


def _section(title: str, run: StormRun, closed: Closed, baseline: Closed, seeding: float) -> Section:
    acknowledged = [a for a in run.acks if a.status == 200]
    latencies = [a.latency for a in acknowledged]
    p99 = percentile(latencies, 0.99)
    base = f"GET /health during the storm, {len(run.during)} probes"
    section = Section(title)
    section.figures = [
        Figure(
            "ballot acknowledgement p50",
            ms(percentile(latencies, 0.5)),
            "ms",
            ms(percentile(run.during, 0.5)),
            base,
        ),
        Figure("ballot acknowledgement p99", ms(p99), "ms", ms(percentile(run.during, 0.99)), base),
        Figure(
            "ballot acknowledgement max", ms(max(latencies, default=0.0)), "ms", ms(max(run.during)), base
        ),
        Figure(
            "/health p99 during the storm",
            ms(percentile(run.during, 0.99)),
            "ms",
            ms(percentile(run.quiet, 0.99)),
            f"no storm, {len(run.quiet)} probes",
        ),
        *_cost_figures(run, len(acknowledged)),
        *_close_figures(closed, baseline),
    ]
    result_p99 = percentile(closed.delivery, 0.99) if not closed.missing else float("inf")
    section.targets = [
        Target(
            f"ballot acknowledgement p99 under {ms(ACK_TARGET):.0f} ms (was {ms(p99):.1f} ms)",
            p99 < ACK_TARGET,
        ),
        Target(
            f"every ballot sent within {SPREAD:.0f} s was acknowledged "
            f"({len(acknowledged)} of {len(run.acks)})",
            len(acknowledged) == len(run.acks),
        ),
        Target(
            f"the result on all {len(run.acks)} followers within {RESULT_TARGET:.0f} s of the close "
            f"(p99 {ms(result_p99):.0f} ms, {closed.missing} without it)",
            result_p99 < RESULT_TARGET,
        ),
    ]
    section.failures = _failures(run, acknowledged, closed, baseline)
    section.notes = _notes(run, acknowledged, closed, seeding)
    return section


def _cost_figures(run: StormRun, acknowledged: int) -> list[Figure]:
    """What a ballot costs the server, in the storm and alone, against /health alone: CPU time is the figure
    that moves least with the machine's other load."""
    health, lone, server = run.health_alone, run.ballots_alone, run.storm.server
    per_health = f"GET /health alone, {len(health.latencies)} one at a time"
    health_cpu = ms(health.per("cpu"))
    return [
        Figure(
            "ballot alone, latency p50",
            ms(median(lone.latencies)),
            "ms",
            ms(median(health.latencies)),
            per_health,
        ),
        Figure("ballot alone, server CPU per ballot", ms(lone.per("cpu")), "ms", health_cpu, per_health),
        Figure(
            "ballot in the storm, server CPU per ballot",
            ms(server["cpu"] / max(1, acknowledged)),
            "ms",
            health_cpu,
            per_health,
        ),
        Figure(
            "benchmark client's CPU per ballot in the storm",
            ms(run.storm.client_cpu / max(1, len(run.acks))),
            "ms",
            ms(server["cpu"] / max(1, acknowledged)),
            "the server's CPU per ballot in the storm",
        ),
    ]


def _cost_notes(run: StormRun) -> list[str]:
    lone, server, count = run.ballots_alone, run.storm.server, max(1, len(run.acks))
    writes, reads = max(1, server["ballot_writes"]), max(1, server["principal_reads"])
    return [
        f"in the storm: {server['commits'] / count:.2f} commits and {server['statements'] / count:.2f} "
        f"statements per ballot; {server['ballot_writes']:.0f} ballot writes "
        f"({len(run.acks) / writes:.1f} ballots each), {server['principal_reads']:.0f} reads of who is "
        f"asking ({len(run.acks) / reads:.1f} requests each); {server['commits'] / run.wall:.0f} commits/s; "
        f"server CPU {server['cpu']:.2f} s over {run.wall:.1f} s ({server['cpu'] / run.wall:.2f} of a core)",
        f"a ballot alone: {lone.per('commits'):.2f} commits and {lone.per('statements'):.2f} statements; "
        f"/health alone: {run.health_alone.per('statements'):.2f} statements",
        *(
            [
                profile_note(f"{run.label}-alone", "the ballots one at a time"),
                profile_note(f"{run.label}-storm", "the storm"),
            ]
            if PROFILE
            else []
        ),
    ]


def _close_figures(closed: Closed, baseline: Closed) -> list[Figure]:
    one = f"to 1 follower, the same close of a tie of {sum(baseline.result.get(c, 0) for c in CHOICES)}"
    one_p = ms(percentile(baseline.delivery, 0.5))
    return [
        Figure(
            f"close to result on {len(closed.delivery)} followers p50",
            ms(percentile(closed.delivery, 0.5)),
            "ms",
            one_p,
            one,
        ),
        Figure(
            f"close to result on {len(closed.delivery)} followers p99",
            ms(percentile(closed.delivery, 0.99)),
            "ms",
            one_p,
            one,
        ),
        Figure(
            "close to result, the last follower",
            ms(max(closed.delivery, default=float("nan"))),
            "ms",
            one_p,
            one,
        ),
        Figure(
            "chair's close to its answer (tally of all)",
            ms(closed.answer),
            "ms",
            ms(baseline.answer),
            "the tie's close, 1 follower",
        ),
    ]


def _failures(run: StormRun, acknowledged: list[Ack], closed: Closed, baseline: Closed) -> list[str]:
    lost = [a.member for a in acknowledged if run.stored.get(a.member) != choice_of(a.member)]
    unasked = set(run.stored) - {a.member for a in acknowledged}
    expected = {c: sum(1 for a in acknowledged if choice_of(a.member) == c) for c in CHOICES}
    counted = {c: closed.result.get(c) for c in CHOICES}
    problems = [f"ballot of member {m} acknowledged but not stored as sent" for m in lost[:5]]
    problems += [f"{len(unasked)} ballots stored that were never acknowledged"] if unasked else []
    problems += [] if closed.status == 200 else [f"closing the vote answered {closed.status}"]
    problems += [] if baseline.status == 200 else [f"closing the tied vote answered {baseline.status}"]
    problems += (
        [] if counted == expected else [f"the result counted {counted}, the acknowledged were {expected}"]
    )
    problems += [f"{closed.missing} followers never got the result"] if closed.missing else []
    problems += [f"{run.rows - len(run.stored)} ballots doubled"] if run.rows != len(run.stored) else []
    return problems


def _notes(run: StormRun, acknowledged: list[Ack], closed: Closed, seeding: float) -> list[str]:
    lost = sum(1 for a in acknowledged if run.stored.get(a.member) != choice_of(a.member))
    unasked = len(set(run.stored) - {a.member for a in acknowledged})
    return [
        f"{len(run.acks)} members, one ballot each on a connection of its own, sent evenly over "
        f"{SPREAD:.0f} s; all answered in {run.wall:.1f} s "
        f"({len(acknowledged) / run.wall:.0f} ballots/s acknowledged; "
        f"{len(run.acks) / SPREAD:.0f}/s offered)",
        f"ballots lost: {lost}; doubled: {run.rows - len(run.stored)}; "
        f"stored but never acknowledged: {unasked}",
        f"result: { {c: closed.result.get(c) for c in CHOICES} }",
        *[f"not acknowledged: {a.status} {a.error}" for a in run.acks if a.status != 200][:5],
        *_cost_notes(run),
        f"setup (seeding {len(run.acks)} members, their seats and sign-ins, without argon2): {seeding:.1f} s",
        f"close to result: from the chair's close request to each follower's vote.closed event, the "
        f"followers in {FOLLOWER_PROCESSES} client processes on the same cores; they connected after the "
        "storm. "
        f"Load average {os.getloadavg()[0]:.1f} at the end.",
    ]


@asynccontextmanager
async def postgres_database(url: str) -> AsyncIterator[str]:
    """A fresh database kokous_storm_<random> (the server migrates nothing: seeding does), dropped after."""
    parsed = make_url(url)
    if parsed.host not in LOCAL_HOSTS:
        raise ValueError(f"the benchmark only targets 127.0.0.1, not {parsed.host}")
    name = f"kokous_storm_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def run() -> list[Section]:
    sections = []
    if os.environ.get("KOKOUS_BENCH_VOTES_SQLITE", "1") != "0":
        with tempfile.TemporaryDirectory(prefix="kokous-bench-votes-") as tmp:
            sections.append(await measure("Vote storm, SQLite (uvicorn on 127.0.0.1)", Path(tmp), ""))
    fan_out = f"fan-out through Redis {REDIS_URL}" if REDIS_URL else "in-memory fan-out"
    title = f"Vote storm, PostgreSQL (fresh database on 127.0.0.1), {fan_out}"
    reason = await unreachable(POSTGRES_URL)
    if reason:
        sections.append(
            Section(title, notes=[f"skipped: PostgreSQL is not reachable at {POSTGRES_URL} ({reason})"])
        )
        return sections
    with tempfile.TemporaryDirectory(prefix="kokous-bench-votes-") as tmp:
        async with postgres_database(POSTGRES_URL) as url:
            sections.append(await measure(title, Path(tmp), url, REDIS_URL))
    return sections


def main() -> None:
    if sys.argv[1:2] == ["follow"]:
        port, meeting, after, tokens = sys.argv[2:6]
        asyncio.run(follow(int(port), int(meeting), int(after), json.loads(Path(tokens).read_text())))
        return
    parser = argparse.ArgumentParser(description="Serve the app for the vote storm on an inherited socket.")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    serve(args.fd, args.data_dir, args.base_url, args.database_url, args.redis_url)


if __name__ == "__main__":
    main()
