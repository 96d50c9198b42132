"""Signing in and out in a real browser: password, second factor with enrolment, language choice.

Expected texts come from the Finnish and Swedish catalogues through the service's own translator, so the
tests follow the catalogues (a missing catalogue or message falls back to the English text).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from auth.login import REPLAYED_CODE, WRONG_CODE, WRONG_PASSWORD
from tests.browser.conftest import MEMBER, SECRETARY, Account, Console, Server
from web.i18n import translator

pytestmark = pytest.mark.browser

fi = translator("fi")
sv = translator("sv")
SCREENSHOT = Path("/tmp/kokous-login.png")  # noqa: S108 - a fixed place for a person to look at
TOTP_STEP = 30


async def fill_login(page: Page, account: Account, password: str | None = None) -> None:
    await page.get_by_label(fi("Username"), exact=True).fill(account.username)
    await page.get_by_label(fi("Password"), exact=True).fill(
        account.password if password is None else password
    )
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()


async def expect_signed_in(page: Page, server: Server, account: Account) -> None:
    await expect(page).to_have_url(f"{server.url}/")
    await expect(page.get_by_role("main").get_by_text(account.display_name, exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_be_visible()


async def sign_out(page: Page, server: Server) -> None:
    await page.get_by_role("button", name=fi("Sign out"), exact=True).click()
    await expect(page).to_have_url(f"{server.url}/login")
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Sign in"))
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_have_count(0)


async def test_member_signs_in_with_password_and_out(
    page: Page, context: BrowserContext, server: Server, console: Console
) -> None:
    await page.goto("/login")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Sign in"))
    username = page.get_by_label(fi("Username"), exact=True)
    password = page.get_by_label(fi("Password"), exact=True)
    await expect(username).to_be_focused()
    await expect(password).to_have_attribute("type", "password")

    # A wrong password: an alert, the username kept, the password asked again.
    await fill_login(page, MEMBER, password="not the password")
    await expect(page).to_have_url(f"{server.url}/login")
    await expect(page.get_by_role("alert")).to_have_text(fi(WRONG_PASSWORD))
    await expect(username).to_have_value(MEMBER.username)
    await expect(password).to_have_value("")
    for field in (username, password):
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_attribute("aria-describedby", "form-error")
    await expect(password).to_be_focused()

    await password.fill(MEMBER.password)
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()
    await expect_signed_in(page, server, MEMBER)
    signed_in_cookies = await context.cookies()

    await sign_out(page, server)
    names = {cookie["name"] for cookie in await context.cookies()}
    assert "kokous_access" not in names
    assert "kokous_refresh" not in names

    # Signing out ended the session on the server too: the old access cookie no longer works.
    await context.add_cookies([c for c in signed_in_cookies if c["name"] == "kokous_access"])
    await page.goto("/")
    await expect(page.get_by_role("main").get_by_text(MEMBER.display_name)).to_have_count(0)
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_have_count(0)
    assert console.problems == []


@pytest.mark.slow
async def test_secretary_enrols_a_second_factor_and_uses_it(
    page: Page, server: Server, console: Console
) -> None:
    await page.goto("/login")
    await fill_login(page, SECRETARY)

    # The role requires a second factor and none is set up: the enrolment page, QR code and key.
    await expect(page).to_have_url(f"{server.url}/login/enrol?next=%2F")
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Set up a second factor"))
    await expect(page.locator("figure.qr svg")).to_be_visible()
    secret = (await page.locator("code.secret").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    now = int(time.time())
    enrolment_code, enrolment_step = pyotp.TOTP(secret).at(now), now // TOTP_STEP
    await page.get_by_label(fi("Code"), exact=True).fill(enrolment_code)
    await page.get_by_role("button", name=fi("Confirm"), exact=True).click()

    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Recovery codes"))
    recovery_codes = await page.locator("ul.codes code").all_inner_texts()
    assert len(recovery_codes) == 10
    assert len(set(recovery_codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in recovery_codes), recovery_codes
    await page.get_by_role("link", name=fi("Continue"), exact=True).click()
    await expect_signed_in(page, server, SECRETARY)
    await sign_out(page, server)

    # Next time the password leads to the code page. The enrolment code is a replay and is refused.
    await fill_login(page, SECRETARY)
    await expect(page).to_have_url(f"{server.url}/login/code?next=%2F")
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Confirmation code"))
    code = page.get_by_label(fi("Code"), exact=True)
    await code.fill(enrolment_code)
    await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text(fi(REPLAYED_CODE))
    await expect(code).to_have_attribute("aria-invalid", "true")

    # A recovery code works once.
    await code.fill(recovery_codes[0])
    await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect_signed_in(page, server, SECRETARY)
    await sign_out(page, server)
    await fill_login(page, SECRETARY)
    await expect(page).to_have_url(f"{server.url}/login/code?next=%2F")
    await code.fill(recovery_codes[0])
    await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text(fi(WRONG_CODE))

    # The authenticator's code for a newer time step than the enrolment's is accepted.
    deadline = time.monotonic() + TOTP_STEP + 1
    while int(time.time()) // TOTP_STEP <= enrolment_step:
        assert time.monotonic() < deadline, "the clock did not reach the next TOTP step"
        await asyncio.sleep(0.2)
    await code.fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect_signed_in(page, server, SECRETARY)
    assert console.problems == []


async def test_language_switch(page: Page, server: Server, console: Console) -> None:
    await page.goto("/login")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    swedish = page.get_by_role("link", name="På svenska", exact=True)
    await expect(swedish).to_have_attribute("lang", "sv")

    await swedish.click()
    await expect(page).to_have_url(f"{server.url}/login")
    await expect(page.locator("html")).to_have_attribute("lang", "sv")
    await expect(swedish).to_have_attribute("aria-current", "true")
    await expect(page.get_by_role("heading", level=1)).to_have_text(sv("Sign in"))
    await expect(page.get_by_label(sv("Username"), exact=True)).to_be_visible()

    # The choice is remembered over the browser's own preference.
    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "sv")
    await page.get_by_role("link", name="Suomeksi", exact=True).click()
    await expect(page).to_have_url(f"{server.url}/")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    assert console.problems == []


async def test_unknown_browser_language_gets_finnish(browser: Browser, server: Server) -> None:
    context = await browser.new_context(base_url=server.url, locale="de-DE")
    try:
        page = await context.new_page()
        await page.goto("/login")
        await expect(page.locator("html")).to_have_attribute("lang", "fi")
    finally:
        await context.close()


async def test_login_page_screenshot(page: Page) -> None:
    """Not asserted beyond being written: for a person to look at."""
    await page.set_viewport_size({"width": 1024, "height": 768})
    await page.goto("/login")
    image = await page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert image.startswith(b"\x89PNG")
