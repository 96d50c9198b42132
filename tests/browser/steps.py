"""Steps the browser tests share: signing in as a person would, and the checks every page must pass."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pyotp
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from web.i18n import translator

fi = translator("fi")
PASSWORD = "kolme sanaa riittää"  # every seeded person's password in the browser tests
axe = Axe()

# The last TOTP step signed in with, per enrolment (its secret): the server takes each code once (replay
# protection), so the same person's second sign-in within one 30 s step waits for the next code, as a person
# would. Keyed by the secret, not the username: each module seeds its own server, where `sakari` is another
# enrolment whose codes were never used.
USED_STEPS: dict[str, int] = {}


async def fresh_code(username: str, secret: str) -> str:
    totp = pyotp.TOTP(secret)
    used = USED_STEPS.get(secret, -1)
    if totp.timecode(datetime.now(UTC)) <= used:  # the server's clock is the real one: wait for the next step
        await asyncio.sleep((used + 1) * totp.interval - datetime.now(UTC).timestamp() + 0.2)
    now = datetime.now(UTC)
    USED_STEPS[secret] = totp.timecode(now)
    return totp.at(now)


async def sign_in(page: Page, username: str, secret: str | None = None) -> None:
    """Through the sign-in pages in Finnish; `secret` answers the second-factor step."""
    await page.goto("/login")
    await page.get_by_label(fi("Username"), exact=True).fill(username)
    await page.get_by_label(fi("Password"), exact=True).fill(PASSWORD)
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()
    if secret is not None:
        await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Confirmation code"))
        await page.get_by_label(fi("Code"), exact=True).fill(await fresh_code(username, secret))
        await page.get_by_role("button", name=fi("Continue"), exact=True).click()
    await expect(page.get_by_role("button", name=fi("Sign out"), exact=True)).to_be_visible()


async def assert_accessible(page: Page) -> None:
    results = await axe.run(page)
    assert results.violations_count == 0, results.generate_report()


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width} px"
