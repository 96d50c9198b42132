"""The secretary's agenda editor, the member's meeting view and the public agenda in headless Chromium.

Each page is checked with axe-core (from the axe-playwright-python package) and must report no violations.
The data is made with the project's own actions in a subprocess before this module's server starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
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
from tests.browser.steps import PASSWORD, assert_accessible, fi, sign_in

pytestmark = pytest.mark.browser

SECRET_TITLE = "Oppilaan erityisen tuen päätös"
SECRET_TEXT = "Terveydentilaa koskeva selvitys."
PUBLIC_TITLE = "Koulukuljetusten hankinta 2027"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SCREENSHOTS = {
    "public": Path("/tmp/kokous-public.png"),  # noqa: S108 - fixed places for a person to look at
    "member": Path("/tmp/kokous-member.png"),  # noqa: S108
    "editor": Path("/tmp/kokous-editor.png"),  # noqa: S108
}


@dataclass(frozen=True)
class Seeded:
    body: str
    public: int  # a public meeting whose call was sent, with a confidential item
    draft: int  # a draft for the editor
    totp_secret: str  # the secretary's
    chair_secret: str  # the chair's, who issues the call


async def seed() -> None:
    """Run in a subprocess against KOKOUS_DATA_DIR: a body, its people and two meetings; prints JSON."""
    from auth import actions as auth_actions
    from auth import totp
    from auth.models import User
    from core.clock import LOCAL, FixedClock
    from core.config import settings_from_env
    from meetings.actions.agenda import ItemSpec, do_add_item
    from meetings.actions.bodies import BodySpec, do_create_body
    from meetings.actions.call import do_send_call
    from meetings.actions.meetings import MeetingSpec, do_create_meeting
    from meetings.actions.memberships import MembershipSpec, do_add_membership
    from web.context import build_context

    # Two minutes ago, so that the secretary's enrolment code is older than the one typed at sign-in.
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=2))
    context = build_context(settings_from_env(), clock=clock)
    day = (clock() + timedelta(days=12)).astimezone(LOCAL).replace(hour=16, minute=0, second=0, microsecond=0)
    async with context.db.write() as session:
        spec = BodySpec(slug="sivistys", name="Sivistyslautakunta", kind="committee", seats=7)
        body = await do_create_body(session, spec=spec, actor="system:seed")
        ids = {}
        for username, name, roles in (
            ("sakari", "Sakari Sihteeri", ("secretary",)),
            ("helena", "Helena Puheenjohtaja", ("chair", "member")),
            ("liisa", "Liisa Laine", ("member",)),
        ):
            user = await auth_actions.do_create_user(
                session, username=username, display_name=name, password=PASSWORD, actor="system:seed"
            )
            ids[username] = user.id
            for role in roles:
                membership = MembershipSpec(user_id=user.id, role=role, term_start=date(2026, 1, 1))
                await do_add_membership(session, body=body, spec=membership, actor="system:seed")
        secrets = {}
        for username in ("sakari", "helena"):  # chairs and secretaries sign in with a second factor
            person = await session.get(User, ids[username])
            assert person is not None
            secrets[username] = await auth_actions.do_start_totp_enrolment(session, user=person)
            code = totp.code_at(secrets[username], clock())
            assert await auth_actions.do_confirm_totp_enrolment(session, user=person, code=code)
        secret = secrets["sakari"]
        actor = f"user:{ids['sakari']}"
        public = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=day, place="Valtuustosali", is_public=True),
            actor=actor,
        )
        for spec_values in (
            {"title": PUBLIC_TITLE, "description": "Hankinta kilpailutetaan.", "proposal": "Hyväksytään."},
            {
                "title": SECRET_TITLE,
                "description": SECRET_TEXT,
                "publicity": "confidential",
                "confidentiality_basis": "JulkL 24 § 1 mom 30 k",
            },
        ):
            item = ItemSpec(presenter_id=ids["helena"], preparer="Rehtori Rauni", **spec_values)  # type: ignore[arg-type]
            await do_add_item(session, meeting=public, spec=item, actor=actor)
        await do_send_call(
            session, meeting=public, base_url="http://127.0.0.1", sender="kokous@kunta.example", actor=actor
        )
        draft = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=day + timedelta(days=7), place="Kunnantalo", is_public=True),
            actor=actor,
        )
    await context.db.dispose()
    sys.stdout.write(
        json.dumps(
            {
                "body": "sivistys",
                "public": public.id,
                "draft": draft.id,
                "totp_secret": secret,
                "chair_secret": secrets["helena"],
            }
        )
    )


def _run_seed(env: dict[str, str]) -> Seeded:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from tests.browser.test_agenda_pages import seed; asyncio.run(seed())",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"seeding failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return Seeded(**json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Seeded]]:
    """A migrated, seeded SQLite database served by `kokous serve` on a free port, for this module only."""
    data_dir = tmp_path_factory.mktemp("kokous-agenda")
    port = _free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    _cli("db", "upgrade", env=env)
    seeded = _run_seed(env)
    with serving(data_dir, port, env) as running:
        yield running, seeded


@pytest.fixture(scope="module")
def server(seeded_server: tuple[Server, Seeded]) -> Server:
    """Overrides the sign-in tests' server, so conftest's failure report shows this server's log."""
    return seeded_server[0]


@pytest.fixture(scope="module")
def data(seeded_server: tuple[Server, Seeded]) -> Seeded:
    return seeded_server[1]


@pytest.fixture
async def person(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=server.url, locale="fi-FI", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    await context.close()


async def open_page(context: BrowserContext, console: Console) -> Page:
    page = await context.new_page()
    page.on("console", console.record)
    page.on("pageerror", console.record_error)
    return page


async def screenshot(page: Page, name: str) -> None:
    image = await page.screenshot(path=str(SCREENSHOTS[name]), full_page=True)
    assert image.startswith(b"\x89PNG")


async def test_public_agenda_mentions_confidential_items_only(
    person: BrowserContext, console: Console, data: Seeded
) -> None:
    page = await open_page(person, console)
    await page.goto("/bodies")
    await assert_accessible(page)
    await page.get_by_role("link", name="Sivistyslautakunta", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sivistyslautakunta")
    await assert_accessible(page)
    await page.get_by_role("link", name=f"{data.public}/", exact=False).first.click()
    await expect(page).to_have_url(f"{page.url.split('/meetings/')[0]}/meetings/{data.public}")
    agenda = page.get_by_role("list", name=fi("Agenda"))
    await expect(agenda.get_by_role("heading", level=3)).to_have_count(2)
    await expect(agenda.get_by_text(PUBLIC_TITLE)).to_be_visible()
    await expect(agenda.get_by_text(fi("Confidential matter"))).to_be_visible()
    assert SECRET_TITLE not in await page.content()
    assert SECRET_TEXT not in await page.content()
    await assert_accessible(page)
    await screenshot(page, "public")
    feed = await page.request.get("/bodies/sivistys/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert SECRET_TITLE not in await feed.text()
    assert console.problems == []


async def test_member_reads_everything_and_declares_a_disqualification(
    person: BrowserContext, console: Console, data: Seeded
) -> None:
    page = await open_page(person, console)
    await sign_in(page, "liisa")
    await page.get_by_role("link", name=fi("My meetings"), exact=True).click()
    await assert_accessible(page)
    await page.goto(f"/meetings/{data.public}")
    secret = page.locator("li.agenda-item").filter(has_text=SECRET_TITLE)
    await expect(secret.get_by_text(SECRET_TEXT)).to_be_visible()
    await expect(secret.get_by_text(fi("Confidential"), exact=False).first).to_be_visible()
    await assert_accessible(page)

    await secret.get_by_role("link", name=fi("Declare that I am disqualified")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(fi("Declare that I am disqualified"))
    await expect(page.get_by_text(SECRET_TITLE)).to_be_visible()
    await page.get_by_role("button", name=fi("Declare disqualification")).click()
    # No ground chosen: the error is tied to the field, and the page stays accessible.
    ground = page.get_by_role("group", name=fi("Ground"))  # radio buttons: the grounds wrap on a phone
    await expect(ground.get_by_role("radio").first).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_contain_text(fi("Choose the ground of the disqualification."))
    await assert_accessible(page)
    await ground.locator('input[value="benefit_or_harm"]').check()
    await page.get_by_role("button", name=fi("Declare disqualification")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("Your disqualification was recorded."))
    await expect(page.get_by_role("button", name=fi("Withdraw my disqualification"))).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "member")
    assert console.problems == []


async def test_secretary_prepares_the_agenda_and_the_chair_sends_the_call(
    person: BrowserContext, console: Console, data: Seeded
) -> None:
    page = await open_page(person, console)
    await sign_in(page, "sakari", data.totp_secret)
    await page.goto(f"/meetings/{data.draft}/edit")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(fi("Agenda editor"))
    await assert_accessible(page)
    new_item = page.locator(f'form[action="/meetings/{data.draft}/edit/items"]')

    # A missing title: the error names the field and what was typed stays.
    await new_item.get_by_label(fi("Description"), exact=True).fill("Kuvaus, joka ei saa kadota.")
    await new_item.get_by_role("button", name=fi("Add the item")).click()
    title = new_item.get_by_label(fi("Title"), exact=False)
    await expect(title).to_have_attribute("aria-invalid", "true")
    await expect(title).to_be_focused()
    await expect(new_item.get_by_label(fi("Description"), exact=True)).to_have_value(
        "Kuvaus, joka ei saa kadota."
    )
    await assert_accessible(page)

    await title.fill("Lukuvuoden työajat")
    await new_item.get_by_label(fi("Proposal"), exact=True).fill("Lautakunta vahvistaa työajat.")
    await new_item.get_by_role("button", name=fi("Add the item")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The item was added to the agenda."))
    await expect(page.get_by_role("heading", level=3, name="Lukuvuoden työajat")).to_be_visible()

    # An attachment through the plain upload form: its CSRF token rides in the form's address.
    first = page.locator("li.agenda-item").filter(has_text="Lukuvuoden työajat")
    await first.get_by_text(fi("Add an attachment")).click()
    await first.get_by_label(fi("File"), exact=True).set_input_files(
        files=[{"name": "tyoajat.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await first.get_by_label(fi("Title of the attachment")).fill("Työaikataulukko")
    await first.get_by_role("button", name=fi("Upload the attachment")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The attachment was added."))
    await expect(page.get_by_text("Työaikataulukko").first).to_be_visible()

    # A confidential item, then moved first.
    await new_item.get_by_label(fi("Title"), exact=False).fill("Oppilaan siirto toiseen kouluun")
    await new_item.get_by_label(fi("Publicity of the item")).select_option("confidential")
    await new_item.get_by_label(fi("Legal basis of confidentiality")).fill("JulkL 24 § 1 mom 30 k")
    await new_item.get_by_role("button", name=fi("Add the item")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The item was added to the agenda."))
    second = page.locator("li.agenda-item").filter(has_text="Oppilaan siirto toiseen kouluun")
    await second.get_by_role("button", name=fi("Move up")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The order of the agenda was changed."))
    await expect(page.locator("li.agenda-item h3").first).to_contain_text("Oppilaan siirto toiseen kouluun")
    await expect(page.locator(".problems")).to_have_count(0)
    await assert_accessible(page)
    await screenshot(page, "editor")

    # The secretary prepares the call; the chair issues it (R-CALL-1/5) after ticking the box.
    await expect(page.get_by_role("button", name=fi("Send the call"), exact=True)).to_have_count(0)
    await page.context.clear_cookies()
    await sign_in(page, "helena", data.chair_secret)
    await page.goto(f"/meetings/{data.draft}/edit")
    await page.get_by_label(fi("I have checked the agenda. Send the call: it cannot be taken back.")).check()
    await page.get_by_role("button", name=fi("Send the call"), exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(
        fi("The call was sent and the agenda published.")
    )
    await expect(page.get_by_role("button", name=fi("Send the call"), exact=True)).to_have_count(0)
    await assert_accessible(page)
    await page.goto(f"/meetings/{data.draft}")
    await expect(page.get_by_text(fi("Called"), exact=False).first).to_be_visible()
    assert console.problems == []
