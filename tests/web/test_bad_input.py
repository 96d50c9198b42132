"""Every input has a type and a bound: ids beyond the database's keys are not found on every route, over-long
text is refused with a 422 naming the field (in the person's language on a page), and an e-mail address is
exactly one address, never a list or a header."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from auth.models import Role
from core.bounds import EXPLANATION, LONG_TEXT
from core.clock import FixedClock
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, make_user, next_code
from tests.web.public_world import PublicWorld, build
from web.context import AppContext
from web.i18n import translator

HTML = {"accept": "text/html"}
BEYOND = [
    2**64,
    2**63,
    2**31,
    0,
    -1,
]  # wider than SQLite's keys, than PostgreSQL's INTEGER; no row has 0 or -1
INT_PARAM = re.compile(r"\{\w+:int\}")


@pytest.fixture
async def world(context: AppContext) -> PublicWorld:
    return await build(context)


@pytest.fixture
async def admin(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> dict[str, str]:
    """An admin who has just stepped up: every guard but the body's own lets them through."""
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    headers = await api_login(client, "aino", secret=secret, clock=clock)
    stepped = await client.post(
        "/api/auth/step-up", headers=headers, json={"password": PASSWORD, "code": next_code(secret, clock)}
    )
    return {"Authorization": f"Bearer {stepped.json()['access_token']}"}


async def secretary(
    app: Litestar, context: AppContext, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The world's secretary, signed in through the pages as a browser is (cookies and CSRF)."""
    transport = httpx.ASGITransport(app=app, client=("192.0.2.30", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        secret = await enrol_totp(context, "sakari")
        page = await browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        form = {"username": "sakari", "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"}
        await browser.post("/login", data=form)
        code = {"code": next_code(secret, clock), "csrf_token": csrf.group(1), "next": "/"}
        assert (await browser.post("/login/code", data=code)).status_code == 303
        yield browser


@pytest.fixture
async def browser(
    app: Litestar, context: AppContext, clock: FixedClock, world: PublicWorld
) -> AsyncIterator[httpx.AsyncClient]:
    async for signed_in in secretary(app, context, clock):
        yield signed_in


def id_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every method of every route with an id in its path, from the app's own route table."""
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and INT_PARAM.search(route.path):
            found += [(m, route.path) for m in sorted(route.methods) if m not in ("HEAD", "OPTIONS")]
    return found


async def test_an_id_beyond_the_keys_is_not_found_on_every_route(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    routes = id_routes(app)
    assert len(routes) > 30  # the table is read, not empty
    for method, template in routes:
        for value in BEYOND:
            path = (
                INT_PARAM.sub(str(value), template).replace("{slug:str}", "x").replace("{role:str}", "member")
            )
            for headers in ({}, admin):
                response = await client.request(method, path, headers=headers, json={})
                assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
                assert response.json() == {"error": "Not found.", "status": 404}


async def test_an_id_beyond_the_keys_in_a_body_is_refused_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], world: PublicWorld
) -> None:
    cases = [
        ("POST", f"/api/bodies/{world.body.id}/members", {"user_id": 2**64, "role": "member"}, "user_id"),
        (
            "POST",
            "/api/bodies",
            {"slug": "x", "name": "X", "kind": "other", "seats": 3, "parent_id": 2**40},
            "parent_id",
        ),
    ]
    for method, path, payload, field in cases:
        response = await client.request(
            method, path, headers=admin, json=payload | {"term_start": "2026-01-01"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


# (method, path, the rest of a valid body, the field made one character too long, its bound): every free-text
# field of the agenda's API structs.
ITEM, MEETING = {"title": "Asia"}, {"starts_at": "2026-12-20T10:00:00+02:00", "place": "Sali"}
LONG_TEXT_CASES = [
    ("POST", "/api/meetings/{draft}/items", {}, "title", 500),
    *[("POST", "/api/meetings/{draft}/items", ITEM, f, 300) for f in ("preparer", "preparer_contact")],
    *[("POST", "/api/meetings/{draft}/items", ITEM, f, LONG_TEXT) for f in ("description", "proposal")],
    ("POST", "/api/meetings/{draft}/items", ITEM, "public_summary", LONG_TEXT),
    ("POST", "/api/meetings/{draft}/items", ITEM, "confidentiality_basis", 300),
    ("PUT", "/api/items/{public_item}", ITEM, "reason", 500),
    ("PUT", "/api/meetings/{draft}", MEETING, "place", 300),
    ("POST", "/api/meetings/{public}/cancel", {}, "reason", 500),
    ("PATCH", "/api/attachments/{public_attachment}", {}, "title", 300),
]


@pytest.mark.parametrize(
    ("method", "path", "rest", "field", "bound"),
    LONG_TEXT_CASES,
    ids=[f"{c[1]} {c[3]}" for c in LONG_TEXT_CASES],
)
async def test_over_long_text_is_refused_naming_the_field(
    app: Litestar,
    context: AppContext,
    clock: FixedClock,
    world: PublicWorld,
    method: str,
    path: str,
    rest: dict[str, str],
    field: str,
    bound: int,
) -> None:
    ids = {k: getattr(world, k) for k in ("draft", "public", "public_item", "public_attachment")}
    async for browser in secretary(app, context, clock):
        before = len(await audit_entries(context))
        headers = {"x-csrf-token": browser.cookies["kokous_csrf"]}
        payload = rest | {field: "x" * (bound + 1)}
        response = await browser.request(method, path.format(**ids), json=payload, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json() == {
            "error": f"At most {bound} characters fit here.",
            "status": 422,
            "field": field,
        }
        assert len(await audit_entries(context)) == before  # nothing was changed, so nothing recorded


async def test_the_domain_bounds_every_way_in(
    client: httpx.AsyncClient, admin: dict[str, str], world: PublicWorld
) -> None:
    """The admin's API to bodies, members and accounts, and a member's declaration."""
    member = {"user_id": world.secretary, "role": "attendee", "term_start": "2026-01-01", "title": "x" * 201}
    account = {"username": "x", "display_name": "x" * 201, "password": "a long new password"}
    cases = [
        ("POST", "/api/bodies", {"slug": "x", "name": "x" * 201, "kind": "other", "seats": 3}, "name"),
        ("PUT", "/api/organisation", {"name": "x" * 201}, "name"),
        (
            "PUT",
            "/api/organisation",
            {"name": "K", "council_tabling_minority": "1/222222222"},
            "council_tabling_minority",
        ),
        ("POST", f"/api/bodies/{world.body.id}/members", member, "title"),
        ("POST", "/api/users/", account, "display_name"),
    ]
    for method, path, payload, field in cases:
        response = await client.request(method, path, headers=admin, json=payload)
        assert (response.status_code, response.json().get("field")) == (422, field), response.text


async def test_a_member_cannot_store_an_endless_explanation(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: PublicWorld
) -> None:
    headers = await api_login(client, "maija")
    response = await client.post(
        f"/api/items/{world.public_item}/disqualification",
        headers=headers,
        json={"ground": "other", "explanation": "x" * (EXPLANATION + 1)},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "explanation"
    assert await audit_entries(context, "disqualification.declared") == []


async def test_a_page_says_it_in_the_persons_language_and_keeps_the_input(
    browser: httpx.AsyncClient, context: AppContext, world: PublicWorld
) -> None:
    csrf = browser.cookies["kokous_csrf"]
    added = len(await audit_entries(context, "item.added"))
    title = "Liian pitkä otsikko " + "x" * 500
    for language, message in (
        ("fi", "Tähän mahtuu enintään 500 merkkiä."),
        ("sv", "Här ryms högst 500 tecken."),
    ):
        assert translator(language)("At most {max} characters fit here.").format(max=500) == message
        response = await browser.post(
            f"/meetings/{world.draft}/edit/items",
            data={"title": title, "csrf_token": csrf},
            headers=HTML | {"accept-language": language},
        )
        assert response.status_code == 422
        assert message in response.text
        assert title in response.text  # what was typed is not lost
    details = {"starts_at": "20.12.2026 10.00", "place": "p" * 301, "csrf_token": csrf}
    page = await browser.post(f"/meetings/{world.draft}/edit", data=details, headers=HTML)
    assert page.status_code == 422
    assert "Tähän mahtuu enintään 300 merkkiä." in page.text
    assert len(await audit_entries(context, "item.added")) == added


BAD_ADDRESSES = [
    "a@x.fi, b@y.fi",
    "a@x.fi\r\nBcc: b@y.fi",
    "a@x.fi\nBcc: b@y.fi",
    "Matti Meikäläinen <a@x.fi>",
    '"a b"@x.fi',
    "a@[192.0.2.1]",
    "a@localhost",
    "a@x.fi;b@y.fi",
    "not an address",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
async def test_an_account_gets_one_address_or_none(
    client: httpx.AsyncClient, context: AppContext, admin: dict[str, str], address: str
) -> None:
    new = {"username": "pekka", "display_name": "Pekka", "password": "a long new password", "email": address}
    response = await client.post("/api/users/", headers=admin, json=new)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "email"
    assert response.json()["error"] == "Give one e-mail address, such as matti.meikalainen@kunta.fi."
    assert [e for e in await audit_entries(context, "user.created") if "pekka" in e.data] == []


async def test_an_address_is_kept_in_its_normal_form(
    client: httpx.AsyncClient, context: AppContext, admin: dict[str, str]
) -> None:
    new = {
        "username": "pekka",
        "display_name": "Pekka",
        "password": "a long new password",
        "email": "Pekka.P@KUNTA.FI",
    }
    response = await client.post("/api/users/", headers=admin, json=new)
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "Pekka.P@kunta.fi"
    [created] = [e for e in await audit_entries(context, "user.created") if "pekka" in e.data]
    assert created.subject == f"user:{response.json()['id']}"


async def test_the_member_import_takes_one_address_per_row(
    client: httpx.AsyncClient, context: AppContext, admin: dict[str, str], world: PublicWorld
) -> None:
    rows = (
        "username;name;email;role;term_start\r\n"
        "user0;Henkilö 0;a@x.fi, b@y.fi;jäsen;1.6.2025\r\n"
        'user1;Henkilö 1;"a@x.fi\r\nBcc: b@y.fi";jäsen;1.6.2025\r\n'  # a quoted cell may hold a line break
        "user2;Henkilö 2;Matti.M@Kunta.FI;jäsen;1.6.2025\r\n"
    )
    response = await client.post(
        f"/api/bodies/{world.body.id}/members/import",
        headers=admin,
        files={"file": ("jasenet.csv", rows.encode(), "text/csv")},
    )
    assert response.status_code == 422, response.text
    rejected = [(r["row"], r["field"]) for r in response.json()["rejections"]]
    assert rejected == [(2, "email"), (3, "email")]
    assert await audit_entries(context, "members.imported") == []
    fixed = rows.split("\r\n")
    good = "\r\n".join([fixed[0], fixed[-2], ""])
    response = await client.post(
        f"/api/bodies/{world.body.id}/members/import",
        headers=admin,
        files={"file": ("jasenet.csv", good.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    members = (await client.get(f"/api/bodies/{world.body.id}/members", headers=admin)).json()
    assert "Henkilö 2" in {m["name"] for m in members}
    [created] = [e for e in await audit_entries(context, "user.created") if "user2" in e.data]
    async with context.db.read() as session:
        from auth.queries import user_by_username

        user = await user_by_username(session, "user2")
        assert user is not None
        assert (user.email, created.subject) == ("Matti.M@kunta.fi", f"user:{user.id}")
    assert len(await audit_entries(context, "members.imported")) == 1


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "1999-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
    ],
)
async def test_a_time_beyond_any_meeting_is_refused_naming_the_field(
    app: Litestar, context: AppContext, clock: FixedClock, world: PublicWorld, moment: str
) -> None:
    """Found by the fuzzer (docs/security.md, "Fuzzing"): a moment near datetime's own ends overflowed when
    converted to UTC, a 500. Meetings and deadlines take years 2000-2999, on every way in."""
    async for browser in secretary(app, context, clock):
        before = len(await audit_entries(context))
        headers = {"x-csrf-token": browser.cookies["kokous_csrf"]}
        cases = [
            (
                "POST",
                f"/api/bodies/{world.body.id}/meetings",
                {"starts_at": moment, "place": "Sali"},
                "starts_at",
            ),
            ("PUT", f"/api/meetings/{world.draft}", {"starts_at": moment, "place": "Sali"}, "starts_at"),
            (
                "PUT",
                f"/api/meetings/{world.draft}",
                {"starts_at": "2026-12-17T16:00:00+02:00", "ends_at": moment, "place": "Sali"},
                "ends_at",
            ),
            (
                "POST",
                f"/api/meetings/{world.draft}/items",
                {"title": "Asia", "deadline_at": moment},
                "deadline_at",
            ),
        ]
        for method, path, payload, field in cases:
            response = await browser.request(method, path, json=payload, headers=headers)
            assert response.status_code == 422, response.text
            assert response.json() == {
                "error": "Give a time between the years 2000 and 2999.",
                "status": 422,
                "field": field,
            }
        form = {"starts_at": "1.1.0001 00.30", "place": "Sali", "csrf_token": browser.cookies["kokous_csrf"]}
        page = await browser.post(f"/bodies/{world.body.slug}/meetings", data=form)
        assert page.status_code == 422, page.text
        assert len(await audit_entries(context)) == before  # nothing was changed, so nothing recorded


async def test_text_with_a_nul_character_is_refused_on_every_backend(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: PublicWorld
) -> None:
    """Found by fuzzing (docs/security.md, "Fuzzing"): PostgreSQL stores no NUL in text and failed the
    request with a 500, while SQLite kept it. Now both refuse it before any statement is sent."""
    secret = await enrol_totp(context, "sakari")
    secretary = await api_login(client, "sakari", secret=secret, clock=clock)
    before = len(await audit_entries(context))
    cases = [
        ("POST", "/api/auth/login", {"json": {"username": "sak\x00ari", "password": PASSWORD}}, {}),
        ("POST", f"/api/meetings/{world.draft}/items", {"json": {"title": "Asia\x00"}}, secretary),
        ("GET", "/bodies/sivi%00stys", {}, {}),
    ]
    for method, path, request, headers in cases:
        response = await client.request(method, path, headers=headers, **request)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "Text cannot contain the NUL character."
    assert len(await audit_entries(context)) == before
