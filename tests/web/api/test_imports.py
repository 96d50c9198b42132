"""Importing members over the API: admins after a fresh step-up; all rows or none; every bad row listed."""

from __future__ import annotations

import codecs

import httpx
import pytest
from sqlalchemy import func, select

from auth.actions import do_grant_role, do_set_password
from auth.models import Role, User
from auth.queries import user_by_username
from core.clock import FixedClock
from meetings.imports import MAX_BYTES
from meetings.models import Membership
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, make_user, next_code
from web.context import AppContext

Headers = dict[str, str]
GOOD = (
    "username;name;email;role;term_start;term_end;deputy_for;title\r\n"
    "liisa;Liisa;;puheenjohtaja;1.6.2025;31.5.2029;;\r\n"
    "liisa;Liisa;;jäsen;1.6.2025;31.5.2029;;\r\n"
    "matti;Matti Meikäläinen;matti@kunta.test;jäsen;1.6.2025;31.5.2029;;\r\n"
    "maija;Maija Mehiläinen;maija@kunta.test;varajäsen;1.6.2025;31.5.2029;matti;\r\n"
    "sanna;Sanna Sihteeri;sanna@kunta.test;sihteeri;2025-06-01;;;hallintosihteeri\r\n"
)
BAD_DATE = "term_end 31.2.2027 is not a date; write it as 1.8.2025 or 2025-08-01"


def upload(text: str | bytes, *, bom: bool = True) -> dict[str, tuple[str, bytes, str]]:
    data = text if isinstance(text, bytes) else (codecs.BOM_UTF8 if bom else b"") + text.encode()
    return {"file": ("jäsenet.csv", data, "text/csv")}


async def step_up(client: httpx.AsyncClient, headers: Headers, secret: str, clock: FixedClock) -> Headers:
    response = await client.post(
        "/api/auth/step-up", headers=headers, json={"password": PASSWORD, "code": next_code(secret, clock)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def signed_in_admin(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> tuple[Headers, str]:
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    return await api_login(client, "aino", secret=secret, clock=clock), secret


@pytest.fixture
async def admin(
    client: httpx.AsyncClient, clock: FixedClock, signed_in_admin: tuple[Headers, str]
) -> Headers:
    """An admin who has just stepped up: good for one change (docs/security.md)."""
    return await step_up(client, *signed_in_admin, clock)


@pytest.fixture
async def body_id(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, signed_in_admin: tuple[Headers, str]
) -> int:
    await make_user(context, "liisa")  # already has an account: the import must not create or change it
    spec = {"slug": "tela", "name": "Tekninen lautakunta", "kind": "committee", "seats": 7}
    headers = await step_up(client, *signed_in_admin, clock)
    response = await client.post("/api/bodies", headers=headers, json=spec)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def counts(context: AppContext) -> tuple[int, int]:
    async with context.db.read() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        members = (await session.execute(select(func.count()).select_from(Membership))).scalar_one()
    return users, members


async def actions_since(context: AppContext, seq: int) -> list[str]:
    return [e.action for e in await audit_entries(context) if e.seq > seq]


async def last_seq(context: AppContext) -> int:
    return (await audit_entries(context))[-1].seq


async def test_an_admin_imports_a_good_file(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    seq = await last_seq(context)
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=admin, files=upload(GOOD))
    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: v for k, v in report.items() if k != "sha256"} == {
        "imported": True,
        "dry_run": False,
        "rows": 5,
        "accepted": 5,
        "created_users": 3,
        "rejected_rows": 0,
        "rejections": [],
        "encoding": "utf-8-sig",
        "delimiter": ";",
    }
    members = (await client.get(f"/api/bodies/{body_id}/members")).json()
    assert sorted((m["name"], m["role"]) for m in members) == [
        ("Liisa", "chair"),
        ("Liisa", "member"),
        ("Maija Mehiläinen", "deputy"),
        ("Matti Meikäläinen", "member"),
        ("Sanna Sihteeri", "secretary"),
    ]
    matti = next(m for m in members if m["name"] == "Matti Meikäläinen")
    assert next(m for m in members if m["role"] == "deputy")["deputy_for_id"] == matti["membership_id"]
    assert next(m for m in members if m["role"] == "secretary")["title"] == "hallintosihteeri"
    async with context.db.read() as session:
        users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    assert (users["matti"].display_name, users["matti"].email) == ("Matti Meikäläinen", "matti@kunta.test")
    assert users["liisa"].display_name == "Liisa"
    done = await actions_since(context, seq)
    assert done.count("user.created") == 3
    assert done.count("membership.added") == 5
    assert done.count("role.granted") == 2  # the chair and the secretary need a second factor
    assert done[-1] == "members.imported"
    assert done.count("members.imported") == 1
    entry = (await audit_entries(context, "members.imported"))[-1]
    assert entry.actor.startswith("user:")
    assert entry.subject == f"body:{body_id}"
    assert f'"sha256":"{report["sha256"]}"' in entry.data
    assert '"memberships":5' in entry.data
    assert '"users_created":3' in entry.data


async def test_a_new_account_cannot_sign_in_until_an_admin_sets_a_password(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=admin, files=upload(GOOD))
    assert response.status_code == 200
    login = await client.post("/api/auth/login", json={"username": "matti", "password": PASSWORD})
    assert login.status_code == 401
    async with context.db.write() as session:  # what `kokous user set-password matti` does
        matti = await user_by_username(session, "matti")
        assert matti is not None
        await do_set_password(session, user=matti, password=PASSWORD, actor="cli:admin")
    assert (await api_login(client, "matti"))["Authorization"].startswith("Bearer ")


async def test_a_file_with_one_bad_row_imports_nothing_and_lists_exactly_that_row(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    bad = GOOD.replace(
        "matti;Matti Meikäläinen;matti@kunta.test;jäsen;1.6.2025;31.5.2029",
        ("matti;Matti Meikäläinen;matti@kunta.test;jäsen;1.6.2025;31.2.2027"),
    )
    before, seq = await counts(context), await last_seq(context)
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=admin, files=upload(bad))
    assert response.status_code == 422, response.text
    report = response.json()
    assert (report["imported"], report["accepted"], report["created_users"]) == (False, 0, 0)
    assert report["rejected_rows"] == 1
    assert report["rejections"] == [{"row": 4, "field": "term_end", "message": BAD_DATE}]
    assert await counts(context) == before
    assert (await client.get(f"/api/bodies/{body_id}/members")).json() == []
    assert await actions_since(context, seq) == []


async def test_every_rejected_row_is_listed(client: httpx.AsyncClient, admin: Headers, body_id: int) -> None:
    text = (
        "username,name,role,term_start,deputy_for\n"
        "aino k,Aino,member,2025-06-01,\n"
        "bo,Bo,member,2025-06-01,\n"
        "cay,Cay,deputy,2025-06-01,nobody\n"
        "liisa,Liisa Virtanen,jäsen,2025-06-01,\n"
    )
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=admin, files=upload(text))
    assert response.status_code == 422
    report = response.json()
    assert report["delimiter"] == ","
    assert [(r["row"], r["field"]) for r in report["rejections"]] == [
        (2, "username"),
        (4, "deputy_for"),
        (5, "name"),
    ]
    assert report["rejected_rows"] == 3


async def test_a_dry_run_reports_without_importing(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    before, seq = await counts(context), await last_seq(context)
    url = f"/api/bodies/{body_id}/members/import?dry_run=true"
    good = await client.post(url, headers=admin, files=upload(GOOD))
    assert good.status_code == 200, good.text
    assert (good.json()["imported"], good.json()["dry_run"]) == (False, True)
    assert (good.json()["accepted"], good.json()["created_users"]) == (5, 3)
    bad = await client.post(url, headers=admin, files=upload(GOOD.replace("sihteeri;", "pomo;")))
    assert bad.status_code == 422
    assert [r["row"] for r in bad.json()["rejections"]] == [6]
    assert await counts(context) == before
    assert await actions_since(context, seq) == []


async def test_a_latin1_file_can_be_sent_as_text_csv(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    data = "username;name;role;term_start\r\nöberg;Bertil Öberg;ledamot;1.6.2025\r\n".encode("cp1252")
    response = await client.post(
        f"/api/bodies/{body_id}/members/import",
        headers=admin | {"content-type": "text/csv"},
        content=data,
    )
    assert response.status_code == 200, response.text
    assert response.json()["encoding"] == "windows-1252"
    members = (await client.get(f"/api/bodies/{body_id}/members")).json()
    assert [(m["name"], m["role"]) for m in members] == [("Bertil Öberg", "member")]


async def test_a_non_admin_is_refused(client: httpx.AsyncClient, context: AppContext, body_id: int) -> None:
    await make_user(context, "pekka")
    headers = await api_login(client, "pekka")
    before = await counts(context)
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=headers, files=upload(GOOD))
    assert response.status_code == 403
    assert await counts(context) == before
    assert (await audit_entries(context))[-1].action == "access.denied"


async def test_an_admin_without_a_fresh_step_up_is_refused(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, body_id: int
) -> None:
    secret = await enrol_totp(context, "liisa")  # a second admin, signed in a while ago
    async with context.db.write() as session:
        liisa = await user_by_username(session, "liisa")
        assert liisa is not None
        await do_grant_role(session, user=liisa, role=Role.ADMIN, actor="system:test")
    step = (await client.post("/api/auth/login", json={"username": "liisa", "password": PASSWORD})).json()
    signed_in = await client.post(
        "/api/auth/second-factor", json={"step_token": step["step_token"], "code": next_code(secret, clock)}
    )
    clock.advance(minutes=11)
    refresh = signed_in.json()["tokens"]["refresh_token"]
    renewed = (await client.post("/api/auth/refresh", json={"refresh_token": refresh})).json()
    headers = {"Authorization": f"Bearer {renewed['access_token']}"}
    before = await counts(context)
    response = await client.post(f"/api/bodies/{body_id}/members/import", headers=headers, files=upload(GOOD))
    assert response.status_code == 403
    assert "Confirm your identity again" in response.json()["error"]
    assert await counts(context) == before


async def test_an_oversize_file_is_refused(
    client: httpx.AsyncClient, context: AppContext, admin: Headers, body_id: int
) -> None:
    before = await counts(context)
    url = f"/api/bodies/{body_id}/members/import"
    just_over = GOOD.encode() + b"\n" * (MAX_BYTES + 1 - len(GOOD.encode()))
    response = await client.post(url, headers=admin, files=upload(just_over))
    assert response.status_code == 422
    assert response.json()["error"] == (
        f"The file is {MAX_BYTES + 1} bytes; at most {MAX_BYTES} bytes (1 MiB) can be imported at once."
    )
    assert response.json()["field"] == "file"
    far_over = await client.post(
        url,
        headers=admin | {"content-type": "text/csv"},
        content=GOOD.encode() * (3 * MAX_BYTES // len(GOOD)),
    )
    assert far_over.status_code == 413
    assert await counts(context) == before


async def test_the_file_must_come_as_csv_or_in_the_form_field_file(
    client: httpx.AsyncClient, admin: Headers, body_id: int
) -> None:
    url = f"/api/bodies/{body_id}/members/import"
    as_json = await client.post(url, headers=admin, json={"file": "username;name"})
    assert as_json.status_code == 415
    assert "Send the file as text/csv" in as_json.json()["error"]
    other_field = await client.post(url, headers=admin, files={"other": ("a.csv", b"x", "text/csv")})
    assert other_field.status_code == 422
    assert other_field.json()["error"] == "Send the CSV file in the form field “file”."


async def test_an_unknown_body_is_not_found(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.post("/api/bodies/999999/members/import", headers=admin, files=upload(GOOD))
    assert response.status_code == 404
