"""The public stream recorded per item in a held meeting (docs/media.md, "Recording"): the chair speaks
through a real aiortc peer, the meeting goes through a public item, a break and a closed item, and each
public stretch has a file of its own with the chair's tone in it; the closed item has none (R-EMEET-6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock, system_clock
from core.config import TEST_PASSWORD_PROFILE, Settings
from meetings.live.actions.items import do_close_discussion, do_decide_without_vote, do_take_up_item
from meetings.live.actions.sitting import do_close_meeting, do_resume_meeting, do_suspend_meeting
from meetings.models import AgendaItem
from tests.conftest import BASE_URL
from tests.factories import api_login, audit_entries, enrol_totp
from tests.media import conftest as media_fixtures
from tests.media.client import Member
from tests.media.sound import tones_in
from tests.meetings.live.world import hold, make_board
from tests.web.test_media_wiring import FAST, Service
from web import media_bridge, migration
from web.app import create_app
from web.context import build_context
from web.media_bridge import MediaBridge
from web.recordings import listing

pytestmark = pytest.mark.media
namespace, inside = media_fixtures.namespace, media_fixtures.inside
SPOKEN_SECONDS = 2.0


@pytest.fixture
async def service(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    monkeypatch.setattr(media_bridge, "RESYNC_SECONDS", 0.5)
    settings = Settings(
        data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE, media=FAST
    )
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    await migration.upgrade(context.db.engine)
    app = create_app(settings, context=context, background_jobs=False)
    bridge = MediaBridge(context.db, FAST, clock=system_clock, data_dir=tmp_path)
    app.state.media = bridge
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield Service(app, context, bridge, client, board, clock)
    await bridge.close()
    await context.db.dispose()


def sound_of(path: Path) -> np.ndarray:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["audio", "video"]
        frames = [
            r.to_ndarray().reshape(-1) for f in container.decode(audio=0) for r in resampler.resample(f)
        ]
    return np.concatenate(frames).astype(np.int16) if frames else np.zeros(0, np.int16)


async def _item(service: Service, item_id: int) -> AgendaItem:
    async with service.context.db.read() as session:
        item = await session.get(AgendaItem, item_id)
        assert item is not None
        return item


async def test_each_public_stretch_of_an_item_is_recorded_and_a_closed_item_never(
    service: Service, inside: object
) -> None:
    board, bridge, context = service.board, service.bridge, service.context
    chair_id = board.chair
    public, closed = board.items
    by_chair = board.actor(chair_id)
    secretary = await api_login(
        service.client, "sihteeri", secret=await enrol_totp(context, "sihteeri"), clock=service.clock
    )
    switched = await service.client.post(
        f"/api/meetings/{board.meeting_id}/recording", headers=secretary, json={"on": True}
    )
    assert switched.status_code == 200, switched.text
    chair = Member("chair", frequency=440.0, colour=(200, 30, 30))
    try:
        await service.join(chair, await service.headers("m1"))
        assert bridge.recording(board.meeting_id) is None  # no item yet: nothing to record

        # The public item is taken up: its file starts, with the chair's voice.
        await service.act(do_take_up_item, item=await _item(service, public), actor=by_chair)
        first = bridge.recording(board.meeting_id)
        assert first is not None
        assert first.parent == service.context.settings.data_dir / "recordings" / str(board.meeting_id)
        await asyncio.sleep(SPOKEN_SECONDS)

        # A break ends the file; after it the same item goes on in a new one.
        await service.act(do_suspend_meeting, reason="Tauko", actor=by_chair)
        assert bridge.recording(board.meeting_id) is None
        await service.act(do_resume_meeting, actor=by_chair)
        second = bridge.recording(board.meeting_id)
        assert second is not None
        assert second != first
        await asyncio.sleep(SPOKEN_SECONDS)

        # The item is decided and the closed item taken up: the recording stops and no file starts.
        await service.act(do_close_discussion, item=await _item(service, public), actor=by_chair)
        await service.act(do_decide_without_vote, item=await _item(service, public), actor=by_chair)
        await service.act(do_take_up_item, item=await _item(service, closed), actor=by_chair)
        assert bridge.recording(board.meeting_id) is None
        await asyncio.sleep(1.0)
        await service.act(do_close_discussion, item=await _item(service, closed), actor=by_chair)
        await service.act(do_decide_without_vote, item=await _item(service, closed), actor=by_chair)
        await service.act(do_close_meeting, actor=by_chair)
    finally:
        await chair.close()

    section = (await _item(service, public)).section
    files = listing(context.settings.data_dir, board.meeting_id)
    assert [f.name for f in files] == [first.name, second.name]
    assert all(f.section == section for f in files)  # none for the closed item's §
    for path in (first, second):
        sound = sound_of(path)
        assert 0.7 * SPOKEN_SECONDS * 48_000 <= len(sound) <= 2 * SPOKEN_SECONDS * 48_000
        assert tones_in(sound[len(sound) // 4 :]) == {440.0}

    started = await audit_entries(context, "media.recording_started")
    stopped = await audit_entries(context, "media.recording_stopped")
    assert [(e.actor, e.subject) for e in started] == [("system:media", f"item:{public}")] * 2
    assert [(e.actor, e.subject) for e in stopped] == [("system:media", f"item:{public}")] * 2
    assert [f'"file":"{p.name}"' in e.data for e, p in zip(started, (first, second), strict=True)] == [
        True
    ] * 2
    assert all('"bytes":' in e.data and '"bytes":0' not in e.data for e in stopped)
