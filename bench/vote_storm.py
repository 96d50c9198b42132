"""Vote storm: 1,000 members each cast one ballot within 5 s over the real API, against /health meanwhile.

The body, its members, their seats and their sign-ins are seeded straight into the database (no argon2 and
no login per member: `auth.actions.do_start_session` issues the tokens a completed sign-in would), and the
meeting is brought to an open vote through the domain's actions. The server is the real app under uvicorn
in a child process. Each ballot's acknowledgement (a 200 after the commit) is timed; /health is probed the
whole time as the baseline under the same load. Afterwards every acknowledged ballot must be stored exactly
once, and the chair's close must count them all. On SQLite, and on PostgreSQL when it answers
(KOKOUS_BENCH_POSTGRES_URL, as bench/audit_append.py).

The fault test (tests/web/test_live_fault.py) uses the same seeding and server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from auth.actions import do_start_session
from auth.models import User
from bench.audit_append import LOCAL_HOSTS, POSTGRES_URL, unreachable
from bench.report import Figure, Section, Target, percentile
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


@dataclass(frozen=True, slots=True)
class Seeded:
    meeting_id: int
    vote_id: int
    chair: str  # the chair's access token
    voters: dict[int, str]  # member → access token

    def ballot_path(self) -> str:
        return f"/api/meetings/{self.meeting_id}/live/votes/{self.vote_id}/ballot"

    def close_path(self) -> str:
        return f"/api/meetings/{self.meeting_id}/live/votes/{self.vote_id}/close"


def choice_of(member: int) -> str:
    return CHOICES[member % len(CHOICES)]


def storm_settings(data_dir: Path, base_url: str, database_url: str = "") -> Settings:
    """The server's settings and the seeding's: the same keys (data dir) and issuer (base URL)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        base_url=base_url,
        password_profile=TEST_PASSWORD_PROFILE,  # nobody signs in with a password here
        log_level="WARNING",
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
        vote_id = await _to_open_vote(context, meeting_id, people["members"], chair)
        tokens = await _tokens(context, [*people["members"]])
    finally:
        await context.db.dispose()
    return Seeded(meeting_id, vote_id, tokens[chair], tokens)


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


async def _to_open_vote(context: AppContext, meeting_id: int, members: list[int], chair: int) -> int:
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
        return vote.id


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
    sock: socket.socket, data_dir: Path, base_url: str, database_url: str
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
def running_server(sock: socket.socket, data_dir: Path, base_url: str, database_url: str) -> Iterator[None]:
    process = start_server(sock, data_dir, base_url, database_url)
    try:
        yield
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


def serve(fd: int, data_dir: Path, base_url: str, database_url: str) -> None:
    sock = socket.socket(fileno=fd)
    app = create_app(storm_settings(data_dir, base_url, database_url))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


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


def probe_health(base_url: str, stop: threading.Event, limit: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        for _ in range(limit):
            if stop.is_set():
                break
            start = time.perf_counter()
            client.get("/health").raise_for_status()
            elapsed = time.perf_counter() - start
            latencies.append(elapsed)
            time.sleep(max(0.0, PROBE_INTERVAL - elapsed))
    return latencies


async def storm(
    client: httpx.AsyncClient, base_url: str, seeded: Seeded
) -> tuple[list[Ack], list[float], float]:
    """Every member's ballot, sent evenly over SPREAD seconds, while /health is probed."""
    stop = threading.Event()
    probe = asyncio.create_task(asyncio.to_thread(probe_health, base_url, stop, 10_000))
    members = list(seeded.voters)
    gap = SPREAD / len(members)
    started = time.perf_counter()

    async def paced(n: int, member: int) -> Ack:
        await asyncio.sleep(max(0.0, started + n * gap - time.perf_counter()))
        return await cast(client, seeded, member)

    try:
        acks = await asyncio.gather(*(paced(n, m) for n, m in enumerate(members)))
    finally:
        stop.set()
    wall = time.perf_counter() - started
    return list(acks), await probe, wall


def ms(seconds: float) -> float:
    return seconds * 1000


async def measure(title: str, data_dir: Path, database_url: str) -> Section:
    sock = listening_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = storm_settings(data_dir, base_url, database_url)
    try:
        seeding = time.perf_counter()
        seeded = await seed(settings, MEMBERS)
        seeding = time.perf_counter() - seeding
        limits = httpx.Limits(max_connections=MEMBERS, max_keepalive_connections=MEMBERS)
        with running_server(sock, data_dir, base_url, database_url):
            async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits) as client:
                await wait_ready(client)
                quiet = await asyncio.to_thread(probe_health, base_url, threading.Event(), QUIET_PROBES)
                acks, during, wall = await storm(client, base_url, seeded)
                closing = time.perf_counter()
                chair = {"Authorization": f"Bearer {seeded.chair}"}
                closed = await client.post(seeded.close_path(), headers=chair)
                closing = time.perf_counter() - closing
        stored, rows = await stored_ballots(settings, seeded.vote_id)
    finally:
        sock.close()
    return _section(title, acks, quiet, during, wall, closed, closing, stored, rows, seeding)


def _section(
    title: str,
    acks: list[Ack],
    quiet: list[float],
    during: list[float],
    wall: float,
    closed: httpx.Response,
    closing: float,
    stored: dict[int, str],
    rows: int,
    seeding: float,
) -> Section:
    acknowledged = [a for a in acks if a.status == 200]
    latencies = [a.latency for a in acknowledged]
    lost = [a.member for a in acknowledged if stored.get(a.member) != choice_of(a.member)]
    unasked = set(stored) - {a.member for a in acknowledged}
    result = closed.json().get("result") or {} if closed.status_code == 200 else {}
    expected = {c: sum(1 for a in acknowledged if choice_of(a.member) == c) for c in CHOICES}
    counted = {c: result.get(c) for c in CHOICES}
    p99 = percentile(latencies, 0.99)
    section = Section(title)
    base = f"GET /health during the storm, {len(during)} probes"
    section.figures = [
        Figure(
            "ballot acknowledgement p50",
            ms(percentile(latencies, 0.5)),
            "ms",
            ms(percentile(during, 0.5)),
            base,
        ),
        Figure("ballot acknowledgement p99", ms(p99), "ms", ms(percentile(during, 0.99)), base),
        Figure("ballot acknowledgement max", ms(max(latencies, default=0.0)), "ms", ms(max(during)), base),
        Figure(
            "/health p99 during the storm",
            ms(percentile(during, 0.99)),
            "ms",
            ms(percentile(quiet, 0.99)),
            f"no storm, {len(quiet)} probes",
        ),
        Figure(
            "chair's close to its answer (tally of all)",
            ms(closing),
            "ms",
            ms(percentile(quiet, 0.5)),
            "GET /health p50, no storm",
        ),
    ]
    section.targets = [
        Target(
            f"ballot acknowledgement p99 under {ms(ACK_TARGET):.0f} ms (was {ms(p99):.1f} ms)",
            p99 < ACK_TARGET,
        ),
        Target(
            f"every ballot sent within {SPREAD:.0f} s was acknowledged ({len(acknowledged)} of {len(acks)})",
            len(acknowledged) == len(acks),
        ),
    ]
    problems = [f"ballot of member {m} acknowledged but not stored as sent" for m in lost[:5]]
    problems += [f"{len(unasked)} ballots stored that were never acknowledged"] if unasked else []
    problems += [] if closed.status_code == 200 else [f"closing the vote answered {closed.status_code}"]
    problems += (
        [] if counted == expected else [f"the result counted {counted}, the acknowledged were {expected}"]
    )
    section.failures = problems
    doubled = rows - len(stored)
    section.notes = [
        f"{len(acks)} members, one ballot each, sent evenly over {SPREAD:.0f} s; all answered in {wall:.1f} s"
        f" ({len(acknowledged) / wall:.0f} ballots/s acknowledged; {len(acks) / SPREAD:.0f}/s offered)",
        f"ballots lost: {len(lost)}; doubled: {doubled}; stored but never acknowledged: {len(unasked)}",
        f"result: {counted}",
        *[f"not acknowledged: {a.status} {a.error}" for a in acks if a.status != 200][:5],
        f"setup (seeding {len(acks)} members, their seats and sign-ins, without argon2): {seeding:.1f} s",
        "the close's time is the whole request (tally, event, audit, commit); the result's WebSocket "
        "delivery to 1,000 clients is left to the fan-out benchmark",
    ]
    return section


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
    with tempfile.TemporaryDirectory(prefix="kokous-bench-votes-") as tmp:
        sections.append(await measure("Vote storm, SQLite (uvicorn on 127.0.0.1)", Path(tmp), ""))
    title = "Vote storm, PostgreSQL (fresh database on 127.0.0.1)"
    reason = await unreachable(POSTGRES_URL)
    if reason:
        sections.append(
            Section(title, notes=[f"skipped: PostgreSQL is not reachable at {POSTGRES_URL} ({reason})"])
        )
        return sections
    with tempfile.TemporaryDirectory(prefix="kokous-bench-votes-") as tmp:
        async with postgres_database(POSTGRES_URL) as url:
            sections.append(await measure(title, Path(tmp), url))
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the app for the vote storm on an inherited socket.")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    serve(args.fd, args.data_dir, args.base_url, args.database_url)


if __name__ == "__main__":
    main()
