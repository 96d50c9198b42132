"""The minutes in headless Chromium, on the demo's board: the secretary opens the minutes written from the
meeting's record, a checker approves them, the chair signs and the secretary countersigns after step-up, the
secretary publishes, and anyone checks the signed file on the public verification page.

Screenshots for a person to look at: /tmp/kokous-minutes-*.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    ACTION_TIMEOUT_MS,
    REPO,
    Console,
    Server,
    _cli,
    _free_port,
    server_env,
    serving,
)
from web.i18n import translator

pytestmark = pytest.mark.browser

fi = translator("fi")
SHOTS = Path("/tmp")  # noqa: S108 - a fixed place for a person to look at
axe = Axe()


@dataclass(frozen=True)
class Demo:
    passwords: dict[str, str]
    secrets: dict[str, str]  # chair's and secretary's second factors
    checking: int  # minutes with the checkers
    published: int


async def seed() -> None:
    """Run in a subprocess against KOKOUS_DATA_DIR: the demo, with second factors for its signers."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from auth import actions as auth_actions
    from auth import totp
    from auth.queries import user_by_username
    from core.clock import FixedClock
    from core.config import settings_from_env
    from meetings.storage import attachment_store
    from minutes.models import MinutesRecord
    from web import demo
    from web.context import build_context

    # Two minutes ago, so that the enrolment codes are older than the ones typed at sign-in.
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=2))
    settings = settings_from_env()
    context = build_context(settings, clock=clock)
    async with context.db.write() as session:
        logins = await demo.seed(
            session,
            now=clock(),
            base_url=settings.base_url,
            sender="kokous@kunta.example",
            store=attachment_store(settings.data_dir),
        )
    async with context.db.write() as session:  # the demo's session runs on its own clock; this one on ours
        secrets = {}
        for username in ("chair", "secretary"):
            user = await user_by_username(session, username)
            assert user is not None
            secrets[username] = await auth_actions.do_start_totp_enrolment(session, user=user)
            assert await auth_actions.do_confirm_totp_enrolment(
                session, user=user, code=totp.code_at(secrets[username], clock())
            )
        states = {m.state: m.id for m in (await session.execute(select(MinutesRecord))).scalars()}
    await context.db.dispose()
    out = {
        "passwords": {person.username: password for person, password in logins},
        "secrets": secrets,
        "checking": states["checking"],
        "published": states["published"],
    }
    sys.stdout.write(json.dumps(out))


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    data_dir = tmp_path_factory.mktemp("kokous-minutes")
    port = _free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    _cli("db", "upgrade", env=env)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from tests.browser.test_minutes import seed; asyncio.run(seed())",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"seeding failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    demo = Demo(**json.loads(done.stdout.strip().splitlines()[-1]))
    with serving(data_dir, port, env) as running:
        yield running, demo


@pytest.fixture(scope="module")
def server(seeded_server: tuple[Server, Demo]) -> Server:
    return seeded_server[0]


@pytest.fixture(scope="module")
def demo(seeded_server: tuple[Server, Demo]) -> Demo:
    return seeded_server[1]


async def as_person(browser: Browser, server: Server, console: Console) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        base_url=server.url, locale="fi-FI", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = await context.new_page()
    page.on("console", console.record)
    page.on("pageerror", console.record_error)
    return context, page


def code(secret: str, ahead: int = 0) -> str:
    """The authenticator's code, `ahead` steps on: a step-up right after sign-in needs a code not yet used."""
    return pyotp.TOTP(secret).at(time.time() + 30 * ahead)


async def sign_in(page: Page, demo: Demo, username: str) -> None:
    await page.goto("/login")
    await page.get_by_label(fi("Username"), exact=True).fill(username)
    await page.get_by_label(fi("Password"), exact=True).fill(demo.passwords[username])
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()
    if username in demo.secrets:
        await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Confirmation code"))
        await page.get_by_label(fi("Code"), exact=True).fill(code(demo.secrets[username]))
        await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_be_visible()


async def shot(page: Page, name: str) -> None:
    image = await page.screenshot(path=str(SHOTS / f"kokous-minutes-{name}.png"), full_page=True)
    assert image.startswith(b"\x89PNG")


async def assert_accessible(page: Page) -> None:
    results = await axe.run(page)
    assert results.violations_count == 0, results.generate_report()


async def sign_here(page: Page, demo: Demo, username: str, button: str) -> None:
    await page.get_by_label(fi("Password"), exact=True).fill(demo.passwords[username])
    await page.get_by_label(fi("Code from the authenticator app"), exact=True).fill(
        code(demo.secrets[username], 1)
    )
    await page.get_by_role("button", name=fi(button), exact=True).click()


async def test_secretary_checker_chair_and_anyone(
    browser: Browser, server: Server, demo: Demo, console: Console
) -> None:
    state = "#minutes-state"
    # The secretary opens the minutes Kokous wrote from the meeting's record.
    secretary, page = await as_person(browser, server, console)
    await sign_in(page, demo, "secretary")
    await page.goto("/minutes")
    await assert_accessible(page)
    await page.get_by_role("link", name="Kunnanhallitus", exact=False).first.click()
    await expect(page.locator(state)).to_have_text(fi("With the checkers"))
    await assert_accessible(page)
    await shot(page, "secretary")
    draft = await page.request.get(f"/minutes/{demo.checking}/document")
    assert "Avustus kyläyhdistykselle" in await draft.text()

    # The demo member, a checker, approves.
    member, checker_page = await as_person(browser, server, console)
    await sign_in(checker_page, demo, "member")
    await checker_page.goto(f"/minutes/{demo.checking}")
    await checker_page.get_by_label(fi("Comment"), exact=True).fill("Tarkastettu, ei huomautettavaa.")
    await checker_page.get_by_role("button", name=fi("Approve the minutes"), exact=True).click()
    await expect(checker_page.locator(state)).to_have_text(fi("Checked"))
    await shot(checker_page, "checker")
    await member.close()

    # The chair signs after step-up.
    chair, chair_page = await as_person(browser, server, console)
    await sign_in(chair_page, demo, "chair")
    await chair_page.goto(f"/minutes/{demo.checking}")
    await assert_accessible(chair_page)
    await shot(chair_page, "chair-before")
    await sign_here(chair_page, demo, "chair", "Sign")
    await expect(chair_page.locator(state)).to_have_text(fi("Signed by the chair"))
    await shot(chair_page, "chair")
    await chair.close()

    # The secretary countersigns and publishes.
    await page.goto(f"/minutes/{demo.checking}")
    await sign_here(page, demo, "secretary", "Countersign")
    await expect(page.locator(state)).to_have_text(fi("Signed"))
    await page.get_by_role("button", name=fi("Publish the minutes"), exact=True).click()
    await expect(page.locator(state)).to_have_text(fi("Published"))
    signed_pdf = await (await page.request.get(f"/api/minutes/{demo.checking}/signed.pdf")).body()
    await secretary.close()

    # Anyone checks the signed file.
    anyone, public = await as_person(browser, server, console)
    await public.goto("/verify")
    await assert_accessible(public)
    await public.get_by_label(fi("Minutes file"), exact=True).set_input_files(
        files=[{"name": "poytakirja.pdf", "mimeType": "application/pdf", "buffer": signed_pdf}]
    )
    await public.get_by_role("button", name=fi("Check"), exact=True).click()
    await expect(public.locator("#verdict")).to_contain_text(
        fi("Intact: nothing has changed since it was signed, and the signatures are the municipality's.")
    )
    await assert_accessible(public)
    await shot(public, "verify")
    await public.goto(f"/public/minutes/{demo.published}")
    assert "Virkasuhteen päättäminen" not in await public.content()  # R-PUB-2: a mention only
    await shot(public, "public")
    await anyone.close()
    assert console.problems == []
