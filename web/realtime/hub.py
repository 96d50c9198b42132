"""The process's live-meeting hub: who follows which meeting here, and what each of them is sent.

A committed event reaches the hub once per process (from this process's own commit, or through the fan-out
backend from another). The hub puts events in version order per meeting (holding a later one back briefly
and reading the log when one is missing), serialises each message once, and offers it to every
connection's bounded queue. The body (insiders) gets the events themselves; everyone else (the public, a
member of another body) gets a fresh public snapshot, computed once per change for all of them and sent
only when what the public sees has changed (docs/live.md, "WebSocket protocol").
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from core.db import Database
from meetings.access import PUBLIC, Viewer
from meetings.live.events import LiveEvent, events_after
from meetings.live.models import LiveMeeting
from meetings.live.queries import as_json, live_view
from meetings.models import Meeting

log = logging.getLogger("kokous.live")

GAP_WAIT_SECONDS = 0.25  # how long a later event waits for a missing earlier one before the log is read
REPLAY_LIMIT = 200  # a client further behind than this gets a snapshot instead of the events it missed
SNAPSHOT_TRIES = 3  # a snapshot read while events commit is read again, at most this often
READ_SLOTS = 8  # database reads for followers at once: a reconnect storm waits here, not for the pool


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one process's memory in check (docs/live.md)."""

    queue: int = 256  # messages waiting for one connection; a connection that falls further behind is closed
    per_process: int = 20_000
    per_person: int = 10  # a person's tabs and devices
    per_address: int = 200  # anonymous followers from one address (a library, a council chamber's Wi-Fi)


class LimitReachedError(Exception):
    """A connection over one of the limits."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A serialised message in a connection's queue; `version` orders events and snapshots (else 0)."""

    kind: str  # "event", "snapshot", "progress", "ping", "error" or "resync" (the client asked for one)
    version: int
    text: str


@dataclass(eq=False, slots=True)
class Connection:
    """One follower: its bounded queue, the version it has, and whether it sees the body's view."""

    meeting_id: int
    insider: bool
    person: int | None
    address: str
    limit: int
    queue: asyncio.Queue[Outgoing] = field(init=False)
    version: int | None = None  # what the client has; None until its first snapshot
    overflowed: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.limit)
        self.overflowed = asyncio.Event()

    def offer(self, message: Outgoing) -> None:
        """Queue `message`; a full queue marks the connection overflowed: it is closed, never waited for."""
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


@dataclass(frozen=True, slots=True)
class PublicState:
    version: int
    text: str  # the snapshot message
    key: str  # the state without its version: unchanged means the public saw nothing new
    votes: frozenset[int]  # the votes the public may see (progress on others is not forwarded)
    elections: frozenset[int] = frozenset()  # likewise the elections


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def snapshot_message(version: int, state: dict[str, Any]) -> str:
    return dumps({"kind": "snapshot", "version": version, "state": state})


def event_message(event: LiveEvent) -> str:
    return dumps({"kind": "event", **event.message()})


async def read_snapshot(db: Database, viewer: Viewer, meeting_id: int) -> tuple[int, dict[str, Any]] | None:
    """The meeting as `viewer` sees it with the version it is at, or None if it has not been opened.

    The view is read in several statements; if an event committed meanwhile (the version changed by the
    last statement), it is read again, so the state always matches its version."""
    for _ in range(SNAPSHOT_TRIES):
        async with db.read(bounded=True) as session:
            meeting = await session.get(Meeting, meeting_id)
            live = await session.get(LiveMeeting, meeting_id)
            if meeting is None or live is None:
                return None
            view = await live_view(session, viewer, meeting, live)
            query = select(LiveMeeting.version).where(LiveMeeting.meeting_id == meeting_id)
            if (await session.execute(query)).scalar_one() == view.version:
                break
    return view.version, as_json(view)


def public_state(version: int, state: dict[str, Any]) -> PublicState:
    current = state.get("current") or {}
    votes = frozenset(int(v["id"]) for v in current.get("votes", ()))
    elections = frozenset(int(e["id"]) for e in current.get("elections", ()))
    key = dumps({k: v for k, v in state.items() if k != "version"})
    return PublicState(version, snapshot_message(version, state), key, votes, elections)


class Channel:
    """One meeting's followers in this process, and its events put in order."""

    def __init__(self, hub: Hub, meeting_id: int) -> None:
        self.hub = hub
        self.meeting_id = meeting_id
        self.connections: set[Connection] = set()
        self.version: int | None = None  # the last event offered to the connections
        self.pending: dict[int, LiveEvent] = {}
        self.public: PublicState | None = None
        self._public_lock = asyncio.Lock()
        self._public_wanted = 0
        self._public_task: asyncio.Task[None] | None = None
        self._gap_task: asyncio.Task[None] | None = None

    @property
    def outsiders(self) -> bool:
        return any(not c.insider for c in self.connections)

    def arrive(self, event: LiveEvent) -> None:
        """Offer `event` in version order: a duplicate is dropped, one that comes early waits for the rest."""
        if self.version is not None and event.version <= self.version:
            return
        if self.version is not None and event.version > self.version + 1:
            self.pending[event.version] = event
            if self._gap_task is None or self._gap_task.done():
                self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap())
            return
        self.offer_now(event)
        while self.version is not None and self.version + 1 in self.pending:
            self.offer_now(self.pending.pop(self.version + 1))

    def offer_now(self, event: LiveEvent) -> None:
        self.version = event.version
        message = Outgoing("event", event.version, event_message(event))
        for connection in self.connections:
            if connection.insider:
                connection.offer(message)
        if self.outsiders:
            self.refresh_public(event.version)

    async def _fill_gap(self) -> None:
        """A later event came and an earlier one has not: wait a moment, then read the missing ones."""
        await asyncio.sleep(GAP_WAIT_SECONDS)
        if not self.pending or self.version is None:
            return
        try:
            async with self.hub.db.read() as session:
                missing = await events_after(session, self.meeting_id, self.version)
        except Exception:
            log.exception("reading the events of meeting %s failed", self.meeting_id)
            missing = []
        for event in missing:
            self.arrive(event)
        # Whatever is still held back goes out in order; each connection reads its own gap from the log.
        for version in sorted(self.pending):
            if self.version is None or version > self.version:
                self.offer_now(self.pending[version])
        self.pending.clear()

    def progress(self, vote: int, cast: int, *, of: str = "vote") -> None:
        """How many have voted in a vote (or, with of="election", an election): never how."""
        message = Outgoing("progress", 0, dumps({"kind": "progress", of: vote, "cast": cast}))
        public = self.public
        shown = frozenset() if public is None else (public.elections if of == "election" else public.votes)
        for connection in self.connections:
            if connection.insider or vote in shown:
                connection.offer(message)

    def refresh_public(self, version: int) -> None:
        """Recompute the public snapshot (once, however many follow); send it if the public sees a change."""
        self._public_wanted = max(self._public_wanted, version)
        if self._public_task is None or self._public_task.done():
            self._public_task = asyncio.get_running_loop().create_task(self._refresh_public())

    async def _refresh_public(self) -> None:
        for _ in range(SNAPSHOT_TRIES):
            before = self.public
            try:
                state = await self.public_snapshot(at_least=self._public_wanted)
            except Exception:
                log.exception("the public snapshot of meeting %s failed", self.meeting_id)
                return
            if state is None:
                return
            if before is None or state.key != before.key:
                message = Outgoing("snapshot", state.version, state.text)
                for connection in self.connections:
                    if not connection.insider:
                        connection.offer(message)
            if state.version >= self._public_wanted:
                return

    async def public_snapshot(self, *, at_least: int = 0) -> PublicState | None:
        """The public's view, read at most once per change however many ask at once."""
        async with self._public_lock:
            known = max(at_least, self.version or 0)
            if self.public is not None and self.public.version >= known:
                return self.public
            async with self.hub.reads:
                found = await read_snapshot(self.hub.db, PUBLIC, self.meeting_id)
            if found is None:
                return None
            self.public = public_state(*found)
            return self.public


class Hub:
    """The live meetings followed in this process."""

    def __init__(self, db: Database, limits: Limits | None = None) -> None:
        self.db = db
        self.limits = limits or Limits()
        self.channels: dict[int, Channel] = {}
        self.count = 0
        self.reads = asyncio.Semaphore(READ_SLOTS)
        self._by_person: dict[int, int] = {}
        self._by_address: dict[str, int] = {}
        # The last check of each sign-in that follows here (web.api.live_socket): one check per sign-in and
        # interval, however many tabs it has open.
        self.checked: dict[tuple[int, str, int], tuple[float, asyncio.Future[object]]] = {}

    def join(self, meeting_id: int, *, insider: bool, person: int | None, address: str) -> Connection:
        """A new follower of `meeting_id`, subscribed before its snapshot is read (so that it misses
        nothing committed meanwhile); refused over the limits."""
        limits = self.limits
        if self.count >= limits.per_process:
            raise LimitReachedError("server full")
        if person is not None and self._by_person.get(person, 0) >= limits.per_person:
            raise LimitReachedError("too many connections of this person")
        if person is None and self._by_address.get(address, 0) >= limits.per_address:
            raise LimitReachedError("too many connections from this address")
        connection = Connection(meeting_id, insider, person, address, limits.queue)
        channel = self.channels.get(meeting_id)
        if channel is None:
            channel = self.channels[meeting_id] = Channel(self, meeting_id)
        channel.connections.add(connection)
        self.count += 1
        if person is not None:
            self._by_person[person] = self._by_person.get(person, 0) + 1
        else:
            self._by_address[address] = self._by_address.get(address, 0) + 1
        return connection

    def leave(self, connection: Connection) -> None:
        channel = self.channels.get(connection.meeting_id)
        if channel is None or connection not in channel.connections:
            return
        channel.connections.discard(connection)
        self.count -= 1
        counts, key = (
            (self._by_person, connection.person)
            if connection.person is not None
            else (self._by_address, connection.address)
        )
        counts[key] -= 1  # type: ignore[index]
        if not counts[key]:  # type: ignore[index]
            del counts[key]  # type: ignore[arg-type]
        if not channel.connections:
            del self.channels[connection.meeting_id]

    def channel(self, meeting_id: int) -> Channel | None:
        return self.channels.get(meeting_id)

    def started(self, connection: Connection, version: int) -> None:
        """The connection's first snapshot (or replay) was at `version`."""
        connection.version = version
        channel = self.channels.get(connection.meeting_id)
        if channel is not None and channel.version is None:
            channel.version = version

    def event(self, event: LiveEvent) -> None:
        """A committed event (of this process or another); runs on the event loop."""
        channel = self.channels.get(event.meeting_id)
        if channel is not None:
            channel.arrive(event)

    def progress(self, payload: dict[str, Any]) -> None:
        """How many have voted (VOTE_PROGRESS's payload, of a vote or an election): a hint for the body, and
        for the public on a vote or an election it can see."""
        channel = self.channels.get(int(payload["meeting"]))
        if channel is not None:
            if "election" in payload:
                channel.progress(int(payload["election"]), int(payload["cast"]), of="election")
            else:
                channel.progress(int(payload["vote"]), int(payload["cast"]))

    async def catch_up(self) -> None:
        """After the backend missed messages (Redis reconnected): read each followed meeting's new events."""
        for channel in list(self.channels.values()):
            if channel.version is None:
                continue
            try:
                async with self.db.read() as session:
                    missing = await events_after(session, channel.meeting_id, channel.version)
            except Exception:
                log.exception("catching up meeting %s failed", channel.meeting_id)
                continue
            if len(missing) > REPLAY_LIMIT:
                # Too many to replay: each connection sees the jump and asks for a snapshot of its own.
                channel.offer_now(missing[-1])
                continue
            for event in missing:
                channel.arrive(event)
