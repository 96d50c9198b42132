"""The recordings of a meeting's public items (docs/media.md, "Recording"): the setting, its refusals and
the downloads, with files put where the hub writes them. The hub recording a real meeting's public items is
tests/web/test_media_recording.py."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.clock import FixedClock
from core.config import settings_from_env
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.models import Body, Meeting, MeetingStatus
from minutes.models import MinutesRecord
from minutes.workflow import removal_at
from tests.factories import api_login, audit_entries, enrol_totp, make_body, make_person
from tests.meetings.live.world import Board, make_board
from tests.web.minutes_world import People, checked, open_minutes, people, signed
from tests.web.pages.test_admin import browser_login
from tests.web.pages.test_signin import csrf_from
from web.context import AppContext
from web.media_bridge import MeetingMedia, plan
from web.recordings import flush_download_counts, folder, listing, new_path, parse, prune, prune_when_due

WEBM = b"\x1aE\xdf\xa3 a recording"


async def _headers(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, name: str
) -> dict[str, str]:
    """The chair and the secretary sign in with a second factor."""
    secret = await enrol_totp(context, name) if name in ("m1", "sihteeri", "muu_sihteeri") else None
    return await api_login(client, name, secret=secret, clock=clock)


@pytest.fixture
def recordings_dir(context: AppContext) -> Iterator[Path]:
    place = context.settings.data_dir / "recordings"
    yield place
    shutil.rmtree(place, ignore_errors=True)


def _put(context: AppContext, meeting_id: int, name: str) -> Path:
    path = folder(context.settings.data_dir, meeting_id) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(WEBM)
    return path


def test_a_recording_is_named_by_its_item_and_start_and_never_overwritten(tmp_path: Path) -> None:
    at = datetime(2026, 12, 7, 14, 5, 9, tzinfo=UTC)
    first = new_path(tmp_path, 7, 3, at)
    assert first == tmp_path / "recordings" / "7" / "item-3_20261207T140509Z.webm"
    first.parent.mkdir(parents=True)
    first.write_bytes(WEBM)
    again = new_path(tmp_path, 7, 3, at)
    assert again.name == "item-3_20261207T140509Z-2.webm"
    again.write_bytes(b"")
    (first.parent / "notes.txt").write_text("not a recording")
    assert [(f.name, f.section, f.size) for f in listing(tmp_path, 7)] == [
        (first.name, 3, len(WEBM)),
        (again.name, 3, 0),
    ]
    assert listing(tmp_path, 8) == []
    for bad in ("../item-3_20261207T140509Z.webm", "item-3_20261207T140509Z.ogg", "item-x_1.webm", "a" * 50):
        assert parse(bad) is None


def test_the_plan_records_a_public_item_only_while_the_meeting_runs() -> None:
    """R-EMEET-6: never a closed item; nothing while suspended; nothing unless switched on."""
    running = MeetingMedia(True, "1", None, True, None, frozenset(), item=5, section=3, recording=True)
    assert plan(running, [], frozenset()).record == 5
    assert plan(running.__class__(**{**_fields(running), "recording": False}), [], frozenset()).record is None
    assert plan(running.__class__(**{**_fields(running), "suspended": True}), [], frozenset()).record is None
    closed = running.__class__(**{**_fields(running), "closed_item": 5})
    assert plan(closed, [], frozenset()).record is None
    not_public = running.__class__(**{**_fields(running), "public_meeting": False})
    assert plan(not_public, [], frozenset()).record is None
    no_item = running.__class__(**{**_fields(running), "item": None, "section": None})
    assert plan(no_item, [], frozenset()).record is None


def _fields(state: MeetingMedia) -> dict[str, object]:
    return {name: getattr(state, name) for name in state.__slots__}


async def test_the_chair_and_the_secretary_switch_the_recording_and_it_is_audited(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=True)
    url = f"/api/meetings/{board.meeting_id}/recording"
    secretary = await _headers(client, context, clock, "sihteeri")

    listed = await client.get(f"/api/meetings/{board.meeting_id}/recordings", headers=secretary)
    assert listed.json() == {"on": False, "recording": None, "files": [], "offered": False, "public": []}
    switched = await client.post(url, headers=secretary, json={"on": True})
    assert switched.status_code == 200, switched.text
    assert switched.json()["on"] is True
    again = await client.post(url, headers=secretary, json={"on": True})  # no change: no second entry
    assert again.json()["on"] is True
    chair = await _headers(client, context, clock, "m1")
    off = await client.post(url, headers=chair, json={"on": False})
    assert off.json()["on"] is False

    entries = await audit_entries(context, "media.recording_set")
    assert [(e.actor, e.subject, e.data) for e in entries] == [
        (f"user:{board.secretary}", f"meeting:{board.meeting_id}", '{"on":true}'),
        (f"user:{board.chair}", f"meeting:{board.meeting_id}", '{"on":false}'),
    ]


async def test_who_may_not_switch_the_recording_is_refused_with_a_reason(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=False)
    url = f"/api/meetings/{board.meeting_id}/recording"
    member = await api_login(client, "m2")
    refused = await client.post(url, headers=member, json={"on": True})
    assert refused.status_code == 403
    assert refused.json()["error"] == "Only the body's chair and secretary handle the meeting's recordings."
    assert (await client.post(url, json={"on": True})).status_code == 401
    secretary = await _headers(client, context, clock, "sihteeri")
    closed = await client.post(url, headers=secretary, json={"on": True})
    assert closed.status_code == 409
    assert closed.json()["error"] == "This meeting is not public: it has no public stream to record."
    bad = await client.post(url, headers=secretary, json={"on": "yes please"})
    assert bad.status_code == 400
    assert not await audit_entries(context, "media.recording_set")


async def test_a_recording_downloads_for_the_chair_and_the_secretary_only(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board: Board = await make_board(context, clock, public=True)
    name = "item-1_20261207T140509Z.webm"
    _put(context, board.meeting_id, name)
    url = f"/api/meetings/{board.meeting_id}/recordings/{name}"
    other_body = await make_body(context, "tila", kind="committee")
    await make_person(context, "muu_sihteeri", other_body, "secretary")

    for who in ("sihteeri", "m1"):
        got = await client.get(url, headers=await _headers(client, context, clock, who))
        assert got.status_code == 200, got.text
        assert got.content == WEBM
        assert got.headers["content-type"] == "video/webm"
        assert (
            got.headers["content-disposition"] == f'attachment; filename="meeting-{board.meeting_id}-{name}"'
        )
    member = await client.get(url, headers=await api_login(client, "m2"))
    assert member.status_code == 403
    assert (await client.get(url)).status_code == 401
    other = await client.get(url, headers=await _headers(client, context, clock, "muu_sihteeri"))
    assert other.status_code == 403  # a public meeting is visible to them; its recordings are not theirs
    secretary = await _headers(client, context, clock, "sihteeri")
    for missing in ("item-1_20261207T140510Z.webm", "..%2F..%2Fkokous.sqlite3", "x" * 41):
        assert (await client.get(f"{url.rsplit('/', 1)[0]}/{missing}", headers=secretary)).status_code in (
            400,
            404,
        )
    listed = await client.get(f"/api/meetings/{board.meeting_id}/recordings", headers=secretary)
    assert listed.json()["files"] == [
        {"name": name, "section": 1, "started": "2026-12-07T14:05:09.000000Z", "size": len(WEBM), "url": url}
    ]


async def test_a_meeting_hidden_from_another_body_and_its_recordings_are_not_found(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    """A draft is seen only by its own body's chair and secretary: to anyone else it does not exist."""
    board = await make_board(context, clock, public=True)
    async with context.db.write() as session:
        body = await session.get(Body, board.body_id)
        assert body is not None
        draft = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=clock() + timedelta(days=30), place="Kunnantalo", is_public=True),
            actor=f"user:{board.secretary}",
        )
    name = "item-1_20261207T140509Z.webm"
    _put(context, draft.id, name)
    other_body = await make_body(context, "tila", kind="committee")
    await make_person(context, "muu_sihteeri", other_body, "secretary")
    other = await _headers(client, context, clock, "muu_sihteeri")
    base = f"/api/meetings/{draft.id}"
    for response in (
        await client.get(f"{base}/recordings/{name}", headers=other),
        await client.get(f"{base}/recordings", headers=other),
        await client.post(f"{base}/recording", headers=other, json={"on": True}),
        await client.get(f"/meetings/{draft.id}/recordings", headers=other),
        await client.post(f"{base}/recording/public", headers=other, json={"on": True}),
        await client.get(f"/api/public/meetings/{draft.id}/recordings", headers=other),
        await client.get(f"/api/public/meetings/{draft.id}/recordings/{name}", headers=other),
        await client.get(f"/api/public/meetings/{draft.id}/recordings"),  # anonymous
        await client.get(f"/meetings/{draft.id}/recordings/public"),
    ):
        assert response.status_code == 404, (response.request.url, response.text)
    own = await client.get(
        f"{base}/recordings/{name}", headers=await _headers(client, context, clock, "sihteeri")
    )
    assert own.status_code == 200


async def test_the_recordings_page_lists_the_files_and_switches_the_recording(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=True)
    name = "item-1_20261207T140509Z.webm"
    _put(context, board.meeting_id, name)
    secretary = await _headers(client, context, clock, "sihteeri")
    page = await client.get(f"/meetings/{board.meeting_id}/recordings", headers=secretary)
    assert page.status_code == 200
    assert f"/api/meetings/{board.meeting_id}/recordings/{name}" in page.text
    assert "Tallennus on pois päältä." in page.text  # Recording is off (the service speaks Finnish first)
    agenda = await client.get(f"/meetings/{board.meeting_id}", headers=secretary)
    assert f'href="/meetings/{board.meeting_id}/recordings"' in agenda.text
    member = await api_login(client, "m2")
    assert (
        f'href="/meetings/{board.meeting_id}/recordings"'
        not in (await client.get(f"/meetings/{board.meeting_id}", headers=member)).text
    )
    assert (await client.get(f"/meetings/{board.meeting_id}/recordings", headers=member)).status_code == 403


async def test_the_secretary_switches_the_recording_on_the_page(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=True)
    await browser_login(client, "sihteeri", await enrol_totp(context, "sihteeri"), clock)
    client.cookies.set("kokous_lang", "en")
    url = f"/meetings/{board.meeting_id}/recordings"
    page = await client.get(url)
    assert "Recording is off." in page.text
    switched = await client.post(url, data={"on": "1", "csrf_token": csrf_from(page.text)})
    assert switched.status_code == 303
    assert switched.headers["location"] == f"{url}?done=on"
    page = await client.get(switched.headers["location"])
    assert "Recording is on: each public item is recorded from when it is taken up." in page.text
    assert "Stop recording" in page.text
    (entry,) = await audit_entries(context, "media.recording_set")
    assert (entry.actor, entry.data) == (f"user:{board.secretary}", '{"on":true}')
    forged = await client.post(url, data={"on": "0"})  # no CSRF token: refused, nothing changes
    assert forged.status_code == 403
    assert len(await audit_entries(context, "media.recording_set")) == 1


# ---- offered to the public once the minutes are published (R-PUB-1, R-PUB-2, R-PUB-4, R-EMEET-6) ----------


@pytest.fixture
async def p(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> People:
    """The scripted meeting, held and closed, made public: § 1 is public, § 2 confidential."""
    found = await people(client, context, clock)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, found.held.board.meeting_id)
        assert meeting is not None
        meeting.is_public = True
    return found


async def _publish(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, p: People
) -> MinutesRecord:
    minutes_id = await open_minutes(client, p)
    await checked(client, p, minutes_id)
    await signed(client, p, minutes_id, clock)
    published = await client.post(f"/api/minutes/{minutes_id}/publish", headers=p.secretary)
    assert published.status_code == 200, published.text
    async with context.db.read() as session:
        minutes = await session.get(MinutesRecord, minutes_id)
        assert minutes is not None
        return minutes


async def test_the_public_gets_a_public_items_recording_once_the_minutes_are_published_if_offered(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path, p: People
) -> None:
    meeting_id = p.held.board.meeting_id
    public_name, closed_name = "item-1_20261207T140509Z.webm", "item-2_20261207T141000Z.webm"
    _put(context, meeting_id, public_name)
    _put(context, meeting_id, closed_name)  # a confidential item's file: never offered, however it got there
    listing_url = f"/api/public/meetings/{meeting_id}/recordings"
    download = f"{listing_url}/{public_name}"

    async def offered() -> list[str]:
        response = await client.get(listing_url)
        assert response.status_code == 200, response.text
        return [f["name"] for f in response.json()["files"]]

    # Offered before the minutes exist: nothing yet.
    offer = f"/api/meetings/{meeting_id}/recording/public"
    switched = await client.post(offer, headers=p.secretary, json={"on": True})
    assert switched.status_code == 200, switched.text
    assert (switched.json()["offered"], switched.json()["public"]) == (True, [])
    (entry,) = await audit_entries(context, "media.recordings_public_set")
    assert (entry.actor, entry.subject, entry.data) == (
        f"user:{p.held.board.secretary}",
        f"meeting:{meeting_id}",
        '{"on":true}',
    )
    assert await offered() == []
    assert (await client.get(download)).status_code == 404

    minutes = await _publish(client, context, clock, p)
    clock.now = minutes.publish_at - timedelta(seconds=1)
    assert await offered() == []  # published, but its moment has not come (R-PUB-1)
    clock.now = minutes.publish_at
    assert await offered() == [public_name]  # never the confidential item's (R-PUB-2, R-EMEET-6)
    got = await client.get(download)  # anonymous
    assert got.status_code == 200, got.text
    assert got.content == WEBM
    assert got.headers["content-type"] == "video/webm"
    assert got.headers["content-disposition"] == f'inline; filename="meeting-{meeting_id}-{public_name}"'
    assert got.headers["cache-control"] == "public, max-age=300"
    assert (await client.get(f"{listing_url}/{closed_name}")).status_code == 404
    page = await client.get(f"/meetings/{meeting_id}/recordings/public")
    assert page.status_code == 200
    assert f'src="{download}"' in page.text
    assert closed_name not in page.text
    agenda = await client.get(f"/meetings/{meeting_id}")
    assert f'href="/meetings/{meeting_id}/recordings/public"' in agenda.text
    assert re.search(r"<dd>\s*(Closed|Päättynyt)", agenda.text)  # the held meeting's status, in words
    secretary = await api_login(client, "sihteeri", secret=p.secrets["sihteeri"], clock=clock)  # days on
    recorder = (await client.get(f"/api/meetings/{meeting_id}/recordings", headers=secretary)).json()
    assert recorder["public"] == [public_name]

    # Downloads are counted, and written once their hour has ended: one entry, not one per download.
    outsider = await api_login(client, "ulkopuolinen", clock=clock)
    for _ in range(2):
        assert (await client.get(download, headers=outsider)).status_code == 200
    assert await flush_download_counts(context.db) == 0
    assert not await audit_entries(context, "media.recordings_downloaded")
    clock.now += timedelta(hours=1)
    assert await flush_download_counts(context.db) == 1
    (counted,) = await audit_entries(context, "media.recordings_downloaded")
    assert (counted.actor, counted.subject) == ("system", f"meeting:{meeting_id}")
    data = json.loads(counted.data)
    assert (data["downloads"], data["total"]) == ({public_name: 3}, 3)
    assert await flush_download_counts(context.db) == 0  # written once

    # Withdrawn: gone at once; offered again, until the minutes' personal data comes off (R-PUB-4).
    chair = await api_login(client, "m1", secret=p.secrets["m1"], clock=clock)
    assert (await client.post(offer, headers=chair, json={"on": False})).status_code == 200
    assert await offered() == []
    assert (await client.get(download)).status_code == 404
    assert (await client.post(offer, headers=chair, json={"on": True})).status_code == 200
    assert await offered() == [public_name]
    removal = removal_at(minutes)
    assert removal is not None
    clock.now = removal
    assert await offered() == []


async def test_only_the_chair_and_the_secretary_offer_the_recordings_to_the_public(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path, p: People
) -> None:
    meeting_id = p.held.board.meeting_id
    offer = f"/api/meetings/{meeting_id}/recording/public"
    for who in (p.member, p.checker, p.presenter, p.outsider):
        refused = await client.post(offer, headers=who, json={"on": True})
        assert refused.status_code == 403, refused.text
        assert (
            refused.json()["error"] == "Only the body's chair and secretary handle the meeting's recordings."
        )
    assert (await client.post(offer, json={"on": True})).status_code == 401
    assert (await client.post(offer, headers=p.secretary, json={"on": "yes"})).status_code == 400
    assert not await audit_entries(context, "media.recordings_public_set")
    async with context.db.write() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.is_public = False
    closed = await client.post(offer, headers=p.secretary, json={"on": True})
    assert closed.status_code == 409
    assert (
        closed.json()["error"]
        == "This meeting is not public: its recordings cannot be offered to the public."
    )
    assert not await audit_entries(context, "media.recordings_public_set")


async def test_the_secretary_offers_the_recordings_on_the_page(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=True)
    await browser_login(client, "sihteeri", await enrol_totp(context, "sihteeri"), clock)
    client.cookies.set("kokous_lang", "en")
    url = f"/meetings/{board.meeting_id}/recordings"
    page = await client.get(url)
    assert "The recordings are not offered to the public." in page.text
    switched = await client.post(url, data={"public": "1", "csrf_token": csrf_from(page.text)})
    assert switched.status_code == 303
    assert switched.headers["location"] == f"{url}?done=offered"
    page = await client.get(switched.headers["location"])
    assert "offered to the public once the minutes are published" in page.text
    assert "Stop offering the recordings to the public" in page.text
    (entry,) = await audit_entries(context, "media.recordings_public_set")
    assert (entry.actor, entry.data) == (f"user:{board.secretary}", '{"on":true}')
    assert not await audit_entries(context, "media.recording_set")  # the recording itself is untouched
    # Not before the minutes: the public's page has nothing.
    public = await client.get(f"{url}/public")
    assert "No recordings of this meeting are published." in public.text


# ---- retention (R-PUBLIC-4) ------------------------------------------------------------------------------


def _name(section: int, started: datetime) -> str:
    return f"item-{section}_{started.astimezone(UTC):%Y%m%dT%H%M%SZ}.webm"


async def test_recordings_past_their_retention_are_removed_and_each_removal_is_audited(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    board = await make_board(context, clock, public=True)  # called, not under way
    old = _name(1, clock() - timedelta(days=30))
    young = _name(2, clock() - timedelta(days=29, hours=23))
    other_meeting = board.meeting_id + 1000  # a folder whose meeting is gone: its files go too
    _put(context, board.meeting_id, old)
    _put(context, board.meeting_id, young)
    _put(context, other_meeting, old)
    (recordings_dir / "notes.txt").write_text("not a recording")

    removed = await prune(context.db, context.settings.data_dir, 30)
    assert sorted((r.meeting_id, r.file.name) for r in removed) == [
        (board.meeting_id, old),
        (other_meeting, old),
    ]
    assert [f.name for f in listing(context.settings.data_dir, board.meeting_id)] == [young]
    assert not folder(context.settings.data_dir, other_meeting).exists()
    assert (recordings_dir / "notes.txt").exists()
    entries = await audit_entries(context, "media.recording_removed")
    assert len(entries) == 2
    mine = next(e for e in entries if e.subject == f"meeting:{board.meeting_id}")
    assert mine.actor == "system:retention"
    data = json.loads(mine.data)
    assert (data["file"], data["section"], data["bytes"], data["keep_days"]) == (old, 1, len(WEBM), 30)
    assert await prune(context.db, context.settings.data_dir, 30) == []  # nothing twice
    assert len(await audit_entries(context, "media.recording_removed")) == 2

    # A meeting under way keeps its files, whatever their age: one may be being written.
    async with context.db.write() as session:
        meeting = await session.get(Meeting, board.meeting_id)
        assert meeting is not None
        meeting.status = MeetingStatus.HELD
    clock.now += timedelta(days=5)
    assert await prune(context.db, context.settings.data_dir, 30) == []
    assert [f.name for f in listing(context.settings.data_dir, board.meeting_id)] == [young]


async def test_the_server_prunes_hourly_only_when_a_retention_is_set(
    context: AppContext, clock: FixedClock, recordings_dir: Path
) -> None:
    data_dir = context.settings.data_dir
    board = await make_board(context, clock, public=True)
    _put(context, board.meeting_id, _name(1, clock() - timedelta(days=10)))
    ran = await prune_when_due(context.db, data_dir, None, None)  # no retention: kept
    assert ran == clock()
    assert len(listing(data_dir, board.meeting_id)) == 1
    ran = await prune_when_due(context.db, data_dir, 10, None)
    assert listing(data_dir, board.meeting_id) == []
    _put(context, board.meeting_id, _name(2, clock() - timedelta(days=11)))
    clock.now += timedelta(minutes=59)
    assert await prune_when_due(context.db, data_dir, 10, ran) == ran  # not again within the hour
    assert len(listing(data_dir, board.meeting_id)) == 1
    clock.now += timedelta(minutes=1)
    assert await prune_when_due(context.db, data_dir, 10, ran) == clock()
    assert listing(data_dir, board.meeting_id) == []
    assert len(await audit_entries(context, "media.recording_removed")) == 2


def test_the_retention_is_a_setting_of_days_and_keeps_by_default() -> None:
    assert settings_from_env({}).recordings_keep_days is None
    assert settings_from_env({"KOKOUS_RECORDINGS_KEEP_DAYS": "365"}).recordings_keep_days == 365
    for bad in ("0", "-1", "a year"):
        with pytest.raises(ValueError, match="KOKOUS_RECORDINGS_KEEP_DAYS"):
            settings_from_env({"KOKOUS_RECORDINGS_KEEP_DAYS": bad})
