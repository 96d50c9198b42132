"""The admin's pages: every change through the admin API's own actions, after a step-up, audited; nobody
but an admin reaches them (DESIGN.md §4)."""

from __future__ import annotations

import re

import httpx
import pytest

from auth.models import Role
from core.clock import LOCAL, FixedClock
from meetings.models import Body
from tests.factories import (
    PASSWORD,
    api_login,
    audit_entries,
    enrol_totp,
    make_body,
    make_user,
    next_code,
)
from tests.web.pages.test_signin import csrf_from
from web.context import AppContext

ADMIN_PAGES = [
    ("GET", "/admin"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}/roles"),
    ("POST", "/admin/users/{user}/roles/revoke"),
    ("POST", "/admin/users/{user}/deactivate"),
    ("POST", "/admin/users/{user}/activate"),
    ("POST", "/admin/users/{user}/second-factor/reset"),
    ("GET", "/admin/organisation"),
    ("POST", "/admin/organisation"),
    ("GET", "/admin/bodies"),
    ("POST", "/admin/bodies"),
    ("GET", "/admin/bodies/{body}"),
    ("POST", "/admin/bodies/{body}"),
    ("POST", "/admin/bodies/{body}/members"),
    ("POST", "/admin/bodies/{body}/members/1/end"),
    ("GET", "/admin/bodies/{body}/import"),
    ("POST", "/admin/bodies/{body}/import"),
    ("POST", "/admin/bodies/{body}/import/confirm"),
]


async def browser_login(client: httpx.AsyncClient, username: str, secret: str, clock: FixedClock) -> None:
    page = await client.get("/login")
    first = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert first.status_code == 303, first.text
    code_page = await client.get("/login/code")
    done = await client.post(
        "/login/code", data={"code": next_code(secret, clock), "csrf_token": csrf_from(code_page.text)}
    )
    assert done.status_code == 303, done.text


@pytest.fixture
async def admin(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> str:
    """An admin signed in with the browser; returns the app's TOTP secret for the step-ups."""
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    await browser_login(client, "aino", secret, clock)
    client.cookies.set("kokous_lang", "en")  # the assertions read English; fi and sv are checked by make lint
    return secret


async def submit(
    client: httpx.AsyncClient,
    page: str,
    action: str,
    fields: dict[str, str],
    *,
    secret: str,
    clock: FixedClock,
) -> httpx.Response:
    """Post a change form found on `page`, with a fresh step-up (password and a new code)."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    proof = {"confirm_password": PASSWORD, "confirm_code": next_code(secret, clock)}
    return await client.post(action, data=fields | proof | {"csrf_token": csrf_from(shown.text)})


def user_id_from(location: str) -> int:
    match = re.match(r"/admin/users/(\d+)", location)
    assert match, location
    return int(match.group(1))


async def test_admin_creates_a_user_after_a_step_up(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    users = await client.get("/admin/users")
    assert users.status_code == 200
    assert "Aino" in users.text
    today = clock().astimezone(LOCAL)
    assert f"{today.day}.{today.month}.{today.year}" in users.text  # the admin's own last sign-in, local
    fields = {
        "username": "pekka",
        "display_name": "Pekka Puupää",
        "email": "pekka.puupaa.with.a.very.long.address@kunta.example.test",
        "password": "a long new password",
        "role": "member",
    }
    created = await submit(client, "/admin/users", "/admin/users", fields, secret=admin, clock=clock)
    assert created.status_code == 303, created.text
    assert created.headers["location"].endswith("?done=user-created")
    assert any(c.startswith("kokous_access=") for c in created.headers.get_list("set-cookie"))
    page = await client.get(created.headers["location"])
    assert "Pekka Puupää" in page.text
    assert 'role="status"' in page.text
    actions = [e.action for e in await audit_entries(context)]
    assert actions[-3:] == ["session.stepped_up", "user.created", "role.granted"]


async def test_a_wrong_code_changes_nothing_and_keeps_the_input(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    shown = await client.get("/admin/users")
    refused = await client.post(
        "/admin/users",
        data={
            "username": "pekka",
            "display_name": "Pekka",
            "password": "a long new password",
            "confirm_password": PASSWORD,
            "confirm_code": "000000",
            "csrf_token": csrf_from(shown.text),
        },
    )
    assert refused.status_code == 401
    assert 'value="pekka"' in refused.text
    assert 'role="alert"' in refused.text
    assert len(await audit_entries(context, "user.created")) == 1  # the admin's own
    assert (await audit_entries(context, "reauth.failed"))[-1].data.count("step-up") == 1
    missing = await client.post(
        "/admin/users",
        data={"username": "pekka", "display_name": "Pekka", "csrf_token": csrf_from(refused.text)},
    )
    assert missing.status_code == 422
    assert "Confirm the change with your password" in missing.text


async def test_roles_per_body_deactivation_and_second_factor_reset(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    body_id = await make_body(context)
    person = await make_user(context, "sanna")
    await enrol_totp(context, "sanna")
    page = f"/admin/users/{person.id}"
    granted = await submit(
        client,
        page,
        f"{page}/roles",
        {"role": "secretary", "scope": f"body:{body_id}"},
        secret=admin,
        clock=clock,
    )
    assert granted.status_code == 303, granted.text
    shown = await client.get(page)
    assert "Kunnanhallitus" in shown.text
    entry = (await audit_entries(context, "role.granted"))[-1]
    assert f'"scope":"body:{body_id}"' in entry.data
    revoked = await submit(
        client,
        page,
        f"{page}/roles/revoke",
        {"role": "secretary", "scope": f"body:{body_id}"},
        secret=admin,
        clock=clock,
    )
    assert revoked.status_code == 303
    assert await audit_entries(context, "role.revoked")
    reset = await submit(client, page, f"{page}/second-factor/reset", {}, secret=admin, clock=clock)
    assert reset.status_code == 303
    assert (await audit_entries(context, "totp.reset"))[-1].subject == f"user:{person.id}"
    assert "Not set up" in (await client.get(page)).text
    off = await submit(client, page, f"{page}/deactivate", {}, secret=admin, clock=clock)
    assert off.status_code == 303
    assert await audit_entries(context, "user.disabled")
    on = await submit(client, page, f"{page}/activate", {}, secret=admin, clock=clock)
    assert on.status_code == 303
    assert await audit_entries(context, "user.enabled")


async def test_one_step_up_allows_one_change(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    """The same code twice is a replay: the second change is refused, as through the API."""
    person = await make_user(context, "sanna")
    page = f"/admin/users/{person.id}"
    code = next_code(admin, clock)
    first = await client.get(page)
    data = {"confirm_password": PASSWORD, "confirm_code": code, "role": "auditor"}
    done = await client.post(f"{page}/roles", data=data | {"csrf_token": csrf_from(first.text)})
    assert done.status_code == 303
    again = await client.get(page)
    replay = await client.post(
        f"{page}/roles", data=data | {"role": "member", "csrf_token": csrf_from(again.text)}
    )
    assert replay.status_code == 401
    assert len(await audit_entries(context, "role.granted")) == 2  # the admin's own, and the auditor's


async def test_organisation_settings(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    fields = {
        "name": "Esimerkkilä",
        "name_sv": "Exempelby",
        "default_call_period_days": "7",
        "call_day_count": "both_days_excluded",
        "council_tabling_minority": "1/4",
        "minutes_retention_days": "365",
        "default_checking_method": "checkers",
        "attachment_max_mib": "20",
    }
    saved = await submit(
        client, "/admin/organisation", "/admin/organisation", fields, secret=admin, clock=clock
    )
    assert saved.status_code == 303, saved.text
    page = await client.get("/admin/organisation")
    assert 'value="Esimerkkilä"' in page.text
    assert 'value="7"' in page.text
    assert await audit_entries(context, "organisation.updated")
    bad = await submit(
        client,
        "/admin/organisation",
        "/admin/organisation",
        fields | {"default_call_period_days": "99"},
        secret=admin,
        clock=clock,
    )
    assert bad.status_code == 422
    assert 'value="99"' in bad.text
    assert 'aria-invalid="true"' in bad.text


async def test_bodies_members_and_personal_deputies(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    fields = {
        "name": "Tekninen lautakunta",
        "slug": "tela",
        "kind": "committee",
        "seats": "7",
        "electronic_meetings_allowed": "yes",
    }
    created = await submit(client, "/admin/bodies", "/admin/bodies", fields, secret=admin, clock=clock)
    assert created.status_code == 303, created.text
    body_page = created.headers["location"].split("?")[0]
    body_id = int(body_page.rsplit("/", 1)[1])
    assert '"slug":"tela"' in (await audit_entries(context, "body.created"))[-1].data
    async with context.db.read() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        assert body.electronic_meetings_allowed
        assert not body.decision_procedure_allowed
    matti = await make_user(context, "matti")
    maija = await make_user(context, "maija")
    start = clock().astimezone(LOCAL).date()
    term = {"term_start": f"{start.day}.{start.month}.{start.year}", "term_end": ""}
    member = await submit(
        client,
        body_page,
        f"{body_page}/members",
        {"user_id": str(matti.id), "role": "member"} | term,
        secret=admin,
        clock=clock,
    )
    assert member.status_code == 303, member.text
    shown = await client.get(body_page)
    membership = re.search(r'<option value="(\d+)">Matti</option>', shown.text)
    assert membership, "the member is offered as the one a deputy stands in for"
    deputy = await submit(
        client,
        body_page,
        f"{body_page}/members",
        {"user_id": str(maija.id), "role": "deputy", "deputy_for_id": membership.group(1)} | term,
        secret=admin,
        clock=clock,
    )
    assert deputy.status_code == 303, deputy.text
    listing = await client.get(body_page)
    assert re.search(r"Maija</a>.*?Deputy member.*?Matti</td>", listing.text, re.S)
    added = await audit_entries(context, "membership.added")
    assert len(added) == 2
    end = await submit(
        client, body_page, f"{body_page}/members/{membership.group(1)}/end", {}, secret=admin, clock=clock
    )
    assert end.status_code == 303
    assert await audit_entries(context, "membership.ended")
    saved = await submit(
        client,
        body_page,
        body_page,
        fields | {"decision_procedure_allowed": "yes"},
        secret=admin,
        clock=clock,
    )
    assert saved.status_code == 303
    assert await audit_entries(context, "body.updated")
    async with context.db.read() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        assert body.decision_procedure_allowed


def csv_of(*rows: str) -> bytes:
    return ("username;name;role;term_start;deputy_for\r\n" + "".join(r + "\r\n" for r in rows)).encode()


async def test_member_import_previews_every_row_before_saving(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    body_id = await make_body(context)
    page = f"/admin/bodies/{body_id}/import"
    shown = await client.get(page)
    assert shown.status_code == 200
    day = clock().astimezone(LOCAL).date()
    start = f"{day.day}.{day.month}.{day.year}"
    bad = csv_of(
        f"matti;Matti;jäsen;{start};", f"maija;Maija;varajäsen;{start};nobody", f"olli;Olli;kuningas;{start};"
    )
    url = f"{page}?csrf_token={csrf_from(shown.text)}"
    checked = await client.post(url, files={"file": ("members.csv", bad, "text/csv")})
    assert checked.status_code == 422
    assert "Rows with a problem" in checked.text
    assert "<td>3</td>" in checked.text
    assert "<td>4</td>" in checked.text
    assert f"<td>deputy_for nobody is not a member of this body on {day.isoformat()}</td>" in checked.text
    assert 'name="sheet"' not in checked.text  # nothing to import
    # Each row's problem in the admin's language, with the file's own words left as they were typed.
    client.cookies.set("kokous_lang", "fi")
    finnish = await client.post(url, files={"file": ("members.csv", bad, "text/csv")})
    client.cookies.set("kokous_lang", "en")
    assert finnish.status_code == 422
    assert "<td>role kuningas ei ole rooli; käytä jotakin näistä: member, deputy" in finnish.text
    assert f"<td>deputy_for nobody ei ole tämän toimielimen jäsen {day.isoformat()}</td>" in finnish.text
    assert "is not a role" not in finnish.text
    assert len(await audit_entries(context, "user.created")) == 1  # the admin's own
    good = csv_of(f"matti;Matti;jäsen;{start};", f"maija;Maija;varajäsen;{start};matti")
    checked = await client.post(url, files={"file": ("members.csv", good, "text/csv")})
    assert checked.status_code == 200, checked.text
    assert not await audit_entries(context, "members.imported")
    sheet = re.search(r'name="sheet" value="([^"]+)"', checked.text)
    digest = re.search(r'name="sha256" value="([0-9a-f]+)"', checked.text)
    assert sheet
    assert digest
    data = {"sheet": sheet.group(1), "sha256": digest.group(1)}
    tampered = await client.post(
        f"{page}/confirm", data=data | {"sha256": "0" * 64, "csrf_token": csrf_from(checked.text)}
    )
    assert tampered.status_code == 422
    done = await submit(client, page, f"{page}/confirm", data, secret=admin, clock=clock)
    assert done.status_code == 303, done.text
    assert (await audit_entries(context, "members.imported"))[-1].subject == f"body:{body_id}"
    assert len(await audit_entries(context, "membership.added")) == 2


@pytest.mark.parametrize("role", [None, Role.MEMBER, Role.SECRETARY, Role.AUDITOR])
async def test_only_an_admin_reaches_the_admin_pages(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, role: Role | None
) -> None:
    body_id = await make_body(context)
    target = await make_user(context, "target")
    headers: dict[str, str] = {}
    if role is not None:
        await make_user(context, "someone", roles=(role,))
        secret = await enrol_totp(context, "someone")
        headers = await api_login(client, "someone", secret=secret, clock=clock)
    for method, path in ADMIN_PAGES:
        url = path.format(user=target.id, body=body_id)
        response = await client.request(method, url, headers=headers, data={})
        expected = 401 if role is None else 403
        assert response.status_code == expected, (method, url, response.status_code)
    denied = await audit_entries(context, "access.denied")
    assert denied[0].subject == "route:GET /admin"  # a flood of refusals is summarised (auth/failures.py)


async def test_last_sign_in_is_shown_in_helsinki_time(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: str
) -> None:
    moment = clock().astimezone(LOCAL)
    page = await client.get("/admin/users")
    assert f'datetime="{moment.isoformat(timespec="minutes")}"' in page.text
