"""A member states and changes a stance in the electronic decision procedure, in headless Chromium.

The server runs on the demo municipality (`kokous demo`): its executive board's item is open for stances.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Server, _cli, _free_port, server_env, serving
from web.i18n import translator

pytestmark = pytest.mark.browser

fi = translator("fi")
SCREENSHOT = Path("/tmp/kokous-procedure.png")  # noqa: S108 - a fixed place for a person to look at
TITLE = "Lausunto maakuntakaavan luonnoksesta"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path_factory.mktemp("kokous-procedure")
    port = _free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    _cli("db", "upgrade", env=env)
    _cli("demo", env=env)
    password = ""
    for line in (data_dir / "demo-logins.txt").read_text().splitlines():
        words = line.split()
        words = words[1:] if words and words[0] == "*" else words
        if words and words[0] == "member":
            password = words[1]
    assert password
    with serving(data_dir, port, env) as running:
        yield running, password


async def state(page: Page, stance: str) -> None:
    await page.get_by_label(fi(stance), exact=True).check()
    await (
        page.get_by_role("button", name=fi("Change my stance"))
        .or_(page.get_by_role("button", name=fi("State my stance")))
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text(fi("Your stance has been recorded."))


async def test_a_member_states_and_changes_a_stance(page: Page, demo_server: tuple[Server, str]) -> None:
    server, password = demo_server
    await page.goto(f"{server.url}/login?next=/procedure")
    await page.get_by_label(fi("Username"), exact=True).fill("member")
    await page.get_by_label(fi("Password"), exact=True).fill(password)
    await page.get_by_role("button", name=fi("Sign in"), exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Electronic decision procedure"))
    await page.get_by_role("link", name=TITLE).click()
    await expect(page.locator("#procedure-state")).to_have_text(fi("Open for stances"))
    await expect(page.locator("#my-stance")).to_have_text(fi("You have not stated a stance."))

    await state(page, "I accept the proposal")
    await expect(page.locator("#my-stance")).to_contain_text(fi("I accept the proposal"))

    await page.get_by_label(fi("I am disqualified"), exact=True).check()
    await page.get_by_role("button", name=fi("Change my stance")).click()
    await expect(page.get_by_role("alert")).to_contain_text(fi("Choose the ground of the disqualification."))
    await page.get_by_label(fi("Ground of the disqualification")).select_option("party")
    await page.get_by_role("button", name=fi("Change my stance")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("Your stance has been recorded."))
    await expect(page.locator("#my-stance")).to_contain_text(fi("I am disqualified"))

    await state(page, "I accept the proposal")
    await expect(page.locator("#my-history tbody tr")).to_have_count(3)
    await expect(page.locator("#procedure-state")).to_have_text(fi("Open for stances"))
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
