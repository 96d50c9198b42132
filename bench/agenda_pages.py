"""Agenda pages under load: the public agenda and the member's meeting view of a 60-item meeting with 200
attachments, 50 concurrent clients, next to GET /health measured the same way in the same run.

The app runs under uvicorn in a child process (bench.server) on a migrated SQLite database in a temporary
data directory, seeded through the real actions and the attachment store. Each client is a keep-alive
connection that sends its next request as soon as the previous one is answered (a closed loop), so by
Little's law p50 is about clients / throughput: a p99 under 100 ms with 50 clients needs some 500 pages per
second. The first and last answer of each run go through httpx and are checked in full; the rest are only
counted and timed (see Wire), so that the load generator is not the bottleneck.

When a target is missed (or with KOKOUS_BENCH_PROFILE=1) the section also measures where the time goes:
the same pages with two server processes on the one socket, and an instrumented server
(`python -m bench.agenda_pages --fd N --data-dir D --out O`, in this module) that times the handler's parts
and its SQL per request, counts database connections opened under load, and samples the stack on SIGPROF
(every SAMPLE_INTERVAL of the process's CPU time). Sampling rather than cProfile: SQLAlchemy's asyncio layer
runs the ORM in greenlets, whose switches cProfile does not see, so it charges their time to whichever
coroutine it saw last; and a sampling thread would only see the GIL's release points.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from functools import wraps
from pathlib import Path
from types import CodeType, FrameType
from typing import Any
from urllib.parse import urlsplit

import httpx
from markupsafe import escape

from auth.actions import do_create_user
from bench.login_storm import listening_socket, wait_ready
from bench.report import Figure, Section, Target, median, percentile
from bench.server import bench_settings
from core.clock import LOCAL, system_clock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.attachments import attachment_limit, do_add_attachment
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.actions.organisation import OrganisationSettings, do_update_organisation
from meetings.models import Meeting, Publicity
from meetings.queries import meeting_items
from meetings.storage import attachment_store
from web import migration
from web.context import build_context
from web.i18n import translator

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 60
ATTACHMENTS = 200
CONFIDENTIAL_AT = frozenset({6, 13, 21, 29, 38, 46, 55})  # positions of wholly confidential items
PARTLY_AT = frozenset({10, 33, 50})  # positions of partly confidential items
CLIENTS = 50
MAX_REQUESTS = 4_000  # per measured run; /health reaches it, the pages stop at MAX_SECONDS
MAX_SECONDS = 6.0
ALONE = 15  # requests one at a time before each run: the page's cost without queueing
REQUEST_TIMEOUT = 60.0
TARGET_P99 = 0.100
PROFILE = os.environ.get("KOKOUS_BENCH_PROFILE") == "1"
SEQUENTIAL = 30  # instrumented requests per page, one at a time
SAMPLE_INTERVAL = 0.002
WORKERS = 2  # server processes sharing the socket, for the "more workers" comparison
PASSWORD = "bench agenda password"
MEMBER = "jasen"
SECRETARY = "sihteeri"
ACTOR = "system:bench"
PHASE_HEADER = "x-bench-phase"
HTML = {"accept": "text/html,application/xhtml+xml", "accept-language": "fi"}
FI = translator("fi")

TOPICS = (
    "Lausunto Koivurannan asemakaavan muutoksesta",
    "Talousarvion toteutuminen tammi–syyskuussa",
    "Koulukuljetusten hankinta lukuvuosille 2027–2030",
    "Vesihuollon kehittämissuunnitelman hyväksyminen",
    "Liikuntapaikkojen käyttövuorojen periaatteet",
    "Kirjaston aukioloaikojen muuttaminen",
    "Tilinpäätöksen 2025 hyväksyminen ja vastuuvapaus",
    "Valtuustoaloite kevyen liikenteen väylästä Kirkonkylään",
    "Ympäristönsuojelumääräysten päivittäminen",
    "Päiväkoti Satakielen laajennuksen hankesuunnitelma",
    "Energiatehokkuussopimukseen liittyminen",
    "Kuntastrategian väliarvio",
    "Katuvalaistuksen saneeraus LED-valaisimiin",
    "Nuorisovaltuuston toimintasääntö",
)
SECRETS = (
    ("Oppilaan erityisen tuen päätös, oppilas", "JulkL 24 § 1 mom 30 k"),
    ("Virkasuhteen päättäminen, viranhaltija", "JulkL 24 § 1 mom 32 k"),
    ("Kiinteistökaupan tarjousvertailu, tarjoaja", "JulkL 24 § 1 mom 17 k"),
)
PARAGRAPHS = (
    "Asia on valmisteltu yhdessä teknisen toimialan ja talousyksikön kanssa. Valmistelussa on otettu "
    "huomioon valtuuston hyväksymä kuntastrategia, talousarvion tavoitteet ja asukkailta saatu palaute. "
    "Asiasta järjestettiin kaksi asukastilaisuutta, joihin osallistui yhteensä noin {people} henkilöä.",
    "Hankkeen kustannusarvio on {cost} euroa, ja se rahoitetaan investointiosan määrärahasta. "
    "Käyttötalouteen hankkeella arvioidaan olevan noin {opex} euron vuotuinen vaikutus. Hankkeelle on "
    "haettu valtionavustusta, ja avustuspäätöstä odotetaan kevään aikana.",
    "Asiakirjat ovat nähtävillä kunnan verkkosivuilla ja kunnantalon asiointipisteessä. Lisätietoja "
    "antaa asian valmistelija. Käsittelyssä noudatetaan kuntalain ja hallintolain säännöksiä sekä kunnan "
    "hallintosääntöä.",
)


# ---- seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    meeting_id: int
    public_titles: tuple[str, ...]  # both pages show these
    secret_titles: tuple[str, ...]  # the member's view only
    hidden: tuple[str, ...]  # the public page must contain none of these
    public_attachments: int  # attachments the public page links
    seconds: float


def item_text(n: int) -> str:
    values = {"people": 40 + n, "cost": f"{(n + 3) * 37_500:,}".replace(",", " "), "opex": 2_000 + 150 * n}
    return "\n\n".join(p.format(**values) for p in PARAGRAPHS)


def item_spec(n: int) -> ItemSpec:
    """Item n (1-based): public with a few paragraphs, wholly confidential or partly confidential."""
    contact = f"valmistelija{n:02d}@kunta.example, puh. 040 {n:03d} 4567"
    preparer = f"hallintojohtaja Mervi Valmistelija {n:02d}"
    if n in CONFIDENTIAL_AT:
        title, basis = SECRETS[n % len(SECRETS)]
        return ItemSpec(
            title=f"{title} {n:02d}",
            preparer=preparer,
            preparer_contact=contact,
            description=f"Salassa pidettävä selvitys {n:02d}: henkilön terveydentilaa ja taloudellista "
            "asemaa koskevat tiedot.\n\n" + item_text(n),
            proposal="Kunnanhallitus päättää asiasta esityslistan liitteen mukaisesti.",
            publicity=Publicity.CONFIDENTIAL,
            confidentiality_basis=basis,
        )
    if n in PARTLY_AT:
        return ItemSpec(
            title=f"Tontin vuokraaminen yritykselle, kortteli {n:02d}",
            preparer=preparer,
            preparer_contact=contact,
            description=f"Liikesalaisuuksia koskeva selvitys {n:02d}: yrityksen tilinpäätöstiedot.\n\n"
            + item_text(n),
            proposal="Valtuusto hyväksyy vuokrasopimuksen liitteen mukaisin ehdoin.",
            publicity=Publicity.PARTLY_CONFIDENTIAL,
            confidentiality_basis="JulkL 24 § 1 mom 20 k",
            public_summary=f"Kunta vuokraa korttelin {n:02d} tontin yritykselle kymmeneksi vuodeksi.",
        )
    topic = TOPICS[n % len(TOPICS)]
    return ItemSpec(
        title=f"{topic} – kohta {n:02d}",
        preparer=preparer,
        preparer_contact=contact,
        description=item_text(n),
        proposal=f"Kunnanhallitus esittää, että valtuusto hyväksyy asian {n:02d} liitteiden mukaisesti ja "
        "valtuuttaa kunnanhallituksen tekemään siihen tarvittavat vähäiset tarkennukset.",
    )


@dataclass(frozen=True, slots=True)
class AttachmentPlan:
    position: int  # the item's 1-based position
    title: str
    filename: str
    is_public: bool
    basis: str
    content: bytes


def attachment_plan() -> list[AttachmentPlan]:
    """Spread over the items; those of confidential items and every ninth of the others are confidential."""
    plans = []
    for j in range(1, ATTACHMENTS + 1):
        position = (j - 1) % ITEMS + 1
        spec = item_spec(position)
        public = spec.publicity != Publicity.CONFIDENTIAL and j % 9 != 4
        title = f"Liite {j:03d} – selvitys ja kartat" if public else f"Salassa pidettävä liite {j:03d}"
        filename = f"liite-{j:03d}.pdf" if public else f"salainen-liite-{j:03d}.pdf"
        basis = "" if public else spec.confidentiality_basis or "JulkL 24 § 1 mom 32 k"
        body = f"% Kokous bench attachment {j}\n".encode() * (60 + 40 * (j % 25))
        plans.append(
            AttachmentPlan(position, title, filename, public, basis, b"%PDF-1.4\n" + body + b"%%EOF\n")
        )
    return plans


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=LOCAL)


async def seed(data_dir: Path) -> Seeded:
    """Migrate, then build the meeting through the actions and the attachment store, and send its call."""
    started = time.perf_counter()
    settings = bench_settings(data_dir, 0)
    context = build_context(settings)
    today = system_clock().astimezone(LOCAL).date()
    try:
        await migration.upgrade(context.db.engine)
        async with context.db.write() as session:
            await do_update_organisation(
                session, settings=OrganisationSettings(name="Vertailulan kunta"), actor=ACTOR
            )
            body = await do_create_body(
                session,
                spec=BodySpec(
                    slug="valtuusto",
                    name="Kunnanvaltuusto",
                    name_sv="Kommunfullmäktige",
                    kind="council",
                    seats=43,
                ),
                actor=ACTOR,
            )
            people = {}
            for username, name, role in (
                (SECRETARY, "Sari Sihteeri", "secretary"),
                (MEMBER, "Jussi Jäsen", "member"),
            ):
                user = await do_create_user(
                    session,
                    username=username,
                    display_name=name,
                    password=PASSWORD,
                    email=f"{username}@kunta.example",
                    actor=ACTOR,
                )
                spec = MembershipSpec(user_id=user.id, role=role, term_start=today - timedelta(days=200))
                await do_add_membership(session, body=body, spec=spec, actor=ACTOR)
                people[username] = user.id
            actor = f"user:{people[SECRETARY]}"
            meeting = await do_create_meeting(
                session,
                body=body,
                spec=MeetingSpec(
                    starts_at=_local(today + timedelta(days=14), 18),
                    ends_at=_local(today + timedelta(days=14), 22),
                    place="Kunnantalo, valtuustosali",
                    is_public=True,
                ),
                actor=actor,
            )
            for n in range(1, ITEMS + 1):
                await do_add_item(session, meeting=meeting, spec=item_spec(n), actor=actor)
            meeting_id = meeting.id
            limit = await attachment_limit(session)
        plans = attachment_plan()
        store = attachment_store(data_dir)
        stored = [
            await store.put(
                io.BytesIO(p.content), limit=limit, filename=p.filename, declared="application/pdf"
            )
            for p in plans
        ]
        async with context.db.write() as session:
            row = await session.get(Meeting, meeting_id)
            assert row is not None
            items = await meeting_items(session, row)
            for plan, kept in zip(plans, stored, strict=True):
                await do_add_attachment(
                    session,
                    item=items[plan.position - 1],
                    meeting=row,
                    title=plan.title,
                    filename=kept.filename,
                    content_type=kept.media_type,
                    sha256=kept.sha256,
                    size=kept.size,
                    is_public=plan.is_public,
                    confidentiality_basis=plan.basis,
                    actor=actor,
                )
            await do_send_call(
                session, meeting=row, base_url=settings.base_url, sender="kokous@kunta.example", actor=actor
            )
    finally:
        await context.db.dispose()
    return seeded(meeting_id, plans, time.perf_counter() - started)


def seeded(meeting_id: int, plans: list[AttachmentPlan], seconds: float) -> Seeded:
    specs = [item_spec(n) for n in range(1, ITEMS + 1)]
    secret = [s for s in specs if s.publicity == Publicity.CONFIDENTIAL]
    partly = [s for s in specs if s.publicity == Publicity.PARTLY_CONFIDENTIAL]
    hidden = [s.title for s in secret]
    hidden += [s.description.split(":", 1)[0] for s in [*secret, *partly]]  # their distinctive first words
    hidden += [p.title for p in plans if not p.is_public] + [p.filename for p in plans if not p.is_public]
    hidden += ["@kunta.example", "puh. 040", str(escape(FI("Members' view.")))]
    return Seeded(
        meeting_id=meeting_id,
        public_titles=tuple(s.title for s in specs if s.publicity != Publicity.CONFIDENTIAL),
        secret_titles=tuple(s.title for s in secret),
        hidden=tuple(hidden),
        public_attachments=sum(p.is_public for p in plans),
        seconds=seconds,
    )


# ---- content checks ----------------------------------------------------------------------------

ITEM_MARK = 'class="agenda-item'
LINK_MARK = 'href="/api/attachments/'


def status_check(response: httpx.Response) -> list[str]:
    return [] if response.status_code == 200 else [f"{response.status_code}: {response.text[:120]}"]


def check_public_page(response: httpx.Response, data: Seeded) -> list[str]:
    if response.status_code != 200:
        return status_check(response)
    text = response.text
    problems = [f"the public page shows {h!r}" for h in data.hidden if h in text]
    problems += [f"the public page lacks the item {t!r}" for t in data.public_titles if t not in text]
    mentions = text.count(str(escape(FI("Confidential matter"))))
    if mentions != len(data.secret_titles):
        problems.append(
            f"the public page mentions {mentions} confidential items, not {len(data.secret_titles)}"
        )
    if (items := text.count(ITEM_MARK)) != ITEMS:
        problems.append(f"the public page lists {items} items, not {ITEMS}")
    if (links := text.count(LINK_MARK)) != data.public_attachments:
        problems.append(
            f"the public page links {links} attachments, not the {data.public_attachments} public"
        )
    return problems


def check_member_page(response: httpx.Response, data: Seeded) -> list[str]:
    if response.status_code != 200:
        return status_check(response)
    text = response.text
    titles = [*data.public_titles, *data.secret_titles]
    problems = [f"the member's view lacks the item {t!r}" for t in titles if t not in text]
    if str(escape(FI("Members' view."))) not in text:
        problems.append("the member's view does not say it is the members' view")
    if (items := text.count(ITEM_MARK)) != ITEMS:
        problems.append(f"the member's view lists {items} items, not {ITEMS}")
    if (links := text.count(LINK_MARK)) != ATTACHMENTS:
        problems.append(f"the member's view links {links} attachments, not {ATTACHMENTS}")
    return problems


def check_json(response: httpx.Response, data: Seeded) -> list[str]:
    if response.status_code != 200:
        return status_check(response)
    payload = response.json()
    items = payload.get("items", []) if isinstance(payload, dict) else []
    problems = []
    if len(items) != ITEMS:
        problems.append(
            f"GET /api/meetings/{data.meeting_id} as the member has {len(items)} items, not {ITEMS}"
        )
    if (attached := sum(len(i.get("attachments", [])) for i in items)) != ATTACHMENTS:
        problems.append(f"GET /api/meetings/{data.meeting_id} as the member has {attached} attachments")
    if not set(data.secret_titles) <= {i.get("title") for i in items}:
        problems.append("the member's JSON agenda lacks confidential titles")
    return problems


# ---- servers and load --------------------------------------------------------------------------


@dataclass(slots=True)
class Servers:
    base_url: str
    processes: list[subprocess.Popen[bytes]]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server processes so far (Linux /proc; 0 elsewhere)."""
        total = 0.0
        for process in self.processes:
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@contextmanager
def running(data_dir: Path, *, processes: int = 1, instrumented: Path | None = None) -> Iterator[Servers]:
    """bench.server (or this module's instrumented server) in child processes on one listening socket."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    module = "bench.server" if instrumented is None else "bench.agenda_pages"
    command = [sys.executable, "-m", module, "--fd", str(sock.fileno()), "--data-dir", str(data_dir)]
    if instrumented is not None:
        command += ["--out", str(instrumented)]
    started = [
        subprocess.Popen(command, cwd=ROOT, pass_fds=[sock.fileno()])  # noqa: S603
        for _ in range(processes)
    ]
    sock.close()
    try:
        yield Servers(f"http://127.0.0.1:{port}", started)
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@dataclass(slots=True)
class Run:
    label: str
    latencies: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)  # one client, one request at a time
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu / len(self.latencies) * 1000 if self.latencies else float("nan")


Check = Callable[[httpx.Response], list[str]]


class Wire:
    """One keep-alive HTTP/1.1 connection that sends the same GET again and again. It costs the load
    generator a small fraction of httpx's client CPU per request, so that the server is what is measured
    (with httpx, the bench process itself saturated a core at some 150 /health requests per second)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
        self.reader, self.writer, self.request = reader, writer, request

    @classmethod
    async def open(cls, base_url: str, request: bytes) -> Wire:
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        return cls(reader, writer, request)

    async def get(self) -> tuple[int, int]:
        """The status and the body's length; the body is read in full."""
        self.writer.write(self.request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        status = int(head[9:12])
        if (at := head.find(b"\r\ncontent-length:")) >= 0:
            size = int(head[at + 17 : head.index(b"\r\n", at + 2)])
            await self.reader.readexactly(size)
        elif b"\r\ntransfer-encoding: chunked" in head:
            size = 0
            while chunk := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(chunk + 2)
                size += chunk
            await self.reader.readexactly(2)
        else:
            raise RuntimeError(f"an answer without a length: {head[:200]!r}")
        if b"\r\nconnection: close" in head:
            raise RuntimeError("the server closed a keep-alive connection")
        return status, size

    def close(self) -> None:
        self.writer.close()


def wire_request(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None) -> bytes:
    """The GET a browser with `client`'s credentials and cookies would send."""
    lines = [f"GET {path} HTTP/1.1", f"host: {client.base_url.netloc.decode()}", "user-agent: kokous-bench"]
    lines += [f"{k}: {v}" for k, v in {**client.headers, **(headers or {})}.items() if k in WIRE_HEADERS]
    if client.cookies:
        lines.append("cookie: " + "; ".join(f"{k}={v}" for k, v in client.cookies.items()))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


WIRE_HEADERS = frozenset({"accept", "accept-language", "authorization"})


async def load(
    servers: Servers,
    client: httpx.AsyncClient,
    label: str,
    path: str,
    check: Check,
    headers: dict[str, str] | None = None,
) -> Run:
    """The first and the last answer are checked in full (through httpx) and every answer must be 200.
    Between them, on CLIENTS keep-alive connections: one request on each (warm-up), ALONE requests one at
    a time, then CLIENTS closed-loop clients until MAX_REQUESTS are answered or MAX_SECONDS pass."""
    run = Run(label)
    first = await client.get(path, headers=headers)
    run.size = len(first.content)
    run.problems += [f"{label}: {p}" for p in check(first)][:5]
    request = wire_request(client, path, headers)
    wires = [await Wire.open(servers.base_url, request) for _ in range(CLIENTS)]
    remaining = MAX_REQUESTS

    async def one(wire: Wire, into: list[float]) -> None:
        start = time.perf_counter()
        status, _ = await wire.get()
        into.append(time.perf_counter() - start)
        if status != 200 and len(run.problems) < 5:
            run.problems.append(f"{label}: answered {status}")

    async def client_loop(wire: Wire, deadline: float) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            await one(wire, run.latencies)

    try:
        await asyncio.wait_for(asyncio.gather(*(one(wire, []) for wire in wires)), REQUEST_TIMEOUT)
        for _ in range(ALONE):
            await asyncio.wait_for(one(wires[0], run.alone), REQUEST_TIMEOUT)
        cpu_before, client_before = servers.cpu_seconds(), time.process_time()
        start = time.perf_counter()
        loops = asyncio.gather(*(client_loop(wire, start + MAX_SECONDS) for wire in wires))
        await asyncio.wait_for(loops, MAX_SECONDS + REQUEST_TIMEOUT)  # a hung server fails the run
        run.wall = time.perf_counter() - start
        run.server_cpu = servers.cpu_seconds() - cpu_before
        run.client_cpu = time.process_time() - client_before
    finally:
        for wire in wires:
            wire.close()
    run.problems += [f"{label}: {p}" for p in check(await client.get(path, headers=headers))][:5]
    return run


async def sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    """Bearer headers for the member: password only, plain members need no second factor."""
    response = await client.post("/api/auth/login", json={"username": MEMBER, "password": PASSWORD})
    body = response.json() if response.status_code == 200 else {}
    if body.get("status") != "signed_in":
        raise RuntimeError(f"the member could not sign in: {response.status_code} {response.text[:200]}")
    return {"authorization": f"Bearer {body['tokens']['access_token']}"}


def clients(base_url: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """An anonymous browser and the signed-in member (Bearer), each with a connection per client."""
    limits = httpx.Limits(max_connections=CLIENTS + 5, max_keepalive_connections=CLIENTS + 5)
    return (
        httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits),
        httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits),
    )


@dataclass(slots=True)
class Measured:
    health: Run
    public: Run
    member: Run
    json: Run | None


async def measure(servers: Servers, data: Seeded, *, full: bool = True) -> Measured:
    """/health, the public page, the member's view and (if `full`) the member's JSON agenda, in turn."""
    anonymous, member = clients(servers.base_url)
    page = f"/meetings/{data.meeting_id}"
    async with anonymous, member:
        await wait_ready(anonymous)
        member.headers.update(await sign_in(anonymous))
        health = Run("GET /health")
        if full:
            health = await load(servers, anonymous, "GET /health", "/health", status_check)
        public = await load(
            servers, anonymous, "public agenda", page, lambda r: check_public_page(r, data), HTML
        )
        mine = await load(servers, member, "member's view", page, lambda r: check_member_page(r, data), HTML)
        api = None
        if full:
            path = f"/api/meetings/{data.meeting_id}"
            api = await load(servers, member, "JSON agenda (member)", path, lambda r: check_json(r, data))
    return Measured(health, public, mine, api)


# ---- the instrumented server (a child process) --------------------------------------------------

PHASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_phase", default=None)


@dataclass(slots=True)
class Tally:
    """Wall time of the handler's parts and of SQL statements (incl. the hop to aiosqlite's thread)."""

    requests: int = 0
    seconds: float = 0.0
    sql: int = 0
    sql_seconds: float = 0.0
    connects: int = 0
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Samples:
    """Where the main thread was at each SIGPROF while requests were in flight."""

    total: int = 0
    leaf_layers: dict[str, int] = field(default_factory=dict)
    leaf: dict[str, int] = field(default_factory=dict)
    inclusive: dict[str, int] = field(default_factory=dict)


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def where(code: CodeType) -> str:
    name = code.co_filename
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    else:
        name = name.removeprefix(f"{ROOT}/")
    return f"{name}:{code.co_name}"


LAYERS = (
    ("event loop (uvloop) itself", re.compile(r"asyncio/runners\.py:run$")),
    ("os.stat of templates (Jinja auto_reload)", re.compile(r"genericpath>?:getmtime$")),
    ("Jinja template code", re.compile(r"templates/[^:]*\.html:")),
    ("jinja2 runtime", re.compile(r"^jinja2/")),
    ("markupsafe (escaping)", re.compile(r"^markupsafe/")),
    ("SQLAlchemy", re.compile(r"^sqlalchemy/")),
    ("aiosqlite / sqlite3 / greenlet", re.compile(r"^(aiosqlite|sqlite3|greenlet)/")),
    ("Litestar", re.compile(r"^litestar/")),
    ("msgspec", re.compile(r"^msgspec/")),
    ("uvicorn / httptools", re.compile(r"^(uvicorn|httptools)/")),
    ("asyncio", re.compile(r"^asyncio/")),
    ("dataclasses / copy", re.compile(r"^(dataclasses|copy)\.py:")),
    ("i18n (gettext)", re.compile(r"^gettext\.py:|web/i18n\.py:")),
    ("tokens (jose / cryptography)", re.compile(r"^(jose|cryptography)/")),
    ("Kokous code", re.compile(r"^(web|meetings|auth|core|audit)/")),
    ("the instruments (this benchmark)", re.compile(r"^bench/")),
)


def layer_of(key: str) -> str:
    return next((name for name, pattern in LAYERS if pattern.search(key)), "other stdlib / builtins")


def stack_keys(frame: FrameType | None) -> list[str]:
    keys = []
    while frame is not None:
        keys.append(where(frame.f_code))
        frame = frame.f_back
    return keys


class Instruments:
    """Per-phase timings of the handler's parts, SQL, connections opened, and stack samples."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}
        self.samples: dict[str, Samples] = {}
        self.sampling: str | None = None  # the phase of the latest request
        self.in_flight = 0

    def tally(self) -> Tally | None:
        phase = PHASE.get()
        return None if phase is None else self.tallies.setdefault(phase, Tally())

    def add(self, part: str, seconds: float) -> None:
        if (tally := self.tally()) is not None:
            tally.parts[part] = tally.parts.get(part, 0.0) + seconds

    def time_async(self, module: Any, name: str, part: str) -> None:
        original = getattr(module, name)

        @wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.add(part, time.perf_counter() - start)

        setattr(module, name, timed)

    def time_sync(self, owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(part, time.perf_counter() - start)

        setattr(owner, name, timed)

    def install(self) -> None:
        """Wrap what GET /meetings/{id} and /api/meetings/{id} go through (module globals are looked up at
        call time, so the app's code is unchanged), and listen to SQL and the connection pool."""
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        from auth.tokens import TokenService
        from web import security, viewer
        from web.api import meetings
        from web.pages import context, meeting

        self.time_sync(TokenService, "decode", "auth: token decode")
        self.time_async(security.PrincipalDesk, "load", "auth: who is asking (PrincipalDesk)")
        self.time_async(viewer, "viewer_for", "viewer_for")
        self.time_async(meeting, "access_meeting_and_body", "access_meeting")
        self.time_async(meetings, "access_meeting", "access_meeting")
        for module in (context, meetings):
            self.time_async(module, "agenda", "agenda() (queries + shaping)")
        self.time_async(meeting, "meeting_context", "meeting_context (incl. agenda)")
        self.time_sync(meeting, "cacheable", "render (Jinja)")
        self.time_sync(meetings, "agenda_out", "agenda_out (dataclasses.asdict)")

        def before(conn: Any, *_: Any) -> None:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        def after(conn: Any, *_: Any) -> None:
            started = conn.info["bench_started"].pop()
            if (tally := self.tally()) is not None:
                tally.sql += 1
                tally.sql_seconds += time.perf_counter() - started

        def connected(*_: Any) -> None:
            if (tally := self.tally()) is not None:
                tally.connects += 1

        event.listen(Engine, "before_cursor_execute", before)
        event.listen(Engine, "after_cursor_execute", after)
        event.listen(Pool, "connect", connected)

    def start_sampling(self) -> None:
        """A SIGPROF every SAMPLE_INTERVAL of CPU time; Python runs the handler in the main thread, where
        the event loop runs, with the frame it interrupted."""
        import greenlet  # type: ignore[import-untyped]

        def on_sample(_: int, frame: FrameType | None) -> None:
            phase = self.sampling
            if phase is None or not self.in_flight:
                return
            keys = stack_keys(frame)
            # A greenlet's frames do not link to the code that switched into it: the caller's stack is
            # the parent greenlet's gr_frame (SQLAlchemy runs the sync ORM in greenlets).
            parent = greenlet.getcurrent().parent
            while parent is not None:
                keys += stack_keys(parent.gr_frame)
                parent = parent.parent
            if not keys:
                return
            found = self.samples.setdefault(phase, Samples())
            found.total += 1
            _bump(found.leaf_layers, layer_of(keys[0]))
            _bump(found.leaf, keys[0])
            for key in set(keys):
                _bump(found.inclusive, key)

        signal.signal(signal.SIGPROF, on_sample)
        signal.setitimer(signal.ITIMER_PROF, SAMPLE_INTERVAL, SAMPLE_INTERVAL)

    def stop_sampling(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)

    def wrap(self, app: Any) -> Any:
        async def instrumented(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            phase = dict(scope.get("headers", [])).get(PHASE_HEADER.encode(), b"").decode() or None
            token = PHASE.set(phase)
            self.sampling = phase
            self.in_flight += 1
            start = time.perf_counter()
            try:
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1
                if (tally := self.tally()) is not None:
                    tally.requests += 1
                    tally.seconds += time.perf_counter() - start
                PHASE.reset(token)

        return instrumented

    def save(self, out: Path) -> None:
        found = {
            "tallies": {k: asdict(v) for k, v in self.tallies.items()},
            "samples": {k: asdict(v) for k, v in self.samples.items()},
        }
        out.write_text(json.dumps(found))


def serve_instrumented(fd: int, data_dir: Path, out: Path) -> None:
    import uvicorn

    from web.app import create_app

    instruments = Instruments()
    instruments.install()
    instruments.start_sampling()
    sock = socket.socket(fileno=fd)
    app = create_app(bench_settings(data_dir, sock.getsockname()[1]))
    config = uvicorn.Config(
        instruments.wrap(app), log_config=None, log_level="warning", access_log=False, lifespan="on"
    )
    # uvicorn raises the SIGTERM it caught again once it has shut down; a handler of our own lets it return.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.Server(config).run(sockets=[sock])
    instruments.stop_sampling()
    instruments.save(out)


# ---- diagnosis -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Diagnosis:
    tallies: dict[str, Tally]
    samples: dict[str, Samples]
    workers: Measured


async def one_at_a_time(client: httpx.AsyncClient, path: str, phase: str, count: int) -> None:
    for _ in range(count):
        response = await client.get(path, headers={**HTML, PHASE_HEADER: phase})
        if response.status_code != 200:
            raise RuntimeError(f"{phase}: {response.status_code} from the instrumented server")


async def instrumented(
    data_dir: Path, data: Seeded, out: Path
) -> tuple[dict[str, Tally], dict[str, Samples]]:
    page, api = f"/meetings/{data.meeting_id}", f"/api/meetings/{data.meeting_id}"
    with running(data_dir, instrumented=out) as servers:
        anonymous, member = clients(servers.base_url)
        async with anonymous, member:
            await wait_ready(anonymous)
            member.headers.update(await sign_in(anonymous))
            for client, path, name in (
                (anonymous, page, "public"),
                (member, page, "member"),
                (member, api, "json"),
            ):
                await one_at_a_time(client, path, "warm", 5)
                await one_at_a_time(client, path, name, SEQUENTIAL)
            for client, name in ((anonymous, "public-50"), (member, "member-50")):
                batch = (client.get(page, headers={**HTML, PHASE_HEADER: name}) for _ in range(CLIENTS * 3))
                await asyncio.gather(*batch)
    found = json.loads(await asyncio.to_thread(out.read_text))
    return (
        {k: Tally(**v) for k, v in found["tallies"].items()},
        {k: Samples(**v) for k, v in found["samples"].items()},
    )


async def diagnose(data_dir: Path, data: Seeded) -> Diagnosis:
    with running(data_dir, processes=WORKERS) as servers:
        workers = await measure(servers, data, full=False)
    with tempfile.TemporaryDirectory(prefix="kokous-bench-instruments-") as out:
        tallies, samples = await instrumented(data_dir, data, Path(out) / "found.json")
    return Diagnosis(tallies, samples, workers)


def _ms(seconds: float, requests: int) -> str:
    return f"{seconds / requests * 1000:.1f} ms"


def breakdown(name: str, tally: Tally) -> str:
    parts = ", ".join(
        f"{part} {_ms(seconds, tally.requests)} ({seconds / tally.seconds:.0%})"
        for part, seconds in sorted(tally.parts.items(), key=lambda kv: -kv[1])
    )
    return (
        f"{name}, one request at a time ({tally.requests}): {_ms(tally.seconds, tally.requests)} in the app; "
        f"{tally.sql / tally.requests:.0f} SQL statements, {_ms(tally.sql_seconds, tally.requests)} "
        f"({tally.sql_seconds / tally.seconds:.0%}); {parts}"
    )


def _shares(counts: dict[str, int], total: int, top: int) -> str:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{key} {count / total:.0%}" for key, count in ranked)


def interesting(key: str) -> bool:
    """Kokous functions and partial templates worth naming with their callees (not the routes' wrappers)."""
    if re.search(r"templates/_\w+\.html:(root|macro)$", key) or key in LIBRARY_SPOTS:
        return True
    wrappers = (":__call__", ":meeting_page", ":get_meeting", ":<listcomp>", ":<genexpr>")
    return re.match(r"(web|meetings|auth|core)/[^:]*\.py:", key) is not None and not key.endswith(wrappers)


LIBRARY_SPOTS = frozenset(
    {
        "jinja2/environment.py:get_template",
        "<frozen genericpath>:getmtime",
        "gettext.py:gettext",
        "sqlalchemy/orm/loading.py:instances",
        "sqlalchemy/orm/session.py:get",
        "dataclasses.py:asdict",
        "litestar/serialization/msgspec_hooks.py:encode_json",
    }
)


def hotspots(name: str, samples: Samples) -> list[str]:
    """Where the main thread was, per SIGPROF sample of the process's CPU time, while requests were in
    flight; CPU spent by aiosqlite's threads is sampled too and lands wherever the main thread is."""
    total = samples.total or 1
    spots = {k: v for k, v in samples.inclusive.items() if interesting(k)}
    return [
        f"{name} ({samples.total} samples): own time by layer: {_shares(samples.leaf_layers, total, 8)}",
        f"{name}: incl. callees: {_shares(spots, total, 12)}",
        f"{name}: most own time: {_shares(samples.leaf, total, 6)}",
    ]


def diagnosis_notes(found: Diagnosis) -> list[str]:
    notes = [breakdown(n, found.tallies[n]) for n in ("public", "member", "json") if n in found.tallies]
    for name in ("public-50", "member-50"):
        if (tally := found.tallies.get(name)) and tally.requests:
            notes.append(
                f"{name.removesuffix('-50')} page, {CLIENTS} at a time: {tally.connects} database "
                f"connections opened for {tally.requests} requests (each one a pool running short); "
                f"{_ms(tally.seconds, tally.requests)} per request in the app"
            )
    for name in ("public", "member", "json", "public-50", "member-50"):
        if name in found.samples:
            notes += hotspots(name, found.samples[name])
    return notes


# ---- the section ---------------------------------------------------------------------------------


def run_figures(run: Run, health: Run) -> list[Figure]:
    label = f"GET /health, same {CLIENTS} clients"
    return [
        Figure(f"{run.label}: requests/s ({CLIENTS} clients)", run.rate, "req/s", health.rate, label),
        Figure(f"{run.label}: p50 latency", run.p(0.5), "ms", health.p(0.5), label),
        Figure(f"{run.label}: p99 latency", run.p(0.99), "ms", health.p(0.99), label),
        Figure(
            f"{run.label}: server CPU per request",
            run.cpu_ms_per_request,
            "ms",
            health.cpu_ms_per_request,
            label,
        ),
        Figure(
            f"{run.label}: latency alone, median of {len(run.alone)}",
            median(run.alone) * 1000,
            "ms",
            median(health.alone) * 1000,
            "GET /health alone",
        ),
    ]


def worker_figures(runs: Measured, single: Measured) -> list[Figure]:
    found = []
    for run, alone in ((runs.public, single.public), (runs.member, single.member)):
        label = "1 process"
        found += [
            Figure(f"{run.label}, {WORKERS} processes: requests/s", run.rate, "req/s", alone.rate, label),
            Figure(f"{run.label}, {WORKERS} processes: p99 latency", run.p(0.99), "ms", alone.p(0.99), label),
        ]
    return found


def build_section(data: Seeded, measured: Measured, found: Diagnosis | None) -> Section:
    health = measured.health
    pages = [measured.public, measured.member, *([measured.json] if measured.json else [])]
    section = Section(
        f"Agenda pages: {ITEMS} items, {ATTACHMENTS} attachments (SQLite, uvicorn on 127.0.0.1)"
    )
    section.figures = [
        Figure(f"GET /health: requests/s ({CLIENTS} clients)", health.rate, "req/s"),
        Figure("GET /health: p50 latency", health.p(0.5), "ms"),
        Figure("GET /health: p99 latency", health.p(0.99), "ms"),
    ]
    for run in pages:
        section.figures += run_figures(run, health)
    if found is not None:
        section.figures += worker_figures(found.workers, measured)
    section.targets = [
        Target(
            f"{run.label}: p99 under {TARGET_P99 * 1000:.0f} ms with {CLIENTS} clients "
            f"(was {run.p(0.99):.0f} ms)",
            run.p(0.99) < TARGET_P99 * 1000,
        )
        for run in (measured.public, measured.member)
    ]
    runs = [health, *pages]
    if found is not None:
        runs += [found.workers.public, found.workers.member]
    section.failures = [p for run in runs for p in run.problems][:20]
    section.notes = [
        f"{CLIENTS} closed-loop clients (keep-alive connections from a bare asyncio client in this process; "
        f"httpx checks the first and last answer in full), each run until {MAX_REQUESTS} answers or "
        f"{MAX_SECONDS:.0f} s: " + ", ".join(f"{len(r.latencies)} {r.label}" for r in runs[: len(pages) + 1]),
        f"closed loop: p50 ≈ {CLIENTS} / throughput (Little's law), so p99 under {TARGET_P99 * 1000:.0f} ms "
        f"needs about {CLIENTS / TARGET_P99:.0f} answers per second",
        "the load generator runs on the same machine; its CPU per run: "
        + ", ".join(f"{r.label} {r.client_cpu / r.wall:.0%}" for r in runs[: len(pages) + 1] if r.wall)
        + " of one core",
        "answers: " + ", ".join(f"{r.label} {r.size / 1024:.0f} KiB" for r in pages),
        f"seeded through the actions in {data.seconds:.1f} s: {len(data.secret_titles)} confidential and "
        f"{len(PARTLY_AT)} partly confidential items, {data.public_attachments} public and "
        f"{ATTACHMENTS - data.public_attachments} confidential attachments (bytes in the attachment store), "
        "call sent; the member signs in with a password and reads with a Bearer token",
        "every answer must be 200; the first and last of each run are checked in full: the public page "
        "shows every public title and no confidential title, text, attachment, contact detail or "
        "members' notice",
    ]
    if found is not None:
        section.notes += diagnosis_notes(found)
    return section


async def run() -> Section:
    with tempfile.TemporaryDirectory(prefix="kokous-bench-agenda-") as tmp:
        data_dir = Path(tmp)
        data = await seed(data_dir)
        with running(data_dir) as servers:
            measured = await measure(servers, data)
        missed = any(r.p(0.99) >= TARGET_P99 * 1000 for r in (measured.public, measured.member))
        found = await diagnose(data_dir, data) if missed or PROFILE else None
    return build_section(data, measured, found)


def main() -> None:
    parser = argparse.ArgumentParser(description="The instrumented server of the agenda pages benchmark.")
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the JSON file for timings and samples")
    args = parser.parse_args()
    serve_instrumented(args.fd, args.data_dir, args.out)


if __name__ == "__main__":
    main()
