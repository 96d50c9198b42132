"""Headless Chromium with fake camera and microphone joins a held meeting's sound and picture through
web/static/media.js: on the live meeting's page over the page's one WebSocket (live.js's), and on the
media part's own page over HTTP where no WebSocket gets through. It receives the floor holder's audio and
video and shows who is speaking; a member whose camera was refused when joining turns it on later, on the
same connection (`media.renegotiate`), and is then seen.

aiortc never offers 127.0.0.1 as a candidate, so the service, Chromium and the hub meet in the media tests'
network namespace, whose loopback also carries 127.0.0.2 (tests/media/conftest.py): the test's thread enters
it, and the server and the browser it starts inherit it. Chromium is told to use loopback for WebRTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.floor import do_grant_floor, do_request_floor
from meetings.live.actions.items import do_take_up_item
from meetings.live.actions.roll_call import Outcome, do_end_roll_call, do_mark_roll_call, do_start_roll_call
from meetings.live.models import LiveMeeting
from tests.browser.conftest import ACTION_TIMEOUT_MS, CHROMIUM_ARGS, Console, _free_port, server_env, serving
from tests.conftest import START
from tests.factories import PASSWORD
from tests.media import conftest as media_fixtures
from tests.media.netns import Namespace
from tests.meetings.live.world import Board, hold, item_of, make_board, meeting_of
from web import migration
from web.context import build_context
from web.i18n import translator

pytestmark = [pytest.mark.browser, pytest.mark.media]

namespace, inside = media_fixtures.namespace, media_fixtures.inside
fi = translator("fi")
SCREENSHOT = Path("/tmp/kokous-media.png")  # noqa: S108 - a fixed place for a person to look at
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
CONNECT_MS = 20_000


async def seed(data_dir: Path, url: str) -> Board:
    """A public meeting under way, its first item taken up and the floor given to m2."""
    settings = Settings(data_dir=data_dir, base_url=url, password_profile=TEST_PASSWORD_PROFILE)
    clock = FixedClock(START)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    await migration.upgrade(context.db.engine)
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        chair = board.actor(board.chair)
        await do_take_up_item(session, meeting=meeting, item=item, actor=chair)
        speaker = board.members[1]
        await do_record_arrival(
            session, meeting=meeting, user_id=speaker, remote=True, actor=board.actor(speaker)
        )
        request = await do_request_floor(
            session, meeting=meeting, item=item, user_id=speaker, kind="speech", actor=board.actor(speaker)
        )
        await do_grant_floor(session, meeting=meeting, request=request, actor=chair)
    await context.db.dispose()
    return board


async def roll_call(data_dir: Path, url: str, board: Board, *steps: tuple[int, Outcome] | None) -> None:
    """As the chair, in the served database: start a roll call (no steps), mark people, or end it (None)."""
    settings = Settings(data_dir=data_dir, base_url=url, password_profile=TEST_PASSWORD_PROFILE)
    clock = FixedClock(START)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    chair = board.actor(board.chair)
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        if not steps:
            await do_start_roll_call(session, meeting=meeting, actor=chair)
        for step in steps:
            if step is None:
                await do_end_roll_call(session, meeting=meeting, actor=chair)
            else:
                await do_mark_roll_call(
                    session, meeting=meeting, person=step[0], outcome=step[1], actor=chair
                )
    await context.db.dispose()


async def remote(data_dir: Path, url: str, board: Board, person: int) -> None:
    """Wait until the served database has `person` present electronically (their media came)."""
    settings = Settings(data_dir=data_dir, base_url=url, password_profile=TEST_PASSWORD_PROFILE)
    clock = FixedClock(START)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    try:
        async with asyncio.timeout(CONNECT_MS / 1000):
            while True:
                async with context.db.read() as session:
                    live = await session.get(LiveMeeting, board.meeting_id)
                    if live is not None and person in live.remote:
                        return
                await asyncio.sleep(0.2)
    finally:
        await context.db.dispose()


# The camera is refused (as a person may refuse it, or have none) until the page's kokousCameraAllowed is set.
REFUSE_CAMERA = """(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.kokousCameraAllowed = false;
  navigator.mediaDevices.getUserMedia = (asked) => asked && asked.video && !window.kokousCameraAllowed
    ? Promise.reject(new DOMException("refused in the test", "NotAllowedError")) : real(asked);
})();"""


async def sign_in_and_join(page: Page, username: str, path: str) -> None:
    await page.goto("/login")
    await page.get_by_label(fi("Username"), exact=True).fill(username)
    await page.get_by_label(fi("Password"), exact=True).fill(PASSWORD)
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_be_visible()
    await page.goto(path)
    await expect(page.get_by_role("heading", name=fi("Sound and picture"))).to_be_visible()
    await page.get_by_role("button", name=fi("Join with sound and picture"), exact=True).click()
    await expect(page.locator("[data-media-status]")).to_have_text(
        fi("Connected: you hear the speaker and the chair."), timeout=CONNECT_MS
    )


async def received(page: Page, kind: str) -> int:
    """Packets of `kind` the page's connection has received so far (its WebRTC statistics)."""
    count: int = await page.evaluate(
        """async (kind) => {
            const stats = await window.kokousMedia.pc.getStats();
            let packets = 0;
            stats.forEach((s) => {
                if (s.type === "inbound-rtp" && s.kind === kind) packets += s.packetsReceived;
            });
            return packets;
        }""",
        kind,
    )
    return count


async def growing(measure: Callable[[], Awaitable[int]]) -> None:
    before = await measure()
    for _ in range(50):
        if await measure() > before:
            return
        await asyncio.sleep(0.1)
    pytest.fail("nothing more arrived in 5 s")


async def test_a_member_joins_hears_and_sees_the_floor_holder(
    tmp_path: Path, inside: Namespace, chromium_executable: Path
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    board = await seed(tmp_path, url)
    env = server_env(tmp_path, url) | {"KOKOUS_MEDIA_ENABLED": "1"}
    with serving(tmp_path, port, env):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS
            )
            try:
                speaker_context = await browser.new_context(base_url=url, locale="fi-FI")
                listener_context = await browser.new_context(base_url=url, locale="fi-FI")
                for made in (speaker_context, listener_context):
                    made.set_default_timeout(ACTION_TIMEOUT_MS)
                console = Console([])
                speaker, listener = await speaker_context.new_page(), await listener_context.new_page()
                for page in (speaker, listener):
                    page.on("console", console.record)
                    page.on("pageerror", console.record_error)
                sockets: list[str] = []
                speaker.on("websocket", lambda socket: sockets.append(socket.url))
                # m2 has the floor and joins on the live meeting's page, with the camera refused: sound only.
                # m3 joins on the media part's own page, where the network lets no WebSocket through: the
                # page offers over HTTP instead.
                await speaker.add_init_script(REFUSE_CAMERA)
                await listener.route_web_socket("**/ws/meetings/**", lambda socket: socket.close())
                await sign_in_and_join(speaker, "m2", f"/meetings/{board.meeting_id}/live")
                await sign_in_and_join(listener, "m3", f"/meetings/{board.meeting_id}/media")
                await expect(listener.locator("[data-media-speaker]")).to_have_text("M2")
                assert await speaker.evaluate("window.kokousMedia.via") == "websocket"
                assert await listener.evaluate("window.kokousMedia.via") == "http"
                await growing(lambda: received(listener, "audio"))
                await asyncio.sleep(1.0)
                assert await received(listener, "video") == 0  # m2 sends no picture yet

                # m2 turns the camera on: refused by the browser at first (said in the part), then allowed,
                # and the same connection offers again, on the live page's socket.
                camera = speaker.get_by_role("button", name=fi("Turn camera on"), exact=True)
                await expect(speaker.get_by_role("button", name=fi("Turn microphone off"))).to_be_visible()
                await speaker.set_viewport_size({"width": 360, "height": 740})
                await camera.click()
                refused = fi("The camera could not be used: check the browser’s permissions.")
                await expect(speaker.locator("[data-media-problem]")).to_have_text(refused)
                await expect(camera).to_be_enabled()
                await speaker.evaluate("window.kokousCameraAllowed = true")
                await camera.click()
                await expect(speaker.locator("[data-media-problem]")).to_be_hidden()
                await expect(
                    speaker.get_by_role("button", name=fi("Turn camera off"), exact=True)
                ).to_be_visible()
                await growing(lambda: received(listener, "video"))
                video = listener.locator("[data-media-video]")
                await expect(video).to_have_js_property("paused", False)
                width = await video.evaluate("(v) => v.videoWidth")
                assert width > 0, "the listener's page shows no picture"
                assert await speaker.evaluate("window.kokousMedia.via") == "websocket"
                assert await speaker.evaluate("document.documentElement.scrollWidth") <= 360
                assert sockets == [sockets[0]], sockets  # one WebSocket for the page and its media part
                await listener.screenshot(path=str(SCREENSHOT), full_page=True)
                # A roll call (R-EMEET-1(1)), started in another process: the room and the pages follow it.
                caption = listener.locator("[data-media-caption]")
                await expect(caption).to_have_text(fi("Speaking:"))
                await remote(tmp_path, url, board, board.members[2])  # m3 arrived by joining
                await roll_call(tmp_path, url, board)
                await roll_call(tmp_path, url, board, (board.members[1], Outcome.IDENTIFIED))
                await expect(caption).to_have_text(fi("Roll call:"), timeout=CONNECT_MS)
                await expect(listener.locator("[data-media-speaker]")).to_have_text("M3")
                await roll_call(tmp_path, url, board, None)
                await expect(caption).to_have_text(fi("Speaking:"), timeout=CONNECT_MS)
                await expect(listener.locator("[data-media-speaker]")).to_have_text("M2")
                # The public, on the media part's own page (no live.js): the part opens a socket of its own.
                public_context = await browser.new_context(base_url=url, locale="fi-FI")
                public = await public_context.new_page()
                public.on("pageerror", console.record_error)
                public_sockets: list[str] = []
                public.on("websocket", lambda socket: public_sockets.append(socket.url))
                await public.goto(f"/meetings/{board.meeting_id}/media")
                await public.get_by_role("button", name=fi("Join with sound and picture"), exact=True).click()
                following = fi("Connected: you follow the meeting.")
                await expect(public.locator("[data-media-status]")).to_have_text(
                    following, timeout=CONNECT_MS
                )
                assert await public.evaluate("window.kokousMedia.via") == "websocket"
                assert len(public_sockets) == 1, public_sockets
                await expect(public.locator("[data-media-camera]")).to_be_hidden()  # the public sends nothing
                # Hanging up: the page returns to its starting state.
                await listener.get_by_role("button", name=fi("Hang up"), exact=True).click()
                await expect(listener.locator("[data-media-status]")).to_have_text(fi("Not connected."))
                assert console.problems == []
            finally:
                await browser.close()
