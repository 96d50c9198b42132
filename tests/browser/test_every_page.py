"""Every page of the route table, at a phone's 360 px and a desktop's 1280 px, as each role that may see it:
no page scrolls sideways (scrollWidth <= innerWidth) and axe-core finds no violation. Then an admin's day in
the browser: an account, a role, a member with a personal deputy, a CSV import with one bad row, a reset.

Step-ups use the admin's recovery codes: each is good once, so no test waits for the app's next 30 seconds.
Screenshots go to /tmp/kokous-pages/ for a person to look at.
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

from tests.browser.conftest import ACTION_TIMEOUT_MS, REPO, Server, _cli, _free_port, server_env, serving
from tests.browser.steps import PASSWORD, axe, fi, sign_in

pytestmark = pytest.mark.browser

LONG_EMAIL = "liisa.laine-pitkasukuniminen.esimerkki@kaupunginkanslia-esimerkkikunta.example.fi"
SHOTS = Path("/tmp/kokous-pages")  # noqa: S108 - a fixed place for a person to look at
WIDTHS = (360, 1280)


@dataclass(frozen=True)
class Seeded:
    body: str
    closed_body: str
    body_id: int
    public: int
    closed: int
    draft: int
    item: int
    secrets: dict[str, str]
    recovery: list[str]  # the admin's recovery codes, one per step-up
    users: dict[str, int]


async def seed() -> None:
    """Run in a subprocess against KOKOUS_DATA_DIR: two bodies, every role, meetings; prints JSON."""
    from auth import actions as auth_actions
    from auth import totp
    from auth.models import Role, User
    from core.clock import LOCAL, FixedClock
    from core.config import settings_from_env
    from meetings.actions.agenda import ItemSpec, do_add_item
    from meetings.actions.bodies import BodySpec, do_create_body
    from meetings.actions.call import do_send_call
    from meetings.actions.meetings import MeetingSpec, do_create_meeting
    from meetings.actions.memberships import MembershipSpec, do_add_membership
    from web.context import build_context

    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=2))
    context = build_context(settings_from_env(), clock=clock)
    day = (clock() + timedelta(days=12)).astimezone(LOCAL).replace(hour=16, minute=0, second=0, microsecond=0)
    async with context.db.write() as session:
        body = await do_create_body(
            session,
            spec=BodySpec(slug="sivistys", name="Sivistyslautakunta", kind="committee", seats=7),
            actor="system:seed",
        )
        closed_body = await do_create_body(
            session,
            spec=BodySpec(slug="kh", name="Kunnanhallitus", kind="executive", seats=9),
            actor="system:seed",
        )
        ids: dict[str, int] = {}
        people = (
            ("sakari", "Sakari Sihteeri", ("secretary",), ()),
            ("helena", "Helena Puheenjohtaja", ("chair", "member"), ()),
            ("liisa", "Liisa Laine", ("member",), ()),
            ("aino", "Aino Ylläpitäjä", (), (Role.ADMIN,)),
            ("tapio", "Tapio Tarkastaja", (), (Role.AUDITOR,)),
        )
        for username, name, roles, grants in people:
            user = await auth_actions.do_create_user(
                session,
                username=username,
                display_name=name,
                password=PASSWORD,
                email=LONG_EMAIL if username == "liisa" else f"{username}@kunta.example",
                actor="system:seed",
            )
            ids[username] = user.id
            for grant in grants:
                await auth_actions.do_grant_role(session, user=user, role=grant, actor="system:seed")
            for role in roles:
                spec = MembershipSpec(user_id=user.id, role=role, term_start=date(2026, 1, 1))
                await do_add_membership(session, body=body, spec=spec, actor="system:seed")
        secrets, recovery = {}, []
        for username in ("sakari", "helena", "aino", "tapio"):
            person = await session.get(User, ids[username])
            assert person is not None
            secrets[username] = await auth_actions.do_start_totp_enrolment(session, user=person)
            codes = await auth_actions.do_confirm_totp_enrolment(
                session, user=person, code=totp.code_at(secrets[username], clock())
            )
            assert codes
            if username == "aino":
                recovery = list(codes)
        actor = f"user:{ids['sakari']}"
        public = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=day, place="Valtuustosali", is_public=True),
            actor=actor,
        )
        item = await do_add_item(
            session,
            meeting=public,
            spec=ItemSpec(
                title="Asemakaavan muutos keskustan kortteleissa 12–14",
                description="Kaavaa muutetaan. Lisätietoja antaa kaavoittaja.",
                proposal="Hyväksytään kaavamuutos.",
                preparer="Kaavoittaja Pirjo Pitkänen",
                preparer_contact=LONG_EMAIL,
                presenter_id=ids["helena"],
            ),
            actor=actor,
        )
        await do_add_item(
            session,
            meeting=public,
            spec=ItemSpec(
                title="Oppilaan erityisen tuen päätös",
                description="Salassa pidettävä.",
                publicity="confidential",
                confidentiality_basis="JulkL 24 § 1 mom 30 k",
                presenter_id=ids["helena"],
            ),
            actor=actor,
        )
        await do_send_call(
            session, meeting=public, base_url="http://127.0.0.1", sender="kokous@kunta.example", actor=actor
        )
        closed = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=day + timedelta(days=1), place="Kunnantalo", is_public=False),
            actor=actor,
        )
        await do_add_item(session, meeting=closed, spec=ItemSpec(title="Henkilöstöasia"), actor=actor)
        await do_send_call(
            session, meeting=closed, base_url="http://127.0.0.1", sender="kokous@kunta.example", actor=actor
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
                "closed_body": "kh",
                "body_id": body.id,
                "public": public.id,
                "closed": closed.id,
                "draft": draft.id,
                "item": item.id,
                "secrets": secrets,
                "recovery": recovery,
                "users": ids,
            }
        )
        + "\n"
    )
    _ = closed_body


def _run_seed(env: dict[str, str]) -> Seeded:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from tests.browser.test_every_page import seed; asyncio.run(seed())",
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
    data_dir = tmp_path_factory.mktemp("kokous-every-page")
    SHOTS.mkdir(exist_ok=True)
    port = _free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    _cli("db", "upgrade", env=env)
    seeded = _run_seed(env)
    with serving(data_dir, port, env) as running:
        yield running, seeded


@pytest.fixture(scope="module")
def server(seeded_server: tuple[Server, Seeded]) -> Server:
    return seeded_server[0]


@pytest.fixture(scope="module")
def data(seeded_server: tuple[Server, Seeded]) -> Seeded:
    return seeded_server[1]


@pytest.fixture
async def person(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=server.url, locale="fi-FI", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    await context.close()


def pages_for(role: str, data: Seeded) -> list[str]:
    """The GET pages of the route table each role may see (tests/web/test_access_rules.py)."""
    public = [
        "/",
        "/login",
        "/bodies",
        f"/bodies/{data.body}",
        f"/bodies/{data.closed_body}",
        f"/meetings/{data.public}",
        f"/meetings/{data.closed}",
        f"/meetings/{data.public}/recordings/public",  # none yet: its minutes are not published
        "/search?q=kaavan",
        "/verify",
    ]
    signed = [
        *public[:1],
        *public[2:],
        "/my/meetings",
        "/procedure",
        "/minutes",
        "/account",
        "/account/second-factor",
    ]
    extra = {
        "public": public,
        "member": [
            *signed,
            f"/meetings/{data.public}/items/{data.item}/disqualification",
            f"/meetings/{data.public}/procedure-check",
        ],
        "secretary": [
            *signed,
            f"/meetings/{data.draft}/edit",
            f"/meetings/{data.public}/edit",
            f"/meetings/{data.public}/procedure-check",
        ],
        "auditor": [*signed, "/audit", "/audit?action=login", "/audit/verify"],
        "admin": [
            *signed,
            "/admin",
            "/admin/users",
            f"/admin/users/{data.users['liisa']}",
            "/admin/organisation",
            "/admin/bodies",
            f"/admin/bodies/{data.body_id}",
            f"/admin/bodies/{data.body_id}/import",
        ],
    }
    return extra[role]


ROLES = {"public": None, "member": "liisa", "secretary": "sakari", "auditor": "tapio", "admin": "aino"}


async def check_page(page: Page, path: str, width: int, problems: list[str]) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    response = await page.goto(path)
    assert response is not None
    if response.status >= 400:
        problems.append(f"{path} at {width}px answered {response.status}")
        return
    sizes = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if sizes[0] > sizes[1]:
        problems.append(f"{path} at {width}px is {sizes[0]}px wide")
    results = await axe.run(page)
    if results.violations_count:
        problems.append(f"{path} at {width}px: {results.generate_report()}")


@pytest.mark.parametrize("role", list(ROLES))
async def test_every_page_fits_a_phone_and_passes_axe(
    person: BrowserContext, data: Seeded, role: str
) -> None:
    page = await person.new_page()
    username = ROLES[role]
    if username is not None:
        await sign_in(page, username, data.secrets.get(username))
    problems: list[str] = []
    for path in pages_for(role, data):
        for width in WIDTHS:
            await check_page(page, path, width, problems)
        name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "_") or "index"
        await page.set_viewport_size({"width": 360, "height": 900})
        await page.screenshot(path=str(SHOTS / f"{role}-{name}-360.png"), full_page=True)
    assert not problems, "\n".join(problems)


async def step_up(page: Page, data: Seeded, form: str) -> None:
    """Fill the form's confirmation with the admin's password and a fresh recovery code."""
    scope = page.locator(form)
    await scope.get_by_label(fi("Your password")).fill(PASSWORD)
    await scope.get_by_label(fi("Code from your authenticator app")).fill(data.recovery.pop())


async def test_an_admin_sets_up_a_person_end_to_end(
    person: BrowserContext, data: Seeded, tmp_path: Path
) -> None:
    page = await person.new_page()
    await page.set_viewport_size({"width": 390, "height": 900})
    await sign_in(page, "aino", data.secrets["aino"])
    # An account.
    await page.goto("/admin/users")
    form = 'form[action="/admin/users"]'
    await page.locator(form).get_by_label(fi("Username")).fill("olli")
    await page.locator(form).get_by_label(fi("Name")).fill("Olli Osallinen")
    await page.locator(form).get_by_label(fi("E-mail address")).fill("olli.osallinen@kunta.example")
    await page.locator(form).get_by_label(fi("First password")).fill("yksi kaksi kolme neljä")
    await step_up(page, data, form)
    await page.get_by_role("button", name=fi("Create the account")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The account was created."))
    user_page = page.url.split("?")[0]
    # A role in a body.
    await page.locator("summary").filter(has_text=fi("Give a role")).click()
    grant = 'form[action$="/roles"]'
    await page.locator("#grant-role").select_option("secretary")
    await page.locator("#grant-scope").select_option(f"body:{data.body_id}")
    await step_up(page, data, grant)
    await page.locator(grant).get_by_role("button", name=fi("Give the role")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The role was given."))
    await page.screenshot(path=str(SHOTS / "admin-workflow-user-390.png"), full_page=True)
    # A member of the body, with a personal deputy.
    await page.goto(f"/admin/bodies/{data.body_id}")
    member = 'form[action$="/members"]'
    await page.locator("#member-user-id").select_option(label="Olli Osallinen (olli)")
    await page.locator("#member-role").select_option("deputy")
    await page.locator("#member-deputy-for-id").select_option(label="Liisa Laine")
    await step_up(page, data, member)
    await page.get_by_role("button", name=fi("Add to the body")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The person was added to the body."))
    await expect(page.locator("#members")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "admin-workflow-body-390.png"), full_page=True)
    # A CSV import with one bad row: nothing saved, the row named.
    sheet = tmp_path / "jasenet.csv"
    header, good = "username;name;role;term_start\r\n", "maija;Maija Mehiläinen;jäsen;1.1.2026\r\n"
    sheet.write_text(header + good + "kalle;Kalle Kuningas;kuningas;1.1.2026\r\n", encoding="utf-8")
    await page.goto(f"/admin/bodies/{data.body_id}/import")
    await page.get_by_label(fi("CSV file")).set_input_files(str(sheet))
    await page.get_by_role("button", name=fi("Check the file")).click()
    await expect(page.get_by_role("table", name=fi("Rows with a problem"))).to_contain_text("3")
    await page.screenshot(path=str(SHOTS / "admin-workflow-import-390.png"), full_page=True)
    sheet.write_text(
        "username;name;role;term_start\r\nmaija;Maija Mehiläinen;jäsen;1.1.2026\r\n", encoding="utf-8"
    )
    await page.get_by_label(fi("CSV file")).set_input_files(str(sheet))
    await page.get_by_role("button", name=fi("Check the file")).click()
    await step_up(page, data, 'form[action$="/import/confirm"]')
    await page.get_by_role("button", name=fi("Import these members")).click()
    await expect(page.get_by_role("status")).to_contain_text(fi("The members were imported."))
    # A second factor reset.
    await page.goto(f"/admin/users/{data.users['helena']}")
    await page.locator("summary").filter(has_text=fi("Reset the second factor")).click()
    reset = 'form[action$="/second-factor/reset"]'
    await step_up(page, data, reset)
    await page.locator(reset).get_by_role("button", name=fi("Reset the second factor")).click()
    await expect(page.get_by_role("status")).to_contain_text(
        fi("The second factor was reset. The person sets up a new one at their next sign-in.")
    )
    sizes = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1]
    await page.screenshot(path=str(SHOTS / "admin-workflow-reset-390.png"), full_page=True)
    _ = user_page
