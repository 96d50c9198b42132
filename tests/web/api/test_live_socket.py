"""The live meeting over WebSocket in one process (in-memory fan-out): a snapshot, then every event in order;
a reconnect catches up from the log; the public never learns of a confidential item (R-EMEET-5, R-PUB-2/3);
refusals close with the protocol's codes (docs/live.md, "WebSocket protocol")."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.config import MediaSettings
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.items import do_close_discussion, do_decide_without_vote, do_take_up_item
from meetings.live.actions.proposals import do_make_proposal
from meetings.live.events import events_after
from meetings.live.models import LiveMeeting
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, add_member, audit_entries, make_body, make_user
from tests.meetings.live.world import SECRET_TITLE, Board, hold, item_of, make_board, meeting_of
from web.api import live_socket as live_ws
from web.context import AppContext
from web.media_bridge import NOT_JOINED, NOT_PUBLIC, PUBLIC_FULL, MediaBridge
from web.realtime.fanout import LiveFanOut
from web.realtime.hub import Connection, Limits, Outgoing

WAIT = 5.0
SECRET_PROPOSAL = "Irtisanotaan Matti Meikäläinen."
Action = Callable[[AsyncSession, Any], Awaitable[object]]


@dataclass
class Live:
    app: Litestar
    context: AppContext
    client: TestClient[Litestar]
    portal: BlockingPortal
    board: Board

    @property
    def path(self) -> str:
        return f"/ws/meetings/{self.board.meeting_id}"

    @property
    def fanout(self) -> LiveFanOut:
        fanout: LiveFanOut = self.app.state.live
        return fanout

    def act(self, action: Action) -> None:
        """Run a domain action in the app's event loop, on its database, as a request would."""

        async def run() -> None:
            async with self.context.db.write() as session:
                await action(session, await meeting_of(session, self.board))

        self.portal.call(run)

    def arrive(self, person: int) -> None:
        chair = self.board.actor(self.board.chair)
        self.act(lambda s, m: do_record_arrival(s, meeting=m, user_id=person, remote=True, actor=chair))

    def take_up(self, item_id: int) -> None:
        async def action(session: AsyncSession, meeting: Any) -> None:
            item = await item_of(session, item_id)
            await do_take_up_item(
                session, meeting=meeting, item=item, actor=self.board.actor(self.board.chair)
            )

        self.act(action)

    def propose(self, item_id: int, person: int, text: str) -> None:
        async def action(session: AsyncSession, meeting: Any) -> None:
            item = await item_of(session, item_id)
            await do_make_proposal(
                session,
                meeting=meeting,
                item=item,
                user_id=person,
                kind="counter",
                text=text,
                actor=self.board.actor(person),
            )

        self.act(action)

    def finish(self, item_id: int) -> None:
        async def action(session: AsyncSession, meeting: Any) -> None:
            item = await item_of(session, item_id)
            chair = self.board.actor(self.board.chair)
            await do_close_discussion(session, meeting=meeting, item=item, actor=chair)
            await do_decide_without_vote(session, meeting=meeting, item=item, actor=chair)

        self.act(action)

    def version(self) -> int:
        async def read() -> int:
            async with self.context.db.read() as session:
                live = await session.get(LiveMeeting, self.board.meeting_id)
                assert live is not None
                return live.version

        return self.portal.call(read)

    def log_types(self, after: int) -> list[tuple[int, str]]:
        async def read() -> list[tuple[int, str]]:
            async with self.context.db.read() as session:
                return [
                    (e.version, e.type) for e in await events_after(session, self.board.meeting_id, after)
                ]

        return self.portal.call(read)

    def token(self, username: str) -> str:
        response = self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["tokens"]["access_token"]
        return token

    def connect(self, *, as_user: str | None = None, query: str = "", **headers: str) -> WebSocketTestSession:
        sent = {"origin": BASE_URL, **headers}
        if as_user is not None:
            sent["cookie"] = f"kokous_access={self.token(as_user)}"
        return self.client.websocket_connect(self.path + query, headers=sent)


def receive(socket: WebSocketTestSession) -> dict[str, Any]:
    """The next message that is not a ping."""
    while True:
        message: dict[str, Any] = socket.receive_json(timeout=WAIT)
        if message["kind"] != "ping":
            return message


def until(socket: WebSocketTestSession, version: int) -> list[dict[str, Any]]:
    """Messages until one at `version` (events, or a public snapshot) has arrived."""
    got: list[dict[str, Any]] = []
    while not got or got[-1].get("version", -1) < version:
        got.append(receive(socket))
    return got


def closed_with(socket: WebSocketTestSession) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        receive(socket)
    return closed.value.code


def live_for(
    standalone_app: tuple[Litestar, AppContext], clock: FixedClock, *, public: bool
) -> Iterator[Live]:
    app, context = standalone_app
    with TestClient(app, base_url=BASE_URL) as client:
        portal = client.blocking_portal
        board = portal.call(functools.partial(make_board, context, clock, public=public))
        portal.call(hold, context, clock, board)
        yield Live(app, context, client, portal, board)


@pytest.fixture
def live(standalone_app: tuple[Litestar, AppContext], clock: FixedClock) -> Iterator[Live]:
    """A public meeting, opened: its first item public, its second confidential."""
    yield from live_for(standalone_app, clock, public=True)


@pytest.fixture
def closed_meeting(standalone_app: tuple[Litestar, AppContext], clock: FixedClock) -> Iterator[Live]:
    yield from live_for(standalone_app, clock, public=False)


def test_a_member_gets_the_snapshot_then_every_event_in_order(live: Live) -> None:
    board = live.board
    with live.connect(as_user="m2") as socket:
        first = receive(socket)
        assert first["kind"] == "snapshot"
        start = first["version"]
        assert first["state"]["version"] == start == live.version()
        for person in board.members[:3]:
            live.arrive(person)
        live.take_up(board.items[0])
        live.propose(board.items[0], board.members[2], "Palautetaan valmisteluun.")
        end = live.version()
        got = until(socket, end)
    assert [m["kind"] for m in got] == ["event"] * len(got)
    assert [(m["version"], m["type"]) for m in got] == live.log_types(start)  # every event, in order
    made = next(m for m in got if m["type"] == "proposal.made")
    assert made["item"] == board.items[0]
    assert made["at"]


def test_a_reconnect_with_after_replays_the_missed_events_without_a_snapshot(live: Live) -> None:
    with live.connect(as_user="m2") as socket:
        seen = receive(socket)["version"]
    live.arrive(live.board.members[0])
    live.take_up(live.board.items[0])
    with live.connect(as_user="m2", query=f"?after={seen}") as socket:
        got = until(socket, live.version())
    assert [m["kind"] for m in got] == ["event"] * len(got)
    assert [m["version"] for m in got] == list(range(seen + 1, live.version() + 1))


def test_a_client_that_cannot_be_replayed_or_asks_gets_a_snapshot(live: Live) -> None:
    now = live.version()
    with live.connect(as_user="m2", query=f"?after={now + 50}") as socket:  # from another life of the server
        assert receive(socket)["kind"] == "snapshot"
        socket.send_json({"snapshot": True})  # what a client that saw a gap does
        again = receive(socket)
        assert (again["kind"], again["version"]) == ("snapshot", now)
        socket.send_json({"hello": 1})
        assert receive(socket)["kind"] == "error"
    with live.connect(as_user="m2", query="?after=-1") as socket:
        assert closed_with(socket) == live_ws.BAD_REQUEST


def test_a_lost_message_is_read_from_the_log_and_delivered_in_order(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = live.fanout.hub
    deliver = hub.event
    lost: list[int] = []

    def lossy(event: Any) -> None:  # the first event after the snapshot never arrives
        if not lost:
            lost.append(event.version)
            return
        deliver(event)

    with live.connect(as_user="m2") as socket:
        start = receive(socket)["version"]
        monkeypatch.setattr(hub, "event", lossy)
        live.arrive(live.board.members[0])
        live.arrive(live.board.members[1])
        got = until(socket, live.version())
    assert lost == [start + 1]
    assert [m["version"] for m in got] == list(range(start + 1, live.version() + 1))


def test_the_public_gets_snapshots_and_nothing_of_a_confidential_item(live: Live) -> None:
    board = live.board
    for person in board.members[:3]:
        live.arrive(person)
    live.take_up(board.items[0])
    with live.connect() as public, live.connect(as_user="m2") as member:
        first = receive(public)
        assert first["kind"] == "snapshot"
        assert first["state"]["current"]["title"] == "Talousarvio 2027"
        receive(member)
        live.finish(board.items[0])
        live.take_up(board.items[1])
        live.propose(board.items[1], board.members[2], SECRET_PROPOSAL)  # the public sees no change
        live.arrive(board.members[3])  # a change the public sees (R-VOTE-3: attendance is public)
        end = live.version()
        inside = until(member, end)
        outside = until(public, end)
    assert SECRET_PROPOSAL in json.dumps(inside, ensure_ascii=False)
    assert {m["kind"] for m in outside} == {"snapshot"}
    text = json.dumps(outside, ensure_ascii=False)
    assert SECRET_TITLE not in text
    assert SECRET_PROPOSAL not in text
    last = outside[-1]["state"]["current"]
    assert last["closed"] is True
    assert last["title"] is None
    assert last["proposals"] == []


def test_a_member_of_another_body_follows_as_the_public(live: Live) -> None:
    async def outsider() -> None:
        other = await make_body(live.context, "ltk", kind="committee", seats=3)
        person = await make_user(live.context, "toinen")
        await add_member(live.context, other, person.id, "member")

    live.portal.call(outsider)
    for person in live.board.members[:3]:
        live.arrive(person)
    live.take_up(live.board.items[0])
    live.finish(live.board.items[0])
    live.take_up(live.board.items[1])
    with live.connect(as_user="toinen") as socket:
        first = receive(socket)
        live.propose(live.board.items[1], live.board.members[2], SECRET_PROPOSAL)
        live.arrive(live.board.members[3])  # attendance is public: this comes as a snapshot
        got = until(socket, live.version())
    assert first["state"]["current"]["closed"] is True
    assert {m["kind"] for m in got} == {"snapshot"}
    assert SECRET_PROPOSAL not in json.dumps([first, *got], ensure_ascii=False)


def test_the_public_is_refused_a_closed_meeting(closed_meeting: Live) -> None:
    with closed_meeting.connect() as socket:
        assert closed_with(socket) == live_ws.FORBIDDEN
    denied = closed_meeting.portal.call(audit_entries, closed_meeting.context, "access.denied")
    assert denied[-1].subject == f"route:WEBSOCKET {closed_meeting.path}"
    with closed_meeting.client.websocket_connect(
        "/ws/meetings/999999", headers={"origin": BASE_URL}
    ) as socket:
        assert closed_with(socket) == live_ws.NOT_FOUND


def test_a_member_may_follow_their_closed_meeting(closed_meeting: Live) -> None:
    with closed_meeting.connect(as_user="m3") as socket:
        assert receive(socket)["kind"] == "snapshot"


def test_a_cross_site_handshake_is_refused(live: Live) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, live.connect(origin="https://evil.example") as socket:
        receive(socket)
    assert refused.value.code == 1008
    with live.connect(as_user="m2", **{"sec-fetch-site": "cross-site"}) as socket:
        assert closed_with(socket) == live_ws.POLICY


def test_a_signed_out_session_stops_receiving(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sign-in is checked again on a timer (REVALIDATE_SECONDS), not on each event."""
    monkeypatch.setattr(live_ws, "REVALIDATE_SECONDS", 0.2)
    token = live.token("m2")
    headers = {"origin": BASE_URL, "authorization": f"Bearer {token}"}
    with live.client.websocket_connect(live.path, headers=headers) as socket:
        assert receive(socket)["kind"] == "snapshot"
        response = live.client.post("/api/auth/logout", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 204
        assert closed_with(socket) == live_ws.SIGNED_OUT


def test_a_client_too_slow_to_keep_up_is_closed(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    live.fanout.hub.limits = Limits(queue=2)

    async def stuck(self: live_ws.Follower, text: str) -> None:
        if self.connection.version is not None:  # after the snapshot, the client reads nothing
            import asyncio

            await asyncio.sleep(60)
        await self.socket.send_text(text)

    monkeypatch.setattr(live_ws.Follower, "send", stuck)
    with live.connect(as_user="m2") as socket:
        assert receive(socket)["kind"] == "snapshot"
        for person in live.board.members:
            live.arrive(person)
        assert closed_with(socket) == live_ws.TOO_SLOW


def test_a_connection_queue_is_bounded() -> None:
    connection = Connection(1, insider=True, person=1, address="a", limit=2)
    for version in (1, 2, 3):
        connection.offer(Outgoing("event", version, "{}"))
    assert connection.queue.qsize() == 2
    assert connection.overflowed.is_set()


def test_a_person_s_connections_are_bounded(live: Live) -> None:
    live.fanout.hub.limits = Limits(per_person=1)
    with live.connect(as_user="m2") as first:
        receive(first)
        with live.connect(as_user="m2") as second:
            assert closed_with(second) == live_ws.TOO_MANY


def test_a_message_over_the_size_limit_closes_the_connection(live: Live) -> None:
    with live.connect() as socket:
        receive(socket)
        socket.send_text("x" * (live_ws.MESSAGE_BYTES + 1))
        assert closed_with(socket) == live_ws.TOO_BIG


def test_only_a_media_offer_may_be_longer_and_it_too_is_bounded(live: Live) -> None:
    """An SDP offer needs more than 4 KiB; nothing else gets it, and even an offer stops at 64 KiB. A
    message too big is audited (access.denied) as well as closed."""
    padding = "a" * (live_ws.MESSAGE_BYTES + 1)
    with live.connect() as socket:
        receive(socket)
        socket.send_text(json.dumps({"kind": "media.offer", "sdp": "v=0\r\n" + padding, "id": 3}))
        reply = receive(socket)  # long enough to be read; here the hub is not running
        assert (reply["kind"], reply["id"], reply["status"]) == ("media.error", 3, 404)
        socket.send_text(json.dumps({"snapshot": True, "padding": padding}))
        assert closed_with(socket) == live_ws.TOO_BIG
    with live.connect(as_user="m2") as socket:
        receive(socket)
        huge = "v=0\r\n" + "a" * live_ws.MEDIA_MESSAGE_BYTES
        socket.send_text(json.dumps({"kind": "media.offer", "sdp": huge}))
        assert closed_with(socket) == live_ws.TOO_BIG

    async def denials() -> list[str]:
        return [e.data for e in await audit_entries(live.context, "access.denied")]

    found = live.portal.call(denials)
    assert sum("a message of" in data for data in found) == 2, found


def test_a_media_offer_over_the_socket_is_refused_as_the_http_route_refuses_it(closed_meeting: Live) -> None:
    """A closed meeting: the presenter follows it (they read the body's agendas) but does not take part with
    sound and picture unless seated or present, so their offer is refused with the route's 403, audited."""
    live = closed_meeting

    async def start() -> MediaBridge:
        return MediaBridge(live.context.db, replace(MediaSettings(), enabled=True))

    live.app.state.media = bridge = live.portal.call(start)
    try:
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
        with live.connect(as_user="esittelija", **{"accept-language": "en"}) as socket:
            assert receive(socket)["kind"] == "snapshot"
            socket.send_text(json.dumps({"kind": "media.offer", "sdp": sdp, "id": 5}))
            refused = receive(socket)
            assert (refused["kind"], refused["id"], refused["status"]) == ("media.error", 5, 403)
            assert refused["message"] == NOT_PUBLIC
            socket.send_text(json.dumps({"kind": "media.offer", "sdp": sdp, "id": 6, "extra": 1}))
            assert receive(socket)["status"] == 400  # unknown fields are refused, as by the route
        by_http = live.client.post(
            f"/api/meetings/{live.board.meeting_id}/media/offer",
            json={"sdp": sdp},
            headers={"authorization": f"Bearer {live.token('esittelija')}", "accept-language": "en"},
        )
        assert (by_http.status_code, by_http.json()["error"]) == (403, NOT_PUBLIC)

        async def denied() -> list[str]:
            return [e.data for e in await audit_entries(live.context, "access.denied")]

        assert sum("media offer" in data for data in live.portal.call(denied)) == 1
        assert not live.portal.call(audit_entries, live.context, "media.joined")
    finally:
        live.portal.call(bridge.close)
        live.app.state.media = None


def test_a_renegotiation_over_the_socket_is_refused_as_the_http_route_refuses_it(
    closed_meeting: Live,
) -> None:
    """`media.renegotiate`: the presenter, who does not take part, is refused (403, audited); a member who
    has not joined is told to join first (409); it is bounded as an offer is."""
    live = closed_meeting

    async def start() -> MediaBridge:
        return MediaBridge(live.context.db, replace(MediaSettings(), enabled=True))

    live.app.state.media = bridge = live.portal.call(start)
    try:
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        with live.connect(as_user="esittelija", **{"accept-language": "en"}) as socket:
            assert receive(socket)["kind"] == "snapshot"
            socket.send_text(json.dumps({"kind": "media.renegotiate", "sdp": sdp, "id": 5}))
            refused = receive(socket)
            assert (refused["kind"], refused["id"], refused["status"]) == ("media.error", 5, 403)
            assert refused["message"] == NOT_PUBLIC  # as the offer: this meeting is not public
        with live.connect(as_user="m2", **{"accept-language": "en"}) as socket:
            assert receive(socket)["kind"] == "snapshot"
            socket.send_text(json.dumps({"kind": "media.renegotiate", "sdp": sdp, "id": 6}))
            not_joined = receive(socket)
            assert (not_joined["id"], not_joined["status"], not_joined["message"]) == (6, 409, NOT_JOINED)
            huge = "v=0\r\n" + "a" * live_ws.MEDIA_MESSAGE_BYTES
            socket.send_text(json.dumps({"kind": "media.renegotiate", "sdp": huge}))
            assert closed_with(socket) == live_ws.TOO_BIG

        async def denied() -> list[str]:
            return [e.data for e in await audit_entries(live.context, "access.denied")]

        assert sum("media renegotiation" in data for data in live.portal.call(denied)) == 1
        assert not live.portal.call(audit_entries, live.context, "media.renegotiated")
    finally:
        live.portal.call(bridge.close)
        live.app.state.media = None


async def test_the_hub_puts_early_events_in_order_and_drops_duplicates() -> None:
    """Across processes two commits' messages may race: the later one waits for the earlier one."""
    from datetime import UTC, datetime

    from meetings.live.events import LiveEvent
    from web.realtime.hub import Hub

    hub = Hub(db=None)  # type: ignore[arg-type]  # no gap lasts long enough here to read the log
    member = hub.join(7, insider=True, person=1, address="a")
    hub.started(member, 5)

    def event(version: int) -> LiveEvent:
        return LiveEvent(7, version, "attendance.arrived", None, {}, datetime(2026, 1, 1, tzinfo=UTC))

    for version in (7, 6, 6, 5, 8):
        hub.event(event(version))
    got = [member.queue.get_nowait().version for _ in range(member.queue.qsize())]
    assert got == [6, 7, 8]
    hub.leave(member)
    assert hub.channels == {}
    assert hub.count == 0


def test_the_public_hears_nothing_of_a_vote_on_a_confidential_item(live: Live) -> None:
    """Vote progress is a hint for the body; the public gets it only for a vote its snapshot shows."""
    from sqlalchemy import select

    from meetings.live.actions.items import do_approve_order
    from meetings.live.actions.proposals import do_second_proposal
    from meetings.live.actions.voting import do_cast_ballot, do_open_vote
    from meetings.live.models import Proposal

    board = live.board
    chair = board.actor(board.chair)
    for person in board.members[:4]:
        live.arrive(person)
    live.take_up(board.items[0])
    live.finish(board.items[0])
    live.take_up(board.items[1])
    live.propose(board.items[1], board.members[2], SECRET_PROPOSAL)
    opened: list[int] = []

    async def to_the_vote(session: AsyncSession, meeting: Any) -> None:
        item = await item_of(session, board.items[1])
        rows = (await session.execute(select(Proposal).where(Proposal.item_id == item.id))).scalars().all()
        base = next(p for p in rows if p.kind == "base")
        counter = next(p for p in rows if p.kind == "counter")
        await do_second_proposal(
            session, meeting=meeting, proposal=counter, user_id=board.members[3], actor=chair
        )
        await do_close_discussion(session, meeting=meeting, item=item, actor=chair)
        await do_approve_order(session, meeting=meeting, item=item, order=[counter.id, base.id], actor=chair)
        opened.append((await do_open_vote(session, meeting=meeting, item=item, actor=chair)).id)

    with live.connect() as public, live.connect(as_user="m2") as member:
        receive(public)
        receive(member)
        live.act(to_the_vote)

        async def cast(session: AsyncSession, meeting: Any) -> None:
            from meetings.live.models import Vote

            vote = await session.get(Vote, opened[0])
            assert vote is not None
            await do_cast_ballot(session, vote=vote, user_id=board.members[0], choice="jaa", actor=chair)

        live.act(cast)
        inside = [receive(member)]
        while inside[-1]["kind"] != "progress":
            inside.append(receive(member))
        assert inside[-1] == {"kind": "progress", "vote": opened[0], "cast": 1}
        live.arrive(board.members[4])  # something the public sees, after the ballot
        outside = until(public, live.version())
    assert {m["kind"] for m in outside} == {"snapshot"}
    assert str(opened[0]) not in json.dumps([m["state"]["current"] for m in outside])


def test_a_secret_elections_progress_is_a_count_and_nothing_more(live: Live) -> None:
    """R-ELECT-8: the body hears how many have voted in an election, as for a vote; never who chose what."""
    from meetings.live.actions.elections import Nomination, do_cast_election_ballot, do_open_election
    from meetings.live.models import Election
    from meetings.rules.elections import Method

    board = live.board
    chair = board.actor(board.chair)
    for person in board.members[:4]:
        live.arrive(person)
    live.take_up(board.items[0])
    opened: list[int] = []

    async def open_election(session: AsyncSession, meeting: Any) -> None:
        election = await do_open_election(
            session,
            meeting=meeting,
            item=await item_of(session, board.items[0]),
            title="Edustaja",
            method=Method.MAJORITY,
            secret=True,
            seats=1,
            deputies=0,
            candidates=[Nomination("Aino Aalto"), Nomination("Bertta Berg")],
            actor=chair,
        )
        opened.append(election.id)

    async def cast(session: AsyncSession, meeting: Any) -> None:
        election = await session.get(Election, opened[0])
        assert election is not None
        await do_cast_election_ballot(
            session, election=election, user_id=board.members[0], choice=[], actor=chair
        )

    with live.connect(as_user="m2") as member:
        receive(member)
        live.act(open_election)
        live.act(cast)
        heard = [receive(member)]
        while heard[-1]["kind"] != "progress":
            heard.append(receive(member))
    assert heard[-1] == {"kind": "progress", "election": opened[0], "cast": 1}


def test_messages_from_redis_reach_the_hub_unless_they_are_this_process_s_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from web.realtime.fanout import LiveFanOut

    class Signals:
        def subscribe(self, topic: str, listener: object) -> None:
            pass

    class Db:
        signals = Signals()

    fanout = LiveFanOut(Db(), redis_url="redis://unused", channel="test")  # type: ignore[arg-type]
    heard: list[object] = []
    fanout.hub.event = heard.append  # type: ignore[method-assign,assignment]
    fanout.hub.progress = heard.append  # type: ignore[method-assign,assignment]
    event = {"kind": "event", "meeting": 3, "version": 9, "type": "item.taken_up", "item": 4, "data": {}}
    event["at"] = "2026-11-28T09:00:00+00:00"
    fanout._received(json.dumps({"origin": fanout.origin, **event}))  # our own: delivered already
    assert heard == []
    fanout._received(json.dumps({"origin": "another", **event}))
    fanout._received(
        json.dumps({"origin": "another", "kind": "progress", "meeting": 3, "vote": 1, "cast": 2})
    )
    fanout._received(b"{not json")
    assert [getattr(h, "version", None) for h in heard] == [9, None]
    assert "malformed" in caplog.text


def test_offers_are_bounded_per_person_and_minute_over_both_paths(live: Live) -> None:
    """Each offer is a connection the hub sets up: beyond `offers_per_minute` a person's offers and
    renegotiations in a meeting get 429 with when to retry, over HTTP and the WebSocket alike, audited as
    media.rate_limited (summarised when it repeats)."""

    async def start() -> MediaBridge:
        return MediaBridge(live.context.db, replace(MediaSettings(), enabled=True, offers_per_minute=3))

    live.app.state.media = bridge = live.portal.call(start)
    try:
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"  # no media: refused after the count, by the hub
        url = f"/api/meetings/{live.board.meeting_id}/media"
        headers = {"authorization": f"Bearer {live.token('m2')}", "accept-language": "en"}
        statuses = [
            live.client.post(f"{url}/{path}", json={"sdp": sdp}, headers=headers).status_code
            for path in ("offer", "renegotiate", "offer")
        ]
        assert 429 not in statuses
        over = live.client.post(f"{url}/renegotiate", json={"sdp": sdp}, headers=headers)
        assert over.status_code == 429
        assert 0 < int(over.headers["retry-after"]) <= 60
        assert over.json()["error"].startswith("Too many attempts to connect sound and picture")
        with live.connect(as_user="m2", **{"accept-language": "en"}) as socket:
            assert receive(socket)["kind"] == "snapshot"
            socket.send_text(json.dumps({"kind": "media.offer", "sdp": sdp, "id": 7}))
            assert receive(socket)["status"] == 429
        # Another member has their own count.
        other = {"authorization": f"Bearer {live.token('m3')}", "accept-language": "en"}
        assert live.client.post(f"{url}/offer", json={"sdp": sdp}, headers=other).status_code != 429

        entries = live.portal.call(audit_entries, live.context, "media.rate_limited")
        assert len(entries) == 2
        assert all(e.subject == f"meeting:{live.board.meeting_id}" for e in entries)
        assert {e.actor for e in entries} == {live.board.actor(live.board.people["m2"])}
    finally:
        live.portal.call(bridge.close)
        live.app.state.media = None


def test_the_public_stream_takes_at_most_its_viewers(live: Live) -> None:
    """KOKOUS_MEDIA_MAX_PUBLIC: past it a public viewer is told the stream is full (429, retry in a minute)
    before the hub makes a connection; members taking part are not counted."""

    async def start() -> MediaBridge:
        return MediaBridge(live.context.db, replace(MediaSettings(), enabled=True, max_public_viewers=0))

    live.app.state.media = bridge = live.portal.call(start)
    try:
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        full = live.client.post(
            f"/api/meetings/{live.board.meeting_id}/media/offer",
            json={"sdp": sdp},
            headers={"accept-language": "en"},
        )
        assert (full.status_code, full.headers["retry-after"]) == (429, "60")
        assert full.json()["error"] == PUBLIC_FULL
        assert not live.portal.call(bridge.hub.rooms)
    finally:
        live.portal.call(bridge.close)
        live.app.state.media = None
